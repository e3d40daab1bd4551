"""Sampling: which faces a run trains on and how much each counts -- a data concern, no Keras.

- :func:`stratified_subset`: fewer faces with the same class proportions (the quick profile's
  subsets, learning curves);
- :func:`class_weights` / :func:`class_weight_array`: per-class weights that make a rare class
  (FER2013's *disgust*: 1.5 % of the training faces) count as much as a common one.
"""

from __future__ import annotations

import numpy as np

from . import config

__all__ = ["stratified_subset", "class_weights", "class_weight_array"]


def class_weights(labels, num_classes=None, kind="balanced"):
    """Per-class weights ``n / (k * n_c)`` (scikit-learn's "balanced"), as an array of length k.

    A class absent from ``labels`` gets weight 0 (nothing to weigh).  Written out rather than
    taken from :func:`sklearn.utils.class_weight.compute_class_weight`, which refuses a class
    that is absent -- and a stratified quick subset can leave one out.
    """
    labels = np.asarray(labels)
    k = int(num_classes if num_classes is not None else labels.max() + 1)
    if kind != "balanced":
        raise ValueError(f"class_weight={kind!r} is not known; use 'balanced', a dict or an array")
    counts = np.bincount(labels, minlength=k).astype(float)
    weights = np.zeros(k)
    present = counts > 0
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def class_weight_array(class_weight, labels, num_classes):
    """One weight per class from ``None``, ``"balanced"``, a dict ``{class: weight}`` or an array."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        return class_weights(labels, num_classes, class_weight)
    if isinstance(class_weight, dict):
        w = np.ones(num_classes)
        for c, v in class_weight.items():
            if not 0 <= int(c) < num_classes:
                raise ValueError(f"class_weight names class {c}; classes are 0..{num_classes - 1}")
            w[int(c)] = float(v)
        return w
    w = np.asarray(class_weight, dtype=float)
    if w.shape != (num_classes,):
        raise ValueError(f"class_weight must have one weight per class ({num_classes}); got shape {w.shape}")
    return w


def stratified_subset(x, y, n, seed=None):
    """``n`` images drawn without replacement, keeping the class proportions; returns ``(x, y)``."""
    x, y = np.asarray(x), np.asarray(y)
    if n is None or n >= len(y):
        return x, y
    if n < 1:
        raise ValueError(f"n must be a positive number of images; got {n}")
    rng = np.random.default_rng(config.seed() if seed is None else seed)
    classes, counts = np.unique(y, return_counts=True)
    # Largest-remainder rounding so the parts add up to exactly n.
    exact = counts * n / len(y)
    take = np.floor(exact).astype(int)
    take[np.argsort(exact - take)[::-1][: n - take.sum()]] += 1
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), t, replace=False) for c, t in zip(classes, take)])
    idx = np.sort(idx)
    return x[idx], y[idx]
