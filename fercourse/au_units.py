"""Do a network's units line up with facial action units?  Measured on faces whose AUs are known.

Breuer & Kimmel (2017) showed FER2013 units that fire for AU4, 5, 9, 10, 12 and 25 -- with
pictures, because real faces carry no AU labels.  The course's synthetic faces carry their
exact AU intensities, so the question gets numbers:

1. **correlation** -- each unit's activation map is pooled over space (mean, or max) into
   one number per face; :func:`correlations` gives Pearson's r of every unit with every AU
   over held-out faces, :func:`best_units` the best unit per AU;
2. **where** -- :func:`region_shares`: the share of that unit's activation mass that falls
   inside the AU's region (:func:`fercourse.render.au_region_masks`), against the region's
   share of the image (:func:`area_shares`).  A unit that looks where the AU acts puts more of
   its mass there than the area alone would;
3. **controls**, so that what is counted is what training added: the same measurement on the
   same architecture with random weights (:func:`fercourse.explain.untrained_twin`), on raw
   pixels (:func:`pixel_features`) and on HOG (:func:`fercourse.features.hog_features`); and,
   because in the data an AU mostly comes with its emotion, the emotion label itself
   (:func:`label_features`) and :func:`partial_correlations`, the correlation left once the
   emotion label is accounted for.

:func:`measure` runs 1 and 2 for one layer and returns a :class:`UnitAUMeasurement`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import numpy as np

from . import facs, render
from .explain.checks import as_faces, get_layer
from .explain.layers import activation_maps

__all__ = [
    "AUS17", "BREUER_KIMMEL_AUS", "UnitAUMeasurement", "pooled_activations", "correlations",
    "partial_correlations", "best_units", "region_shares", "area_shares", "pixel_features",
    "label_features", "au_columns", "measure", "count_reached", "unit_gradient_maps",
]

AUS17 = facs.EXPRESSION_AUS
"""FaceBehaviorNet's 17 action units (the course's AUs without eye closure and blink)."""

BREUER_KIMMEL_AUS = (4, 5, 9, 10, 12, 25)
"""The AUs Breuer & Kimmel (2017) related units of their FER2013 network to."""

POOLINGS = ("mean", "max")


def _check_pooling(pooling):
    if pooling not in POOLINGS:
        raise ValueError(f"pooling={pooling!r} is not known; valid: {', '.join(POOLINGS)}")


def _pool(maps, pooling):
    """Each channel of ``(N, h, w, channels)`` maps pooled over space: ``(N, channels)``."""
    return maps.mean(axis=(1, 2)) if pooling == "mean" else maps.max(axis=(1, 2))


def au_columns(aus_array, aus=AUS17) -> np.ndarray:
    """The columns of ``aus`` from an AU-intensity array in :data:`fercourse.facs.AUS` order."""
    aus_array = np.asarray(aus_array, dtype=np.float64)
    if aus_array.ndim != 2 or aus_array.shape[1] != len(facs.AUS):
        raise ValueError(f"AU intensities must be (N, {len(facs.AUS)}) in fercourse.facs.AUS order "
                         f"(as make_faces's extras['aus']); got shape {aus_array.shape}")
    return aus_array[:, [facs.au_index(au) for au in aus]]


def pooled_activations(model, faces, layer, pooling="mean", *, batch_size=256) -> np.ndarray:
    """Each unit (channel) of ``layer`` pooled over space, per face: ``(N, channels)`` float32."""
    _check_pooling(pooling)
    a = activation_maps(model, faces, layer, batch_size=batch_size)
    if a.ndim != 4:
        raise ValueError(f"layer {layer!r} of {model.name} outputs {a.shape[1:]}, not feature maps "
                         "(h, w, channels)")
    return _pool(a, pooling)


def _standardise(x):
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(0)
    sd = np.sqrt((x ** 2).mean(0))
    # a unit that never changes (a dead ReLU, a blank pixel) correlates with nothing: r = 0
    return np.divide(x, sd, out=np.zeros_like(x), where=sd > 1e-12)


def correlations(features, targets) -> np.ndarray:
    """Pearson's r of every feature with every target: ``(n_features, n_targets)``.

    ``features`` ``(N, F)`` (pooled units, pixels, HOG...), ``targets`` ``(N, T)`` (AU
    intensities).  Constant columns give r = 0.
    """
    f, t = np.asarray(features), np.asarray(targets)
    if f.ndim != 2 or t.ndim != 2 or len(f) != len(t):
        raise ValueError(f"features (N, F) and targets (N, T) must be 2-D with the same N; got "
                         f"{f.shape} and {t.shape}")
    if len(f) < 3:
        raise ValueError(f"a correlation needs at least 3 faces; got {len(f)}")
    return _standardise(f).T @ _standardise(t) / len(f)


def partial_correlations(features, targets, labels) -> np.ndarray:
    """Correlations after removing what the class label explains: ``(n_features, n_targets)``.

    Each feature and each target is replaced by its deviation from its class's mean (the
    residual of a regression on the one-hot label), so what is left is the variation *within*
    an expression: does the unit follow AU12 among happy faces too, or only tell happy apart?
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(features):
        raise ValueError(f"labels must be (N,) with N = {len(features)}; got shape {labels.shape}")

    def within(x):
        x = np.asarray(x, dtype=np.float64).copy()
        for c in np.unique(labels):
            x[labels == c] -= x[labels == c].mean(0)
        return x

    return correlations(within(features), within(targets))


