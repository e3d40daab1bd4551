"""Where a network looks: saliency, SmoothGrad, guided backpropagation, Grad-CAM, occlusion.

Every function takes a ``keras.Model`` and a batch of uint8 faces ``(N, H, W)`` or
``(N, H, W, 1)`` and returns one float32 map per face, ``(N, H, W)``.  ``class_index`` says
which class to explain: an int, one int per face, or None for each face's predicted class.

- :func:`saliency` -- the gradient of the class score with respect to the pixels, in absolute
  value (Simonyan, Vedaldi & Zisserman 2014): which pixels, changed a little, change the score most;
- :func:`smoothgrad` -- that gradient averaged over noisy copies of the face (Smilkov et al. 2017),
  which removes much of its speckle;
- :func:`guided_backprop` -- the gradient with every ReLU letting back only positive signals
  where its input was positive (Springenberg et al. 2015): sharp, edge-like pictures;
- :func:`grad_cam` -- the feature maps of a convolutional layer weighted by the mean gradient of
  the class score over each map, rectified (Selvaraju et al. 2017): coarse, class-specific;
- :func:`occlusion` -- the drop in the class's probability when a grey patch hides each part of
  the face (Zeiler & Fergus 2014): no gradient at all.

Gradients go through :func:`fercourse.explain.gradients.input_gradients`, a whole batch per
backward pass.
"""

from __future__ import annotations

import weakref

import cv2
import keras
import numpy as np

from .checks import as_faces, class_indices, default_cam_layer, get_layer
from .gradients import class_score_function, input_gradients
from .layers import layer_outputs

__all__ = ["saliency", "smoothgrad", "guided_backprop", "grad_cam", "occlusion", "predicted_classes"]

DEFAULT_BATCH = 128


def _batches(n, size):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _onehot(model, idx):
    return None if idx is None else np.eye(int(model.output_shape[-1]), dtype=np.float32)[idx]


def predicted_classes(model, faces, batch_size=DEFAULT_BATCH) -> np.ndarray:
    """The class each face is given (argmax of the model's output): ``(N,)`` int64."""
    return np.argmax(layer_outputs(model, as_faces(model, faces), batch_size=batch_size), -1).astype(np.int64)


def _gradients(model, x, idx, batch_size):
    """Gradient of each face's class score (its top class when ``idx`` is None) w.r.t. its pixels."""
    scores = class_score_function(model)
    weights = _onehot(model, idx)
    grads = np.empty_like(x)
    for s in _batches(len(x), batch_size):
        _, grads[s] = input_gradients(scores, x[s], None if weights is None else weights[s])
    return grads


def saliency(model, faces, class_index=None, *, batch_size=DEFAULT_BATCH) -> np.ndarray:
    """Vanilla saliency: ``|d score_c / d pixel|`` (the largest over colour channels), ``(N, H, W)``.

    The score is the class's score before the softmax.  Pixels are on the 0..255 scale.
    """
    x = as_faces(model, faces)
    idx = class_indices(model, class_index, len(x))
    return np.abs(_gradients(model, x, idx, batch_size)).max(-1)


