"""The course's convolutional networks, one function per architecture, named after its work.

Every function has the same shape::

    model = f(input_shape=(48, 48, 1), num_classes=7, ..., compile=True)

and returns a :class:`keras.Model` that

- takes images with pixel values in 0..255 (``uint8`` arrays straight from
  :class:`fercourse.datasets.FaceData`, given a trailing channel axis); a ``Rescaling`` layer
  inside the model maps them to [0, 1], so no caller has to remember to scale;
- ends in a softmax over ``num_classes`` (class order: :data:`fercourse.labels.EMOTIONS`);
- is compiled, when ``compile=True`` (the default), with the optimiser its work used where the
  work names one, sparse categorical cross-entropy and accuracy.  ``compile=False`` returns it
  uncompiled, for a caller who compiles it its own way.

The shared pieces (input and rescaling, convolution stages, head, compile, the batch-norm
momentum) are :mod:`fercourse.models.blocks`.  Only the Keras 3 API is used, so the models run on
the TensorFlow, JAX and PyTorch backends.
"""

from __future__ import annotations

import keras
from keras import layers

# Imported by name, not as a module: compact's argument ``blocks`` would hide the module.
from .blocks import (BN_MOMENTUM, DEFAULT_INPUT_SHAPE, check_shape, conv_bn_relu, conv_stage, finish,
                     image_input, l2_regularizer, scaled, softmax_head)

__all__ = [
    "alizadeh_fazel_shallow", "alizadeh_fazel_deep", "mememoji", "breuer_kimmel",
    "vgg_bn", "compact",
]

# models/multitask.py checks its arguments under this name.
_check_shape = check_shape


# --------------------------------------------------------------------------- the works
def alizadeh_fazel_shallow(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, dropout=(0.25, 0.5),
                           batch_norm=True, l2=0.0, width=1.0, learning_rate=1e-3, compile=True):
    """The shallow CNN of Alizadeh & Fazel (2017): two conv layers and one hidden FC layer.

    Their text: conv 32 3x3 (stride 1) with batch norm and dropout, no pooling; conv 64 3x3
    (stride 1) with batch norm, dropout and 2x2 max-pooling; FC 512; softmax; ReLU throughout.

    Where the text leaves a choice, we chose:

    - ``same`` padding (the text gives no padding; ``same`` keeps 48x48 until the pool);
    - dropout 0.25 after each conv block and 0.5 after the FC layer (no rates are given);
    - batch norm before the ReLU (the order is not given);
    - Adam at 1e-3 (the optimiser is not fixed in a form we could reproduce).

    ``dropout=(conv, fc)``, ``batch_norm`` and ``l2`` are there for the regularisation ablation;
    ``width`` scales every layer's filters and units (1.0: as published; the quick profile
    uses less to fit a laptop's CPU).  Most of its 19 M parameters sit in the FC layer
    (24*24*64 inputs x 512 units).
    """
    shape = check_shape(input_shape, num_classes, 2, "alizadeh_fazel_shallow")
    conv_drop, fc_drop = dropout
    inputs, x = image_input(shape)
    for i, (filters, pool) in enumerate([(32, False), (64, True)], start=1):
        x = conv_stage(x, scaled(filters, width), 3, i, batch_norm=batch_norm, l2_weight=l2,
                              pool=pool, dropout=conv_drop)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(scaled(512, width), activation="relu", kernel_regularizer=l2_regularizer(l2),
                     name="fc1")(x)
    if fc_drop:
        x = layers.Dropout(fc_drop, name="drop_fc1")(x)
    return finish(inputs, softmax_head(x, num_classes), "alizadeh_fazel_shallow",
                         keras.optimizers.Adam(learning_rate), compile)


