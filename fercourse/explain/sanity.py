"""Are the maps explanations?  The model-randomisation test of Adebayo et al. (2018).

An explanation of *this* network's decision must change when the network's weights are
replaced by random ones.  A method whose maps stay the same (an edge detector would) shows
the face, not the network.  :func:`randomisation_check` computes each face's map twice -- from
the trained model and from its :func:`untrained_twin` -- and compares the two by Spearman's rank
correlation of the absolute values, as Adebayo et al. do: near 1, the method failed the test.
"""

from __future__ import annotations

import keras
import numpy as np
from scipy.stats import rankdata

from .. import config
from . import maps as _maps
from .checks import as_faces

__all__ = ["untrained_twin", "randomisation_check", "rank_correlation", "METHODS"]

METHODS = ("saliency", "smoothgrad", "guided_backprop", "grad_cam", "occlusion")


def untrained_twin(model, seed=0) -> keras.Model:
    """The same architecture with fresh random weights, as its initialisers draw them.

    Seeds the global random generators with ``seed`` (:func:`fercourse.config.seed_everything`:
    the only way to seed initialisers that were built without a seed), so the twin is the same
    on every run.
    """
    config.seed_everything(seed)
    twin = keras.models.clone_model(model)
    twin.name = f"{model.name}_untrained"
    return twin


def rank_correlation(a, b) -> np.ndarray:
    """Spearman's rank correlation of ``a[i]`` and ``b[i]`` for each ``i``: ``(N,)``.

    Ties get their mean rank (``scipy.stats.rankdata``); a map that is constant has no rank
    order, and gives NaN.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"the two batches of maps differ in shape: {a.shape} and {b.shape}")
    ra = rankdata(a.reshape(len(a), -1), axis=1)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(1) / np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))


def randomisation_check(model, faces, method="saliency", *, class_index=None, seed=0, **kwargs) -> np.ndarray:
    """Rank correlation, per face, of ``method``'s maps for the trained model and its untrained twin.

    ``method``: one of :data:`METHODS`.  Both models explain the same class: the trained
    model's prediction when ``class_index`` is None.  Returns ``(N,)`` Spearman correlations of
    the maps' absolute values.
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not known; valid methods: {', '.join(METHODS)}")
    as_faces(model, faces)
    explain = getattr(_maps, method)
    if class_index is None:
        class_index = _maps.predicted_classes(model, faces)
    trained = explain(model, faces, class_index, **kwargs)
    random = explain(untrained_twin(model, seed), faces, class_index, **kwargs)
    return rank_correlation(np.abs(trained), np.abs(random))
