"""The course's models: plain functions returning ``keras.Model``s, named after their works.

Every builder is called the same way, ``f(input_shape=(48, 48, 1), num_classes=7, ...)``; the
models take pixel values 0..255 and scale them inside.  :func:`get` builds one by name, which
is what the command line and :func:`fercourse.recipes.train_named` use.

- :mod:`~fercourse.models.blocks`: the pieces every model is built from (argument checks, the
  rescaling input, convolution stages, the softmax head, compiling, the batch-norm momentum);
- :mod:`~fercourse.models.cnns`: the works' networks and the course's own (:data:`MODELS`);
- :mod:`~fercourse.models.hybrid`: Alizadeh & Fazel's CNN+HOG hybrid (two inputs);
- :mod:`~fercourse.models.multitask`: FaceBehaviorNet (three heads), imported on its own.
"""

from __future__ import annotations

from .cnns import (
    alizadeh_fazel_deep,
    alizadeh_fazel_shallow,
    breuer_kimmel,
    compact,
    mememoji,
    vgg_bn,
)
from .hybrid import cnn_hog_hybrid
from .multitask import FaceBehaviorNet, face_behavior_net, trunk_of

MODELS = {
    "alizadeh_fazel_shallow": alizadeh_fazel_shallow,
    "alizadeh_fazel_deep": alizadeh_fazel_deep,
    "mememoji": mememoji,
    "breuer_kimmel": breuer_kimmel,
    "vgg_bn": vgg_bn,
    "compact": compact,
}
"""Name -> builder, for every single-input image model :func:`get` can build.

:func:`cnn_hog_hybrid` takes two inputs (image and HOG vector), so it is built directly
rather than through this registry, which the command line trains on images alone."""


def get_builder(name):
    """The builder function registered under ``name`` (a clear error listing the valid names)."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}") from None


def get(name, **kwargs):
    """Build the model registered under ``name``: ``get("breuer_kimmel", num_classes=6)``."""
    return get_builder(name)(**kwargs)


__all__ = ["MODELS", "get", "get_builder", "cnn_hog_hybrid", "FaceBehaviorNet", "face_behavior_net", "trunk_of",
           *MODELS]
