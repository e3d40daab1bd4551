"""The CNN+HOG hybrid of Alizadeh & Fazel (2017): raw pixels and HOG features, joined.

Alizadeh & Fazel fed a CNN the face and, beside it, the face's HOG descriptor
(:func:`fercourse.features.hog_features`), joining the two just before the fully connected
layers; it did no better than the CNN on pixels alone.  :func:`cnn_hog_hybrid` rebuilds that
model, and with ``use_hog=False`` builds its twin without the HOG input - the same layers,
the same head - so that the two differ in the HOG features and nothing else.

Built from the same pieces as :mod:`fercourse.models.cnns` (:mod:`fercourse.models.blocks`):
images come in as pixel values 0..255 and are rescaled inside the model; batch norm keeps up
with short runs (:data:`~fercourse.models.blocks.BN_MOMENTUM`); the output is a softmax over
``num_classes``; ``compile=True`` compiles with Adam, sparse categorical cross-entropy and
accuracy.  Keras 3 API only.
"""

from __future__ import annotations

import keras
from keras import layers

from . import blocks
from .blocks import DEFAULT_INPUT_SHAPE

__all__ = ["cnn_hog_hybrid"]

DEFAULT_HOG_DIM = 900
"""HOG length of a 48x48 face with the course's defaults (``fercourse.features.hog_length()``)."""


def _check_args(input_shape, hog_dim, num_classes, filters, use_hog):
    """The checks of :func:`fercourse.models.blocks.check_shape`, and the hybrid's own two."""
    if len(filters) < 1 or any(int(f) != f or f < 1 for f in filters):
        raise ValueError(f"cnn_hog_hybrid: filters must be one or more positive integers; got {filters!r}")
    shape = blocks.check_shape(input_shape, num_classes, 2 ** len(filters), "cnn_hog_hybrid")
    if use_hog and (hog_dim is None or int(hog_dim) != hog_dim or hog_dim < 1):
        raise ValueError(f"cnn_hog_hybrid: hog_dim must be the positive length of the HOG vectors "
                         f"(fercourse.features.hog_length()); got {hog_dim!r}")
    return shape


def cnn_hog_hybrid(input_shape=DEFAULT_INPUT_SHAPE, hog_dim=DEFAULT_HOG_DIM, num_classes=7, *,
                   filters=(32, 64, 128), dense_units=256, dropout=(0.25, 0.5), batch_norm=True,
                   use_hog=True, learning_rate=1e-3, compile=True):
    """A two-input CNN: the face and its HOG vector, joined before the fully connected layers.

    Image branch: per entry of ``filters``, a 3x3 convolution (``same`` padding), batch norm,
    ReLU, 2x2 max-pooling and dropout; then flattened.  HOG branch: the descriptor as it is
    (its values are already normalised, block by block).  The two are concatenated and go
    through one fully connected ReLU layer with dropout, then the softmax - Alizadeh & Fazel's
    design, with a trunk sized for the quick profile.

    Parameters
    ----------
    input_shape : (height, width, channels) of the images, pixel values 0..255.
    hog_dim : length of the HOG vectors (900 for 48x48 faces with the course's defaults).
    num_classes : number of classes (order :data:`fercourse.labels.EMOTIONS`).
    filters : filters of each convolutional stage.
    dense_units : units of the fully connected layer after the join.
    dropout : ``(after each conv stage, after the fully connected layer)``.
    batch_norm : batch norm after each convolution (momentum :data:`~fercourse.models.blocks.BN_MOMENTUM`).
    use_hog : False builds the image-only twin (one input, identical layers otherwise).
    learning_rate : Adam's learning rate when compiling.
    compile : compile the model (Adam, sparse categorical cross-entropy, accuracy).

    Returns
    -------
    keras.Model with inputs ``{"image": (N, H, W, C), "hog": (N, hog_dim)}`` (or the image
    alone when ``use_hog=False``) and a ``(N, num_classes)`` softmax output.  The flattened
    image features are the layer ``"cnn_features"``; the joined vector is ``"joined"``.
    """
    shape = _check_args(input_shape, hog_dim, num_classes, tuple(filters), use_hog)
    conv_drop, fc_drop = dropout
    image, x = blocks.image_input(shape)
    for i, f in enumerate(filters, start=1):
        x = blocks.conv_stage(x, int(f), 3, i, batch_norm=batch_norm, dropout=conv_drop)
    x = layers.Flatten(name="cnn_features")(x)
    if use_hog:
        hog = keras.Input(shape=(int(hog_dim),), name="hog")
        x = layers.Concatenate(name="joined")([x, hog])
        inputs = {"image": image, "hog": hog}
    else:
        inputs = image
    x = layers.Dense(int(dense_units), activation="relu", name="fc1")(x)
    if fc_drop:
        x = layers.Dropout(fc_drop, name="drop_fc1")(x)
    return blocks.finish(inputs, blocks.softmax_head(x, num_classes),
                         "cnn_hog_hybrid" if use_hog else "cnn_pixels", keras.optimizers.Adam(learning_rate),
                         compile)
