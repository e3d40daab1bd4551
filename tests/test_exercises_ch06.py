"""Chapter 6's exercise checks accept right answers and explain wrong ones."""

import numpy as np

from fercourse.exercises import ch06


def test_majority_baseline():
    def right(presence):
        rate = np.asarray(presence).mean(axis=0)
        return np.maximum(rate, 1 - rate)

    assert ch06.check_majority_baseline(right)
    verdict = ch06.check_majority_baseline(lambda p: np.asarray(p).mean(axis=0))
    assert not verdict and "base rate" in verdict.message
    verdict = ch06.check_majority_baseline(lambda p: 1 - np.asarray(p).mean(axis=0))
    assert not verdict and "present in most faces" in verdict.message
    verdict = ch06.check_majority_baseline(lambda p: right(p).mean())
    assert not verdict and "mean over AUs" in verdict.message
    verdict = ch06.check_majority_baseline(lambda p: 1 / 0)
    assert not verdict and "ZeroDivisionError" in verdict.message


def test_leaky_folds():
    from sklearn.model_selection import GroupKFold, KFold

    def leaky(subjects, n_splits, seed):
        return list(KFold(n_splits, shuffle=True, random_state=seed).split(subjects))

    verdict = ch06.check_leaky_folds(leaky)
    assert verdict and "subjects per fold sit on both sides" in verdict.message
    verdict = ch06.check_leaky_folds(lambda s, k, seed: list(GroupKFold(k).split(s, groups=s)))
    assert not verdict and "subject-independent" in verdict.message
    verdict = ch06.check_leaky_folds(lambda s, k, seed: leaky(s, k, seed)[:3])
    assert not verdict and "5 folds" in verdict.message
    verdict = ch06.check_leaky_folds(lambda s, k, seed: [(np.arange(5), np.arange(5, 10))] * 5)
    assert not verdict and "exactly once" in verdict.message


def test_per_class_budget():
    def right(labels, n, rng):
        return np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:n] for c in np.unique(labels)])

    assert ch06.check_per_class_budget(right)
    first = lambda labels, n, rng: np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)])
    verdict = ch06.check_per_class_budget(first)
    assert not verdict and "seeds drew the same faces" in verdict.message
    verdict = ch06.check_per_class_budget(lambda labels, n, rng: rng.choice(len(labels), 4 * n, replace=False))
    assert not verdict and "expected" in verdict.message
    verdict = ch06.check_per_class_budget(lambda labels, n, rng: np.zeros(3, int))
    assert not verdict and "distinct indices" in verdict.message