def best_units(r) -> tuple[np.ndarray, np.ndarray]:
    """For each target (column of ``r``), the feature with the largest r, and that r: ``(T,)`` each.

    The largest *positive* r: a unit for an AU is one that fires more as the AU gets stronger.
    """
    r = np.asarray(r)
    best = np.argmax(r, axis=0)
    return best, r[best, np.arange(r.shape[1])]


def area_shares(aus=AUS17, size=48) -> np.ndarray:
    """Share of the image inside each AU's region mask: ``(len(aus),)``."""
    masks = render.au_region_masks(size)
    return np.array([masks[au].mean() for au in aus])


_POOLED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _pooled_function(model, layer, pooling):
    """A backend function: faces -> every unit of ``layer`` pooled over space, ``(N, channels)``."""
    cache = _POOLED.setdefault(model, {})
    if (layer, pooling) not in cache:
        sub = keras.Model(model.inputs[0], get_layer(model, layer).output)
        pool = keras.ops.mean if pooling == "mean" else keras.ops.max

        def pooled(x):
            return pool(sub(x, training=False), axis=(1, 2))

        cache[layer, pooling] = pooled
    return cache[layer, pooling]


def unit_gradient_maps(model, faces, layer, units, *, pooling="mean", batch_size=128) -> np.ndarray:
    """Where each face's unit reads from: ``|d pooled activation / d pixel|``, ``(N, H, W)`` float32.

    ``units``: one channel of ``layer`` for every face, or one int for all.  The pooled
    activation is the unit's map averaged (``pooling="mean"``) or maximised over space.
    """
    from .explain.gradients import input_gradients

    _check_pooling(pooling)
    x = as_faces(model, faces)
    target = get_layer(model, layer)
    if len(target.output.shape) != 4:
        raise ValueError(f"layer {layer!r} has no feature maps (h, w, channels) to locate")
    channels = target.output.shape[-1]
    units = np.broadcast_to(np.asarray(units), (len(x),)).astype(int)
    if units.min() < 0 or units.max() >= channels:
        raise ValueError(f"units must be channels of {layer!r}, 0..{channels - 1}")
    onehot = np.eye(channels, dtype=np.float32)[units]
    pooled = _pooled_function(model, layer, pooling)
    out = np.empty(x.shape[:3], np.float32)
    for start in range(0, len(x), batch_size):
        part = slice(start, start + batch_size)
        _, g = input_gradients(pooled, x[part], onehot[part])
        out[part] = np.abs(g).sum(-1)
    return out


def region_shares(model, faces, layer, units, aus, au_intensity, *, where="gradient", pooling="mean",
                  threshold=0.2, max_faces=100, batch_size=128, _maps=None) -> np.ndarray:
    """Share of each unit's mass inside its AU's region, on faces showing the AU: ``(len(aus),)``.

    ``units[j]`` is paired with ``aus[j]``, and measured on the faces whose intensity of
    ``aus[j]`` (column ``j`` of ``au_intensity``, ``(N, len(aus))``) is at least ``threshold``
    (the first ``max_faces`` of them).  The mass is

    - ``where="gradient"`` (default): the absolute gradient of the unit's pooled activation
      with respect to the pixels, summed over those faces -- where on the face the unit's
      response comes from, at the resolution of the pixels;
    - ``where="activation"``: the unit's activation map itself, upsampled bilinearly.  Deep
      in a network the maps are coarse (3x3 at the last stage of ``compact``), so this can
      only tell thirds of the face apart.

    Compare with :func:`area_shares`; NaN where no face shows the AU.
    """
    import cv2

    if where not in ("gradient", "activation"):
        raise ValueError(f"where={where!r} is not known; valid: 'gradient', 'activation'")
    _check_pooling(pooling)
    x = as_faces(model, faces)
    au_intensity = np.asarray(au_intensity)
    if au_intensity.shape != (len(x), len(aus)) or len(units) != len(aus):
        raise ValueError(f"need one unit per AU and au_intensity of shape ({len(x)}, {len(aus)}); got "
                         f"{len(units)} units, {len(aus)} AUs, au_intensity {au_intensity.shape}")
    if len(get_layer(model, layer).output.shape) != 4:
        raise ValueError(f"layer {layer!r} has no feature maps (h, w, channels) to locate")
    H, W = x.shape[1:3]
    masks = render.au_region_masks(H)
    chosen = [np.flatnonzero(au_intensity[:, j] >= threshold)[:max_faces] for j in range(len(aus))]
    mass = np.zeros((len(aus), H, W))
    if where == "activation":
        maps = activation_maps(model, faces, layer) if _maps is None else _maps
        for j, rows in enumerate(chosen):
            if len(rows):
                # resizing is linear, so the faces' maps are summed first and resized once
                m = np.maximum(maps[rows, :, :, int(units[j])], 0).sum(0).astype(np.float32)
                mass[j] = np.maximum(cv2.resize(m, (W, H), interpolation=cv2.INTER_LINEAR), 0)
    else:
        which = np.concatenate([np.full(len(rows), j) for j, rows in enumerate(chosen)]).astype(int)
        rows = np.concatenate(chosen).astype(int)
        if len(rows):
            grads = unit_gradient_maps(model, np.asarray(faces)[rows], layer, np.asarray(units, int)[which],
                                       pooling=pooling, batch_size=batch_size)
            np.add.at(mass, which, grads)
    out = np.full(len(aus), np.nan)
    for j, au in enumerate(aus):
        total = mass[j].sum()
        if len(chosen[j]) and total > 0:
            out[j] = mass[j][masks[au]].sum() / total
    return out


