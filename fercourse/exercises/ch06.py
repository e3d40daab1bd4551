"""Checks for chapter 6's exercises (transfer learning, the leakage trap, action-unit accuracy)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_majority_baseline", "check_leaky_folds", "check_per_class_budget"]


def _raised(err, what) -> Verdict:
    return wrong(f"your function raised {type(err).__name__}: {err} ({what})")


def check_majority_baseline(majority_accuracy) -> Verdict:
    """Exercise: ``majority_accuracy(presence)`` -> the binary accuracy, per AU, of always answering
    that AU's more common value (``presence`` is an (N, A) array of 0/1)."""
    rng = np.random.default_rng(6)
    cases = [rng.random((n, a)) < rng.uniform(0.02, 0.9, a) for n, a in [(50, 3), (400, 17), (7, 5)]]
    cases.append(np.zeros((10, 4), bool))
    cases.append(np.ones((10, 2), bool))
    for presence in cases:
        presence = presence.astype(int)
        rate = presence.mean(axis=0)
        want = np.maximum(rate, 1 - rate)
        try:
            got = np.asarray(majority_accuracy(presence.copy()), dtype=float)
        except Exception as err:  # a reader's function may fail in any way: say how
            return _raised(err, f"presence of shape {presence.shape}")
        if got.shape != want.shape:
            if got.size == 1 and np.isclose(float(got), want.mean()):
                return wrong("that is the mean over AUs; return one accuracy per AU (an array of "
                             f"{presence.shape[1]} values).")
            return wrong(f"expected one accuracy per AU, an array of shape {want.shape}; got shape {got.shape}.")
        if not np.allclose(got, want):
            if np.allclose(got, rate):
                return wrong("that is each AU's base rate (how often it is present); the majority answer "
                             "for a rare AU is 'absent', right on the faces that lack it: max(rate, 1 - rate).")
            if np.allclose(got, 1 - rate):
                return wrong("that is right only for AUs absent in most faces; an AU present in most faces "
                             "is answered 'present': max(rate, 1 - rate).")
            return wrong(f"for presence of shape {presence.shape} you return {np.round(got, 3).tolist()}; "
                         f"expected {np.round(want, 3).tolist()}.")
    return correct("a detector that never says 'present' already scores max(rate, 1 - rate) on each AU -- "
                   "over 90 % for the many AUs seen in fewer than one face in ten, so a mean binary "
                   "accuracy near 97 % says little until it is set beside this baseline.")


def check_leaky_folds(leaky_folds) -> Verdict:
    """Exercise: ``leaky_folds(subjects, n_splits, seed)`` -> k random folds that ignore who is who.

    Returns a list of ``(train_index, test_index)`` pairs covering every face once as a test face;
    the check then measures, on the posed stand-in, how much such folds inflate a linear probe's
    accuracy over subject-independent ones.
    """
    from ..datasets import make_posed_faces, subject_kfold, without_contempt
    from ..transfer import LinearProbe, cross_validate

    data = without_contempt(make_posed_faces(10, sequences_per_subject=4, seed=11))
    n = len(data)
    try:
        folds = [(np.asarray(tr, dtype=int), np.asarray(te, dtype=int))
                 for tr, te in leaky_folds(data.subjects.copy(), 5, 0)]
    except Exception as err:
        return _raised(err, f"{n} faces of {len(set(data.subjects))} subjects, 5 folds")
    if len(folds) != 5:
        return wrong(f"asked for 5 folds, got {len(folds)}.")
    tested = np.concatenate([te for _, te in folds])
    if sorted(tested.tolist()) != list(range(n)):
        return wrong("every face must be a test face exactly once over the folds (k-fold), and the indices "
                     f"must run over 0..{n - 1}.")
    for i, (tr, te) in enumerate(folds):
        if set(tr) & set(te) or len(tr) + len(te) != n:
            return wrong(f"fold {i}: the training part must be all the faces not in the test part.")
    shared = [len(set(data.subjects[tr]) & set(data.subjects[te])) for tr, te in folds]
    if max(shared) == 0:
        return wrong("these folds never put one subject on both sides: that is a subject-independent split, "
                     "not the random one published results often used.")
    # raw pixels at 12x12 (the mean of each 4x4 block): a probe on 144 numbers fits in a blink
    pixels = data.images.reshape(n, 12, 4, 12, 4).mean(axis=(2, 4)).reshape(n, -1).astype(np.float32)
    probe = LinearProbe(C=0.1)  # no source: the inputs, the pixels, are the features
    leaky = cross_validate(probe, pixels, data.labels, folds=folds).accuracy
    fair = cross_validate(probe, pixels, data.labels, folds=subject_kfold(data.subjects, 5, seed=0)).accuracy
    return correct(f"{np.mean(shared):.1f} subjects per fold sit on both sides.  A linear probe on raw "
                   f"pixels (12x12) scores {leaky:.1%} with your folds and {fair:.1%} with subject-independent "
                   f"ones: {100 * (leaky - fair):+.1f} points come from recognising people and near-copies "
                   "of their frames, not expressions.")


def check_per_class_budget(take_per_class) -> Verdict:
    """Exercise: ``take_per_class(labels, n, rng)`` -> indices of ``n`` faces of each class
    (all of a class that has fewer), drawn at random with the NumPy generator ``rng``."""
    labels = np.array([0] * 12 + [1] * 3 + [2] * 30 + [3] * 8)
    np.random.default_rng(0).shuffle(labels)
    draws = []
    for n, seed in [(1, 0), (5, 1), (5, 2), (20, 3)]:
        try:
            idx = np.asarray(take_per_class(labels.copy(), n, np.random.default_rng(seed)), dtype=int)
        except Exception as err:
            return _raised(err, f"n={n}")
        if idx.ndim != 1 or len(np.unique(idx)) != len(idx) or (len(idx) and (idx.min() < 0 or idx.max() >= len(labels))):
            return wrong(f"return distinct indices into labels (0..{len(labels) - 1}), each face at most once.")
        counts = np.bincount(labels[idx], minlength=4)
        want = np.minimum(np.bincount(labels), n)
        if counts.tolist() != want.tolist():
            hint = (" A class with fewer than n faces keeps all of them." if counts[1] != want[1] else "")
            return wrong(f"with n={n} you take {counts.tolist()} faces of the classes 0..3; expected "
                         f"{want.tolist()}.{hint}")
        draws.append(set(idx.tolist()))
    if draws[1] == draws[2]:
        return wrong("two generators with different seeds drew the same faces: draw at random with rng "
                     "(e.g. rng.permutation), not the first n of each class.")
    first = {int(np.flatnonzero(labels == c)[0]) for c in range(4)}
    if all(first <= d for d in draws):
        return wrong("the first face of every class is always taken: draw at random, not in order.")
    return correct("each fold of a learning curve draws its own budget, so that the curve averages over "
                   "which faces happened to be labelled, not just over test faces.")
