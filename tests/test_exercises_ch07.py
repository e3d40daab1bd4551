"""Chapter 7's exercise checks accept right answers and say what is wrong with wrong ones."""

import numpy as np

from fercourse.exercises import ch07
from fercourse.spotting import expression_strength


def test_uf1_check_accepts_the_reference_and_names_common_mistakes():
    assert ch07.check_uf1_from_confusion(ch07.uf1_from_confusion_reference)
    accuracy = ch07.check_uf1_from_confusion(lambda c: np.trace(c) / c.sum())
    assert not accuracy and "accuracy" in accuracy.message
    recall = ch07.check_uf1_from_confusion(lambda c: np.mean(np.diag(c) / np.maximum(c.sum(1), 1)))
    assert not recall and ("UAR" in recall.message or "leave it out" in recall.message)
    broken = ch07.check_uf1_from_confusion(lambda c: 1 / 0)
    assert not broken and "ZeroDivisionError" in broken.message


def test_uf1_reference_by_hand():
    # class 0: TP 2, FP 0, FN 1 -> 4/5; class 1: TP 1, FP 1, FN 1 -> 1/2; class 2: TP 1, FP 1, FN 0 -> 2/3
    cm = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    assert np.isclose(ch07.uf1_from_confusion_reference(cm), (4 / 5 + 1 / 2 + 2 / 3) / 3)


def test_loso_check():
    def right(subjects):
        return [(np.flatnonzero(subjects != s), np.flatnonzero(subjects == s)) for s in np.unique(subjects)]

    def leaky(subjects):
        return [(np.arange(len(subjects)), np.flatnonzero(subjects == s)) for s in np.unique(subjects)]

    def kfold(subjects):
        idx = np.arange(len(subjects))
        return [(idx[idx % 2 == 0], idx[idx % 2 == 1]), (idx[idx % 2 == 1], idx[idx % 2 == 0])]

    assert ch07.check_loso_splits(right)
    assert not ch07.check_loso_splits(leaky)
    verdict = ch07.check_loso_splits(kfold)
    assert not verdict and "folds" in verdict.message


def test_find_apex_check():
    assert ch07.check_find_apex(lambda f: int(expression_strength(f).argmax()))
    middle = ch07.check_find_apex(lambda f: len(f) // 2)
    assert not middle and "first" in middle.message
