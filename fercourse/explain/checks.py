"""Argument checks shared by every explanation: faces, layer names, class indices.

Each check fails with a message that names the argument and says what was expected, so a
reader who passes a float image or a misspelt layer name learns what to change.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_faces", "get_layer", "layer_names", "class_indices", "default_cam_layer",
           "spatial_layer_names"]


def _model_image_shape(model):
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 3:
        raise ValueError(f"{model.name} must take one image input (H, W, C); its input shape is "
                         f"{model.input_shape}")
    return shape


def as_faces(model, faces, name="faces") -> np.ndarray:
    """``faces`` as the float32 batch ``(N, H, W, C)`` the model takes, pixel values 0..255.

    Accepts uint8 ``(N, H, W)`` or ``(N, H, W, 1)`` (as :class:`fercourse.datasets.FaceData`
    holds them); for one face pass ``face[None]``.
    """
    h, w, c = _model_image_shape(model)
    faces = np.asarray(faces)
    if faces.dtype != np.uint8:
        raise TypeError(f"{name} must be uint8 pixels 0..255 (as FaceData.images holds them); got "
                        f"dtype {faces.dtype}")
    batch = faces[..., None] if faces.ndim == 3 else faces
    if batch.ndim != 4 or batch.shape[1:] != (h, w, c) or len(batch) == 0:
        want = f"(N, {h}, {w}) or (N, {h}, {w}, 1)" if c == 1 else f"(N, {h}, {w}, {c})"
        raise ValueError(f"{name} must be a non-empty batch {want} for {model.name}; got shape "
                         f"{faces.shape} (for one face pass face[None])")
    return batch.astype(np.float32)


def layer_names(model) -> list[str]:
    """Names of the model's layers, input layer excluded."""
    return [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]


def get_layer(model, name):
    """The layer called ``name``; a clear error listing the valid names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"layer must be a layer name (str); got {type(name).__name__}")
    for layer in model.layers:
        if layer.name == name:
            return layer
    raise ValueError(f"{model.name} has no layer {name!r}; its layers are: {', '.join(layer_names(model))}")


def spatial_layer_names(model) -> list[str]:
    """Layers whose output is a stack of feature maps ``(N, h, w, channels)``, in order."""
    out = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        if type(layer).__name__ != "InputLayer" and shape is not None and len(layer.output.shape) == 4:
            out.append(layer.name)
    return out


_ELEMENTWISE = ("BatchNormalization", "ReLU", "Activation", "LeakyReLU", "PReLU", "ELU", "Dropout",
                "SpatialDropout2D", "GaussianNoise", "LayerNormalization")


def default_cam_layer(model) -> str:
    """Grad-CAM's default: the last convolution's output after its batch norm and activation.

    Selvaraju et al. use the rectified feature maps of the last convolutional layer, so the
    layers that act on each value alone (batch norm, ReLU) after the last ``Conv2D`` are
    followed to the last of them.
    """
    names = [layer.name for layer in model.layers]
    convs = [i for i, layer in enumerate(model.layers) if "Conv" in type(layer).__name__
             and len(layer.output.shape) == 4]
    if not convs:
        raise ValueError(f"{model.name} has no convolutional layer, so Grad-CAM has no feature maps to "
                         f"weigh; its layers are: {', '.join(layer_names(model))}")
    i = convs[-1]
    while i + 1 < len(model.layers) and type(model.layers[i + 1]).__name__ in _ELEMENTWISE \
            and len(model.layers[i + 1].output.shape) == 4:
        i += 1
    return names[i]


def class_indices(model, class_index, n) -> np.ndarray | None:
    """``class_index`` (None, an int or ``n`` ints) as an int array of length ``n``; None stays None."""
    if class_index is None:
        return None
    k = int(model.output_shape[-1])
    idx = np.asarray(class_index)
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise TypeError(f"class_index must be an integer or one integer per face; got {class_index!r}")
    idx = np.broadcast_to(idx, (n,)) if idx.ndim == 0 else idx
    if len(idx) != n:
        raise ValueError(f"class_index has {len(idx)} entries for {n} faces")
    bad = idx[(idx < 0) | (idx >= k)]
    if len(bad):
        raise ValueError(f"class_index {int(bad[0])} is out of range: {model.name} has {k} outputs "
                         f"(classes 0..{k - 1})")
    return idx.astype(np.int64)