def alizadeh_fazel_deep(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, dropout=(0.25, 0.5),
                        batch_norm=True, l2=1e-4, width=1.0, learning_rate=1e-3, compile=True):
    """The deep CNN of Alizadeh & Fazel (2017): four conv layers and two hidden FC layers.

    Their text: conv 64 3x3, conv 128 5x5, conv 512 3x3, conv 512 3x3, each with stride 1,
    batch norm, dropout, 2x2 max-pooling and ReLU; FC 256 and FC 512, each with batch norm,
    dropout and ReLU; L2 regularisation; softmax.

    Where the text leaves a choice, we chose:

    - ``same`` padding, so that four 2x2 pools take 48x48 to 3x3;
    - dropout 0.25 after each conv block and 0.5 after each FC layer (no rates are given);
    - L2 weight 1e-4 on every conv and dense kernel (no weight is given);
    - batch norm before the ReLU (the order is not given);
    - Adam at 1e-3 (the optimiser is not fixed in a form we could reproduce).

    ``dropout``, ``batch_norm``, ``l2`` and ``width`` as in :func:`alizadeh_fazel_shallow`.
    """
    shape = check_shape(input_shape, num_classes, 16, "alizadeh_fazel_deep")
    conv_drop, fc_drop = dropout
    inputs, x = image_input(shape)
    for i, (filters, size) in enumerate([(64, 3), (128, 5), (512, 3), (512, 3)], start=1):
        x = conv_stage(x, scaled(filters, width), size, i, batch_norm=batch_norm, l2_weight=l2,
                              dropout=conv_drop)
    x = layers.Flatten(name="flatten")(x)
    for i, units in enumerate([256, 512], start=1):
        x = layers.Dense(scaled(units, width), use_bias=not batch_norm, kernel_regularizer=l2_regularizer(l2),
                         name=f"fc{i}")(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn_fc{i}")(x)
        x = layers.ReLU(name=f"relu_fc{i}")(x)
        if fc_drop:
            x = layers.Dropout(fc_drop, name=f"drop_fc{i}")(x)
    return finish(inputs, softmax_head(x, num_classes), "alizadeh_fazel_deep",
                         keras.optimizers.Adam(learning_rate), compile)


def mememoji(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, dropout=0.5, width=1.0, compile=True):
    """mememoji's CNN (J. Ho, 2016): nine 3x3 conv layers, two dense layers of 64.

    Three stacks of three ``same``-padded 3x3 ReLU convolutions with 32, 64 and 128 filters,
    a 2x2 max-pool after each stack, then two dense layers of 64 ReLU units, each followed
    by dropout, and a softmax; Keras's default Adam.  mememoji trained on six classes
    (disgust merged into angry, :func:`fercourse.labels.merge_disgust`): pass
    ``num_classes=6`` for that; the default is FER2013's seven.

    Its dropout rate is a parameter of the original script; 0.5 is that script's default.
    ``width`` scales filters and units (1.0: as published).
    """
    shape = check_shape(input_shape, num_classes, 8, "mememoji")
    inputs, x = image_input(shape)
    for stage, filters in enumerate([32, 64, 128], start=1):
        for j in range(1, 4):
            x = layers.Conv2D(scaled(filters, width), 3, padding="same", activation="relu",
                              name=f"conv{stage}_{j}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i in (1, 2):
        x = layers.Dense(scaled(64, width), activation="relu", name=f"fc{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"drop_fc{i}")(x)
    return finish(inputs, softmax_head(x, num_classes), "mememoji",
                         keras.optimizers.Adam(1e-3), compile)


def breuer_kimmel(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, width=1.0, compile=True):
    """The CNN of Breuer & Kimmel (2017).

    Three blocks of a 5x5 convolution (64, 128, 256 filters) with ReLU and 2x2 max-pooling,
    dropout 0.25 after each block; a dense layer of 512 ReLU units with dropout 0.5; softmax.
    Adam with learning rate 1e-3 and decay 1e-5; the decay is the old Keras ``decay``
    argument, ``lr / (1 + 1e-5 * step)``, written here as an ``InverseTimeDecay`` schedule.

    We chose ``same`` padding (not stated), which takes 48x48 to 6x6 after three pools.
    ``width`` scales filters and units (1.0: as published).
    """
    shape = check_shape(input_shape, num_classes, 8, "breuer_kimmel")
    inputs, x = image_input(shape)
    for i, filters in enumerate([64, 128, 256], start=1):
        x = layers.Conv2D(scaled(filters, width), 5, padding="same", activation="relu",
                          name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = layers.Dropout(0.25, name=f"drop{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(scaled(512, width), activation="relu", name="fc1")(x)
    x = layers.Dropout(0.5, name="drop_fc1")(x)
    schedule = keras.optimizers.schedules.InverseTimeDecay(1e-3, decay_steps=1, decay_rate=1e-5)
    return finish(inputs, softmax_head(x, num_classes), "breuer_kimmel",
                         keras.optimizers.Adam(schedule), compile)


# --------------------------------------------------------------------------- the course's own
def vgg_bn(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, widths=(64, 128, 256, 512), convs_per_stage=2,
           dropout=0.4, l2=0.0, learning_rate=0.05, weight_decay=5e-4, compile=True):
    """The course's best network for the full profile: VGG-style with batch norm.

    Four stages of ``convs_per_stage`` 3x3 conv + batch norm + ReLU, 2x2 max-pool after each
    (48 -> 24 -> 12 -> 6 -> 3), widths 64/128/256/512, then global average pooling, dropout and
    the softmax.  This is the recipe of the best single networks on FER2013 without extra
    data (VGG-style with batch norm, SGD with Nesterov momentum, about 73 % PrivateTest
    after long training with augmentation; the course's own full run, and how far it got, is
    recorded in ``chapters/results/vgg_bn-fer2013-full.json``).  Compiled with SGD (momentum 0.9, Nesterov)
    and decoupled weight decay; :func:`fercourse.train.fit` puts a warm-up + cosine
    schedule on its learning rate.
    """
    shape = check_shape(input_shape, num_classes, 2 ** len(widths), "vgg_bn")
    inputs, x = image_input(shape)
    for stage, filters in enumerate(widths, start=1):
        for j in range(1, convs_per_stage + 1):
            x = conv_bn_relu(x, filters, f"conv{stage}_{j}", l2_weight=l2)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    optimizer = keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    return finish(inputs, softmax_head(x, num_classes), "vgg_bn", optimizer, compile)


def _space_to_depth(x, block, name):
    """Fold each ``block`` x ``block`` patch of pixels into channels: (H, W, C) -> (H/b, W/b, b*b*C).

    Lossless (every pixel is kept) and free of arithmetic, it lets the first convolution run at
    a quarter of the pixels; on a CPU the first layers at full resolution cost the most.
    """
    h, w, c = x.shape[1:]
    if h % block or w % block:
        raise ValueError(f"{name}: image sides ({h}x{w}) must be multiples of {block} for the space-to-depth stem")
    x = layers.Reshape((h // block, block, w // block, block, c), name=f"{name}_split")(x)
    x = layers.Permute((1, 3, 2, 4, 5), name=f"{name}_permute")(x)
    return layers.Reshape((h // block, w // block, block * block * c), name=name)(x)


def compact(input_shape=DEFAULT_INPUT_SHAPE, num_classes=7, *, widths=(32, 64, 128, 256), blocks=(1, 1, 2, 1),
            stem="space_to_depth", dropout=0.2, learning_rate=3e-3, weight_decay=1e-4, compile=True):
    """A small CNN sized for the quick profile: FER2013 in a few minutes of CPU training.

    Design, from measuring where a 2-core CPU spends its time (``benchmarks/bench_models.py``):

    - **space-to-depth stem**: the 48x48 image is folded, without loss, into 24x24x4, so no
      layer runs at full resolution.  On a CPU a 3x3 convolution + batch norm over 48x48x32 maps
      costs more than all the later layers together (batch norm's passes over large maps above all);
      on this course's 2-core reference CPU that trains several times faster than a stride-1 stem;
    - one 3x3 conv + batch norm + ReLU at 24x24 (``widths[0]`` filters), then 2x2 max-pools, with
      ``blocks`` convolutions per stage: widths 32/64/128/256 at 24/12/6/3 pixels, two convolutions
      at 6x6 and one at 3x3.  A second convolution at 3x3 (``blocks=(1, 1, 2, 2)``, the earlier
      design) adds half the parameters and, on an AVX2 CPU, more time than any other layer:
      oneDNN's weight gradients run inefficiently on maps that small;
    - global average pooling, dropout 0.2 and the softmax: about 0.54 M parameters;
    - AdamW (learning rate 3e-3, weight decay 1e-4); :func:`fercourse.train.fit` adds linear warm-up
      and cosine decay.  The quick recipe (:data:`fercourse.recipes.RECIPES`) trains 6 epochs of
      batches of 256 with flips only (``augment="flip"``): in so short a run the network still
      underfits, and shifts cost accuracy as well as time; large batches halve the per-step costs
      that dominate so small a network on a CPU (the figures, measured on FER2013, are in the
      book's *Reference results*, ``chapters/appendix_results.md``).

    ``stem="stride2"`` uses a strided 3x3 convolution instead of the fold (for comparison).
    """
    shape = check_shape(input_shape, num_classes, 2 ** len(widths), "compact")
    inputs, x = image_input(shape)
    if stem == "space_to_depth":
        x = _space_to_depth(x, 2, "stem")
    elif stem == "stride2":
        x = conv_bn_relu(x, widths[0], "stem", strides=2)
    else:
        raise ValueError(f"compact: stem must be 'space_to_depth' or 'stride2'; got {stem!r}")
    for stage, (filters, n) in enumerate(zip(widths, blocks)):
        if stage:
            x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
        for j in range(1, n + 1):
            x = conv_bn_relu(x, filters, f"conv{stage}_{j}")
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay)
    return finish(inputs, softmax_head(x, num_classes), "compact", optimizer, compile)
