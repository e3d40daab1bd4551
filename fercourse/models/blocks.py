"""The pieces every model of the course is built from, defined once.

Each builder (:mod:`fercourse.models.cnns`, :mod:`fercourse.models.hybrid`) checks its
arguments with :func:`check_shape`, starts from :func:`image_input` (pixels 0..255, rescaled
inside the model), stacks convolution stages (:func:`conv_stage`, :func:`conv_bn_relu`), ends in
:func:`softmax_head` and compiles with :func:`finish`.  So a choice made on purpose -- the
batch-norm momentum for short runs, the rescaling, the loss -- holds for every model alike.
Keras 3 API only.
"""

from __future__ import annotations

import keras
from keras import layers

__all__ = [
    "DEFAULT_INPUT_SHAPE", "BN_MOMENTUM", "check_shape", "image_input", "conv_stage", "conv_bn_relu",
    "softmax_head", "finish", "scaled", "l2_regularizer",
]

DEFAULT_INPUT_SHAPE = (48, 48, 1)

BN_MOMENTUM = 0.9
"""Momentum of every batch-norm layer's running statistics.  Keras's default, 0.99, averages
over about 100 steps, so after a short run the statistics used at test time still describe
the weights of many steps ago and a network that trains well predicts one class on the test
set; 0.9 (PyTorch's default) keeps up, and changes nothing for long runs."""


def check_shape(input_shape, num_classes, min_side, name):
    """Validate the arguments every builder takes; ``min_side`` is the smallest image the pooling allows.

    Returns ``input_shape`` as a tuple of ints; a bad argument is a ``ValueError`` naming the
    builder, the argument and what was expected.
    """
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: input_shape must be a tuple (height, width, channels); got {input_shape!r}") from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"{name}: input_shape must be (height, width, channels), e.g. (48, 48, 1); got {input_shape!r}"
        )
    if min(shape[:2]) < min_side:
        raise ValueError(
            f"{name}: images of {shape[0]}x{shape[1]} are too small for its pooling; "
            f"it needs at least {min_side}x{min_side}"
        )
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"{name}: num_classes must be an integer >= 2; got {num_classes!r}")
    return shape


def image_input(shape):
    """The image input (named ``"image"``) and the same pixels scaled from 0..255 to 0..1."""
    inputs = keras.Input(shape=shape, name="image")
    # Pixels arrive as 0..255 (uint8 in FaceData); scaling here means every caller,
    # notebook or camera loop, feeds the same thing.
    return inputs, layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def conv_stage(x, filters, kernel, index, *, batch_norm=True, l2_weight=0.0, pool=True, dropout=0.0):
    """Convolution (``same`` padding), batch norm, ReLU, then optionally 2x2 max-pooling and dropout.

    Layers are named ``conv{index}``, ``bn{index}``, ``relu{index}``, ``pool{index}``,
    ``drop{index}``.  With batch norm the convolution has no bias: batch norm's shift replaces it.
    """
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=not batch_norm,
                      kernel_regularizer=l2_regularizer(l2_weight), name=f"conv{index}")(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn{index}")(x)
    x = layers.ReLU(name=f"relu{index}")(x)
    if pool:
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"drop{index}")(x)
    return x


def conv_bn_relu(x, filters, name, *, l2_weight=0.0, strides=1, separable=False):
    """A 3x3 convolution without bias, batch norm and ReLU: layers ``name``, ``name_bn``, ``name_relu``."""
    if separable:
        x = layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                                   pointwise_regularizer=l2_regularizer(l2_weight), name=name)(x)
    else:
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                          kernel_regularizer=l2_regularizer(l2_weight), name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def softmax_head(x, num_classes):
    """The class probabilities: a dense softmax layer named ``"probs"``."""
    return layers.Dense(int(num_classes), activation="softmax", name="probs")(x)


def finish(inputs, outputs, name, optimizer, compile):
    """The ``keras.Model``; compiled with sparse categorical cross-entropy and accuracy when ``compile``."""
    model = keras.Model(inputs, outputs, name=name)
    if compile:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def scaled(n, width):
    """``n`` filters or units at ``width`` times the published size (at least 1)."""
    if width <= 0:
        raise ValueError(f"width must be positive (1.0 is the published size); got {width!r}")
    return max(1, int(round(n * width)))


def l2_regularizer(value):
    """An L2 kernel regulariser of weight ``value``, or None for 0."""
    return keras.regularizers.L2(value) if value else None