def smoothgrad(model, faces, class_index=None, *, samples=25, noise=0.15, seed=0,
               batch_size=DEFAULT_BATCH) -> np.ndarray:
    """SmoothGrad: the gradient averaged over ``samples`` noisy copies, then in absolute value.

    ``noise`` is the noise's standard deviation as a fraction of the pixel range (Smilkov et al.
    found 10-20 % best).  The class is fixed on the clean face (its prediction when
    ``class_index`` is None), so every noisy copy explains the same class.
    """
    x = as_faces(model, faces)
    if int(samples) != samples or samples < 1:
        raise ValueError(f"samples must be a positive integer; got {samples!r}")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise is a fraction of the pixel range, 0..1; got {noise!r}")
    idx = class_indices(model, class_index, len(x))
    idx = layer_outputs(model, x, batch_size=batch_size).argmax(-1) if idx is None else idx
    rng = np.random.default_rng(seed)
    total = np.zeros_like(x)
    per_batch = max(1, batch_size // samples)
    for s in _batches(len(x), per_batch):
        noisy = np.repeat(x[s], samples, axis=0)
        noisy += rng.normal(0.0, noise * 255.0, noisy.shape).astype(np.float32)
        g = _gradients(model, noisy, np.repeat(idx[s], samples), batch_size)
        total[s] = g.reshape(-1, samples, *x.shape[1:]).mean(1)
    return np.abs(total).max(-1)


# --------------------------------------------------------------------------- guided backprop
@keras.ops.custom_gradient
def guided_relu(x):
    """ReLU forward; backward, only positive gradients where the input was positive."""
    y = keras.ops.relu(x)

    def grad(*args, upstream=None):
        # TensorFlow passes the upstream gradient as ``upstream=``, JAX positionally
        if upstream is None:
            (upstream,) = args
        keep = keras.ops.logical_and(keras.ops.greater(x, 0), keras.ops.greater(upstream, 0))
        return keras.ops.where(keep, upstream, keras.ops.zeros_like(upstream))

    return y, grad


class GuidedReLU(keras.layers.Layer):
    """A ReLU layer whose gradient is :func:`guided_relu`'s."""

    def call(self, x):
        return guided_relu(x)


def _is_plain_relu(layer):
    if isinstance(layer, keras.layers.ReLU):
        cfg = layer.get_config()
        return cfg.get("max_value") is None and not cfg.get("negative_slope") and not cfg.get("threshold")
    return isinstance(layer, keras.layers.Activation) and getattr(layer.activation, "__name__", "") == "relu"


_GUIDED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def guided_copy(model) -> keras.Model:
    """A copy of ``model`` (same weights) whose ReLUs all backpropagate the guided way.

    ReLU layers become :class:`GuidedReLU`; layers with a built-in ReLU activation (a
    ``Conv2D(activation="relu")``) keep their type with the activation swapped.
    """
    def clone(layer):
        if _is_plain_relu(layer):
            return GuidedReLU(name=layer.name)
        new = layer.__class__.from_config(layer.get_config())
        if getattr(getattr(layer, "activation", None), "__name__", "") == "relu":
            new.activation = guided_relu
        return new

    copy = _GUIDED.get(model)
    if copy is None:
        copy = keras.models.clone_model(model, clone_function=clone)
        # cloning costs about a second; the copy is kept and given the model's current weights
        _GUIDED[model] = copy
    copy.set_weights(model.get_weights())
    return copy


def guided_backprop(model, faces, class_index=None, *, batch_size=DEFAULT_BATCH) -> np.ndarray:
    """Guided backpropagation: the class score's gradient through guided ReLUs, ``(N, H, W)``.

    Signed (summed over colour channels): positive where brightening the pixel raises the score.
    """
    x = as_faces(model, faces)
    idx = class_indices(model, class_index, len(x))
    return _gradients(guided_copy(model), x, idx, batch_size).sum(-1)


# --------------------------------------------------------------------------- Grad-CAM
def _resize(maps, shape):
    if maps.shape[1:] == tuple(shape):
        return maps.astype(np.float32)
    return np.stack([cv2.resize(m.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
                     for m in maps])


def grad_cam(model, faces, class_index=None, *, layer=None, upsample=True,
             batch_size=DEFAULT_BATCH) -> np.ndarray:
    """Grad-CAM: ``ReLU(sum_k alpha_k A_k)``, ``alpha_k`` the mean of ``d score_c / d A_k``.

    ``layer``: the feature maps ``A`` (default: the last convolution's rectified output,
    :func:`fercourse.explain.checks.default_cam_layer`); any layer with a 4-D output works.
    Returns ``(N, H, W)`` maps upsampled bilinearly to the face (``upsample=False``: the
    layer's own ``(N, h, w)``).
    """
    x = as_faces(model, faces)
    idx = class_indices(model, class_index, len(x))
    name = default_cam_layer(model) if layer is None else layer
    feature_layer = get_layer(model, name)
    if len(feature_layer.output.shape) != 4:
        raise ValueError(f"Grad-CAM needs feature maps (N, h, w, channels); layer {name!r} of {model.name} "
                         f"outputs shape {tuple(feature_layer.output.shape)}")
    head = class_score_function(model, start=name)
    h, w = feature_layer.output.shape[1:3]
    weights = _onehot(model, idx)
    cams = np.empty((len(x), h, w), np.float32)
    for s in _batches(len(x), batch_size):
        a = layer_outputs(model, x[s], name, batch_size=batch_size)
        _, g = input_gradients(head, a, None if weights is None else weights[s])
        alpha = g.mean(axis=(1, 2), keepdims=True)
        cams[s] = np.maximum((alpha * a).sum(-1), 0.0)
    return _resize(cams, x.shape[1:3]) if upsample else cams


# --------------------------------------------------------------------------- occlusion
def occlusion(model, faces, class_index=None, *, patch=8, stride=4, fill="mean",
              batch_size=256) -> np.ndarray:
    """Occlusion sensitivity: the fall in the class's probability when a patch hides each pixel.

    A ``patch`` x ``patch`` square of grey (``fill``: the face's mean, or a grey level 0..255)
    slides by ``stride``; each pixel gets the mean fall over the patches that covered it
    (positive: hiding it hurts the class).  ``(N, H, W)``.
    """
    x = as_faces(model, faces)
    idx = class_indices(model, class_index, len(x))
    H, W = x.shape[1:3]
    if int(patch) != patch or not 1 <= patch <= min(H, W) or int(stride) != stride or stride < 1:
        raise ValueError(f"patch must be an integer 1..{min(H, W)} and stride a positive integer; "
                         f"got patch={patch!r}, stride={stride!r}")
    numeric = isinstance(fill, (int, float, np.number)) and not isinstance(fill, bool)
    if not (numeric and 0 <= fill <= 255) and not (isinstance(fill, str) and fill == "mean"):
        raise ValueError(f"fill must be 'mean' or a grey level 0..255; got {fill!r}")
    tops = list(range(0, H - patch + 1, stride))
    lefts = list(range(0, W - patch + 1, stride))
    if tops[-1] != H - patch:
        tops.append(H - patch)
    if lefts[-1] != W - patch:
        lefts.append(W - patch)
    spots = [(t, l) for t in tops for l in lefts]
    probs = layer_outputs(model, x, batch_size=batch_size)
    idx = probs.argmax(-1) if idx is None else idx
    base = probs[np.arange(len(x)), idx]
    out = np.zeros((len(x), H, W), np.float32)
    count = np.zeros((H, W), np.float32)
    for t, l in spots:
        count[t:t + patch, l:l + patch] += 1
    per_chunk = max(1, 2048 // len(spots))  # faces whose hidden copies go through together
    for s in _batches(len(x), per_chunk):
        hidden = np.repeat(x[s], len(spots), axis=0).reshape(-1, len(spots), *x.shape[1:])
        for j, i in enumerate(range(s.start, s.stop)):
            grey = x[i].mean() if isinstance(fill, str) else float(fill)
            for k, (t, l) in enumerate(spots):
                hidden[j, k, t:t + patch, l:l + patch] = grey
        p = layer_outputs(model, hidden.reshape(-1, *x.shape[1:]), batch_size=batch_size)
        p = p.reshape(-1, len(spots), p.shape[-1])
        for j, i in enumerate(range(s.start, s.stop)):
            for k, (t, l) in enumerate(spots):
                out[i, t:t + patch, l:l + patch] += base[i] - p[j, k, idx[i]]
    return out / count
