"""Leave-one-subject-out evaluation, as the micro-expression field reports results.

Micro-expression datasets are small (CASME II: 255 clips of 26 people) and one person's clips
resemble each other more than any expression resembles another, so a model is always tested on
people it never saw: each subject in turn is the test set and the rest train the model
(:func:`folds`).  The predictions of all folds are then *pooled* and scored once
(:func:`cross_predict`, :func:`scores`): accuracy, UF1 (:func:`fercourse.evaluate.uf1`) and UAR
(:func:`fercourse.evaluate.uar`) -- not a mean of per-fold scores, which a subject with two clips
would swing as much as one with twenty.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from . import evaluate

__all__ = ["folds", "cross_predict", "scores"]


def folds(subjects) -> list[tuple[object, np.ndarray, np.ndarray]]:
    """One fold per subject, in the subjects' sorted order: ``[(subject, train_index, test_index), ...]``."""
    from .datasets import subject_kfold

    subjects = np.asarray(subjects)
    if subjects.ndim != 1 or len(subjects) == 0:
        raise ValueError(f"subjects must be a non-empty 1-D array, one id per clip; got shape {subjects.shape}")
    n = len(np.unique(subjects))
    if n < 2:
        raise ValueError(f"leave-one-subject-out needs two subjects or more; all {len(subjects)} clips are one subject's")
    # subject_kfold with one fold per subject is exactly leave-one-subject-out.
    out = [(subjects[te[0]], tr, te) for tr, te in subject_kfold(subjects, n_splits=n)]
    return sorted(out, key=lambda f: f[0])


def cross_predict(fit_predict: Callable, subjects, *, verbose: bool = False) -> np.ndarray:
    """Pooled leave-one-subject-out predictions.

    ``fit_predict(train_index, test_index)`` trains a fresh model on the training clips and
    returns its predicted labels (``(n_test,)`` ints) or class probabilities (``(n_test, k)``)
    for the test clips.  Returns the predictions of every clip, each made by the fold that held
    its subject out, in the clips' order.
    """
    subjects = np.asarray(subjects)
    pooled = None
    t0 = time.perf_counter()
    for k, (subject, train_idx, test_idx) in enumerate(folds(subjects)):
        pred = np.asarray(fit_predict(train_idx, test_idx))
        if len(pred) != len(test_idx):
            raise ValueError(f"fit_predict returned {len(pred)} predictions for the {len(test_idx)} clips of "
                             f"subject {subject!r}")
        if pooled is None:
            pooled = np.zeros((len(subjects), *pred.shape[1:]), pred.dtype)
        pooled[test_idx] = pred
        if verbose:
            print(f"  fold {k + 1}: subject {subject} ({len(test_idx)} clips), {time.perf_counter() - t0:.0f} s")
    return pooled


def scores(y_true, y_pred) -> dict[str, float]:
    """Accuracy, UF1 and UAR of pooled predictions (labels, or probabilities whose argmax is taken)."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    return {"accuracy": evaluate.accuracy(y_true, y_pred), "uf1": evaluate.uf1(y_true, y_pred),
            "uar": evaluate.uar(y_true, y_pred)}
