"""Checks for chapter 7's exercises (UF1 from a confusion matrix, leave-one-subject-out folds,
spotting an apex)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_uf1_from_confusion", "check_loso_splits", "check_find_apex", "uf1_from_confusion_reference"]


def uf1_from_confusion_reference(confusion) -> float:
    """UF1 from a pooled confusion matrix (rows true, columns predicted): the mean per-class F1.

    Per class c: TP = C[c, c], FP = column sum - TP, FN = row sum - TP, F1 = 2TP / (2TP + FP + FN);
    classes with no true clip (an all-zero row) are left out, as :func:`fercourse.evaluate.uf1` does.
    """
    c = np.asarray(confusion, dtype=float)
    tp = np.diag(c)
    fp, fn = c.sum(axis=0) - tp, c.sum(axis=1) - tp
    present = c.sum(axis=1) > 0
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    return float(f1[present].mean())


def _cases():
    return [
        np.array([[2, 1, 0], [0, 1, 1], [0, 0, 1]]),
        np.array([[10, 2], [5, 3]]),
        np.array([[4, 0, 0], [0, 0, 0], [3, 1, 2]]),     # a class with no true clip
        np.array([[0, 5], [0, 5]]),                       # one class never predicted
        np.array([[30, 4, 6, 2, 1], [3, 12, 2, 0, 3], [5, 1, 20, 4, 0], [0, 0, 3, 15, 2], [9, 2, 1, 1, 40]]),
    ]


def check_uf1_from_confusion(function) -> Verdict:
    """Exercise: ``function(confusion) -> float``, UF1 from a pooled confusion matrix (rows true)."""
    from ..evaluate import uf1

    for cm in _cases():
        y_true = np.repeat(np.arange(len(cm)), cm.sum(axis=1))
        y_pred = np.concatenate([np.repeat(np.arange(len(cm)), row) for row in cm])
        want = uf1(y_true, y_pred)
        try:
            got = float(function(cm.copy()))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} for the confusion matrix\n{cm}")
        if not np.isclose(got, want, atol=1e-6):
            hint = ""
            if np.isclose(got, np.trace(cm) / cm.sum()):
                hint = " That is the accuracy; UF1 averages each class's F1."
            elif np.isclose(got, np.mean(np.diag(cm)[cm.sum(1) > 0] / cm.sum(1)[cm.sum(1) > 0])):
                hint = " That is the UAR (mean recall); F1 also counts the false positives of each class."
            elif (cm.sum(axis=1) == 0).any():
                hint = " A class that no clip truly belongs to has no F1 to average: leave it out."
            return wrong(f"for the confusion matrix\n{cm}\nyou give {got:.4f}; expected {want:.4f}.{hint}")
    return correct("F1 per class from the pooled counts (2TP / (2TP + FP + FN)), averaged with equal weight.")


def check_loso_splits(function) -> Verdict:
    """Exercise: ``function(subjects) -> [(train_index, test_index), ...]``, one fold per subject."""
    rng = np.random.default_rng(7)
    for subjects in (np.array([1, 1, 2, 3, 3, 3]), rng.integers(0, 9, 60), np.array(["b", "a", "b", "c"])):
        try:
            folds = [(np.asarray(tr, int), np.asarray(te, int)) for tr, te in function(subjects.copy())]
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} for subjects {subjects.tolist()}")
        n_subjects = len(np.unique(subjects))
        if len(folds) != n_subjects:
            return wrong(f"{n_subjects} subjects need {n_subjects} folds; you give {len(folds)}")
        held_out = []
        for tr, te in folds:
            if len(np.unique(subjects[te])) != 1:
                return wrong(f"a test set holds the subjects {sorted(set(subjects[te].tolist()))}; "
                             "each fold leaves out exactly one subject")
            if set(subjects[tr]) & set(subjects[te]):
                return wrong(f"subject {subjects[te][0]!r} is in both the training and the test set of its fold")
            if sorted(np.concatenate([tr, te]).tolist()) != list(range(len(subjects))):
                return wrong("each fold must use every clip once: in training or in test")
            held_out.append(subjects[te][0])
        if sorted(map(str, held_out)) != sorted(map(str, np.unique(subjects))):
            return wrong("every subject must be left out once")
    return correct("one fold per subject; no one is ever in their own training set.")


def check_find_apex(function, *, n: int = 12, seed: int = 3) -> Verdict:
    """Exercise: ``function(features) -> int``, the apex frame of one clip from its per-frame features.

    Checked on synthetic macro-expressions without distractors, with each frame's pixels as its
    features: the apex must be within 2 frames of the truth in at least 10 of 12 clips.
    """
    from ..datasets import make_sequences

    clips = make_sequences(n, frames=30, fps=30, seed=seed, micro_fraction=0.0, blinks=False, head_motion=False)
    features = clips.frames.reshape(n, clips.length, -1).astype(np.float32)
    found = []
    for i in range(n):
        try:
            found.append(int(function(features[i].copy())))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} for a clip of features "
                         f"shaped {features[i].shape}")
    errors = np.abs(np.array(found) - clips.apex)
    hits = int(np.sum(errors <= 2))
    need = int(np.ceil(n * 10 / 12))
    if hits < need:
        return wrong(f"your apex is within 2 frames of the truth in {hits} of {n} clips (need {need}); "
                     f"found {found}, true {clips.apex.tolist()}. Measure how far each frame is from the first.")
    return correct(f"within 2 frames in {hits} of {n} clips (30 frames/s).")