def pixel_features(faces) -> np.ndarray:
    """Raw pixels as 'units': ``(N, H*W)`` float32 (the control with no learning at all)."""
    faces = np.asarray(faces)
    if faces.dtype != np.uint8 or faces.ndim not in (3, 4):
        raise ValueError(f"faces must be uint8 (N, H, W) or (N, H, W, 1); got {faces.dtype} {faces.shape}")
    return faces.reshape(len(faces), -1).astype(np.float32)


def label_features(labels, num_classes) -> np.ndarray:
    """The one-hot class label as 'units': ``(N, num_classes)`` (the AUs an emotion alone predicts)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"labels must be (N,) integers 0..{num_classes - 1}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def count_reached(best_r, threshold=0.5) -> int:
    """How many AUs have a unit with r at or above ``threshold``."""
    return int(np.sum(np.asarray(best_r) >= threshold))


@dataclass
class UnitAUMeasurement:
    """The units of one layer against the AUs (arrays aligned on ``aus``)."""

    layer: str
    pooling: str
    aus: tuple
    r: np.ndarray
    """(units, AUs): Pearson r of each unit's pooled activation with each AU's intensity."""
    best_unit: np.ndarray
    best_r: np.ndarray
    partial_r: np.ndarray
    """The best unit's correlation within expressions (NaN when no labels were given)."""
    region_share: np.ndarray
    """Share of the best unit's input-gradient mass inside the AU's region."""
    activation_share: np.ndarray
    """Share of the best unit's (upsampled) activation mass inside the AU's region."""
    area_share: np.ndarray
    """Share of the image inside the AU's region."""

    def reached(self, threshold=0.5) -> int:
        """How many AUs have a unit with r at or above ``threshold``."""
        return count_reached(self.best_r, threshold)

    @property
    def region_ratio(self) -> np.ndarray:
        """Gradient region share over area share: above 1, the unit reads where the AU acts."""
        return self.region_share / self.area_share

    @property
    def activation_ratio(self) -> np.ndarray:
        """Activation region share over area share."""
        return self.activation_share / self.area_share


def measure(model, faces, au_intensity, layer, *, labels=None, pooling="mean", aus=AUS17,
            threshold=0.2, max_faces=100) -> UnitAUMeasurement:
    """Correlate every unit of ``layer`` with every AU in ``aus``, and locate the best units.

    ``au_intensity``: ``(N, len(facs.AUS))`` as :func:`fercourse.datasets.make_faces` gives
    them (``extras["aus"]``); ``labels``: the faces' expression labels, for the partial
    correlation (optional).  Use faces the network was not trained on.  ``threshold`` and
    ``max_faces`` choose the faces :func:`region_shares` locates each unit on.
    """
    get_layer(model, layer)
    _check_pooling(pooling)
    y = au_columns(au_intensity, aus)
    if len(y) != len(np.asarray(faces)):
        raise ValueError(f"{len(np.asarray(faces))} faces but {len(y)} rows of AU intensities")
    maps = activation_maps(model, faces, layer)
    if maps.ndim != 4:
        raise ValueError(f"layer {layer!r} of {model.name} outputs {maps.shape[1:]}, not feature maps")
    pooled = _pool(maps, pooling)
    r = correlations(pooled, y)
    best, best_r = best_units(r)
    if labels is not None:
        partial = np.diag(partial_correlations(pooled[:, best], y, labels))
    else:
        partial = np.full(len(aus), np.nan)
    kw = dict(pooling=pooling, threshold=threshold, max_faces=max_faces)
    return UnitAUMeasurement(
        layer=layer, pooling=pooling, aus=tuple(aus), r=r, best_unit=best, best_r=best_r, partial_r=partial,
        region_share=region_shares(model, faces, layer, best, aus, y, where="gradient", **kw),
        activation_share=region_shares(model, faces, layer, best, aus, y, where="activation",
                                       _maps=maps, **kw),
        area_share=area_shares(aus, np.asarray(faces).shape[1]))
