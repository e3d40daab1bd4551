"""Inside the network: first-layer filters, activation maps, and how sparse each layer fires.

- :func:`first_layer_filters` -- the first convolution's filters *as pixel patterns*: what
  each filter responds to most, drawn on the face's own pixel grid (also through a stem that
  folds pixels into channels, as :func:`fercourse.models.compact` does);
- :func:`activation_maps` -- any layer's output for a batch of faces;
- :func:`sparsity` -- the share of a ReLU layer's outputs that are exactly zero, per layer.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np

from .checks import as_faces, get_layer
from .gradients import quiet_retracing_warnings

__all__ = ["first_layer_filters", "activation_maps", "sparsity", "relu_layer_names", "first_conv_layer",
           "layer_outputs"]

_SUBMODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
EAGER_ROWS = 64
"""Inputs of at most this many faces run eagerly in :func:`layer_outputs`."""


def layer_outputs(model, x, layers=None, *, batch_size=256):
    """The outputs of ``layers`` (names; None: the model's output) for float inputs ``x``.

    One layer name gives one array, a list of names a list of arrays.  The sub-model from the
    input to those layers is made once per model and layers.  A few faces go through it eagerly
    (compiling would cost more than it saves); more run compiled (``predict_on_batch``, about
    1.6 times faster on a 2-core CPU).
    """
    names = layers if layers is None or isinstance(layers, str) else tuple(layers)
    cache = _SUBMODELS.setdefault(model, {})
    if names not in cache:
        if names is None:
            cache[names] = model
        else:
            wanted = [get_layer(model, n).output for n in ((names,) if isinstance(names, str) else names)]
            cache[names] = keras.Model(model.inputs[0], wanted if not isinstance(names, str) else wanted[0])
    sub = cache[names]
    if len(x) > EAGER_ROWS:
        quiet_retracing_warnings()
    parts = []
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size]
        out = sub.predict_on_batch(chunk) if len(x) > EAGER_ROWS else sub(chunk, training=False)
        parts.append([keras.ops.convert_to_numpy(o) for o in out] if isinstance(out, (list, tuple))
                     else keras.ops.convert_to_numpy(out))
    if isinstance(names, tuple):
        parts = [p if isinstance(p, list) else [p] for p in parts]
    if isinstance(parts[0], list):
        return [np.concatenate([p[k] for p in parts]).astype(np.float32) for k in range(len(parts[0]))]
    return np.concatenate(parts).astype(np.float32)


# Layers that only rescale or rearrange pixels: the first convolution sees a linear image of the
# face through them, so its filters can be drawn back on the face's pixels.
_LINEAR_PREFIX = ("InputLayer", "Rescaling", "Reshape", "Permute", "ZeroPadding2D", "Normalization")


def first_conv_layer(model):
    """The model's first convolutional layer (a clear error when it has none)."""
    for layer in model.layers:
        if "Conv" in type(layer).__name__:
            return layer
    raise ValueError(f"{model.name} has no convolutional layer")


def first_layer_filters(model, *, crop=True) -> np.ndarray:
    """The first convolution's filters on the input's pixel grid: ``(n_filters, h, w)`` float32.

    When the convolution reads the pixels directly, these are its kernels (one grey channel).
    When a lossless rearrangement comes first (``compact``'s space-to-depth stem turns 48x48x1
    into 24x24x4, so a 3x3 kernel spans 6x6 pixels) each filter is the pixel pattern its output
    at the centre of the image weighs: the input image is built pixel by pixel (one impulse
    per pixel), pushed through the linear layers before the convolution, and the kernel applied,
    which gives exactly the weights of the composed linear map.  Bias and activation are left
    out: they do not depend on the pattern.  ``crop=False`` returns the weights over the whole
    input grid ``(n_filters, H, W)`` (for the output at the centre of the map) instead of the
    patch they cover.
    """
    conv = first_conv_layer(model)
    layers = model.layers[:model.layers.index(conv)]
    if any(type(layer).__name__ not in _LINEAR_PREFIX for layer in layers):
        raise ValueError(f"{model.name}: the layers before {conv.name} are not all linear rearrangements "
                         f"({', '.join(type(l).__name__ for l in layers)}); its filters cannot be drawn "
                         "on the pixel grid")
    kernel = np.asarray(conv.kernel.numpy())  # (kh, kw, c_in, c_out)
    h, w, c = model.input_shape[1:]
    if c != 1:
        raise ValueError(f"first_layer_filters draws filters of grey-level models; {model.name} takes "
                         f"{c} channels")
    prefix = keras.Model(model.inputs[0], conv.input)
    impulses = np.eye(h * w, dtype=np.float32).reshape(h * w, h, w, 1)
    zero = keras.ops.convert_to_numpy(prefix(np.zeros((1, h, w, 1), np.float32)))
    linear = np.concatenate([keras.ops.convert_to_numpy(prefix(impulses[s])) for s in
                             (slice(i, i + 512) for i in range(0, h * w, 512))]) - zero  # (h*w, H', W', C')
    kh, kw = kernel.shape[:2]
    ci, cj = linear.shape[1] // 2, linear.shape[2] // 2
    window = linear[:, ci - kh // 2: ci - kh // 2 + kh, cj - kw // 2: cj - kw // 2 + kw, :]
    weights = np.einsum("pijc,ijcf->fp", window, kernel).reshape(-1, h, w)
    if not crop:
        return weights.astype(np.float32)
    rows, cols = np.nonzero(np.abs(weights).sum(0) > 0)
    return weights[:, rows.min():rows.max() + 1, cols.min():cols.max() + 1].astype(np.float32)


def activation_maps(model, faces, layer, *, batch_size=256):
    """The output of layer ``layer`` for each face: ``(N, ...)`` float32, e.g. ``(N, h, w, channels)``.

    ``layer`` may be a list of names: then a list of arrays, all from one pass through the network.
    """
    for name in ([layer] if isinstance(layer, str) else list(layer)):
        get_layer(model, name)
    return layer_outputs(model, as_faces(model, faces), layer if isinstance(layer, str) else list(layer),
                         batch_size=batch_size)


def relu_layer_names(model) -> list[str]:
    """Layers whose output is rectified (ReLU layers and layers with a ReLU activation), in order."""
    out = []
    for layer in model.layers:
        act = getattr(getattr(layer, "activation", None), "__name__", "")
        if isinstance(layer, keras.layers.ReLU) or act == "relu":
            out.append(layer.name)
    return out


def sparsity(model, faces, layers=None, *, batch_size=256) -> np.ndarray:
    """Share of exactly-zero outputs of each layer in ``layers`` (default: the ReLU layers).

    Returns ``(len(layers),)`` float; ``relu_layer_names(model)`` gives the default order.
    """
    names = relu_layer_names(model) if layers is None else list(layers)
    if isinstance(layers, str):
        raise TypeError("layers must be a list of layer names; for one layer pass [name]")
    if not names:
        raise ValueError(f"{model.name} has no ReLU layer; name the layers to measure")
    x = as_faces(model, faces)
    zeros = np.zeros(len(names))
    for i in range(0, len(x), batch_size):
        outs = layer_outputs(model, x[i:i + batch_size], names, batch_size=batch_size)
        zeros += [np.mean(a == 0) * len(a) for a in outs]
    return zeros / len(x)
