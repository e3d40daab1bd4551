"""Models of clips: a per-frame CNN's features read over time, and the baselines they must beat.

Breuer & Kimmel recognised micro-expressions by running their expression CNN on every frame of
a clip and an LSTM over the sequence of its features.  Here:

- :func:`feature_extractor` cuts a trained expression network (the course model) at its pooled
  features and freezes it; :func:`frame_features` runs it on every frame of a set of clips once;
- :func:`temporal_head` reads a clip's sequence of features with an LSTM (or GRU) and says its
  class; :func:`cnn_rnn` puts the two together, ``TimeDistributed``, into one model that takes
  clips ``(N, T, H, W, 1)`` -- Breuer & Kimmel's pipeline;
- :func:`vector_head` classifies one feature vector: the apex frame's (the single-frame
  baseline) or the clip's average (the averaging baseline);
- :func:`difference_cnn` is a small CNN on the onset->apex change (frame difference or optical
  flow, :mod:`fercourse.micro`), as the strongest simple recent methods do.

Every model is compiled (Adam, sparse categorical cross-entropy, accuracy) and trained through
:func:`fercourse.train.fit`.  Heads on features are cheap to train, so a leave-one-subject-out
evaluation computes the features once and trains a head per fold; :func:`cnn_rnn` then carries
a trained head onto clips.  Keras 3 API only.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from .blocks import finish, softmax_head

__all__ = [
    "FEATURE_LAYER", "feature_extractor", "frame_features", "feature_stats", "OnsetRelative",
    "temporal_head", "vector_head", "cnn_rnn", "difference_cnn",
]

FEATURE_LAYER = "gap"
"""The layer of the course model (:func:`fercourse.models.compact`) whose output are the features:
the globally pooled last feature maps, one vector per face, before dropout and the softmax."""


def feature_extractor(model, layer: str = FEATURE_LAYER) -> keras.Model:
    """``model`` (a trained image classifier) cut at ``layer`` and frozen: face -> feature vector."""
    try:
        out = model.get_layer(layer).output
    except ValueError:
        names = [l.name for l in model.layers]
        raise ValueError(f"{model.name} has no layer {layer!r}; its layers: {', '.join(names)}") from None
    extractor = keras.Model(model.inputs, out, name=f"{model.name}_features")
    extractor.trainable = False
    return extractor


def frame_features(extractor, frames, batch_size: int = 512) -> np.ndarray:
    """Features of every frame of every clip: ``(N, T, H, W)`` uint8 frames -> ``(N, T, D)`` float32."""
    frames = np.asarray(frames)
    if frames.ndim == 5 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if frames.ndim != 4:
        raise ValueError(f"frames must be clips (N, T, H, W) or (N, T, H, W, 1); got shape {frames.shape}")
    n, t = frames.shape[:2]
    flat = frames.reshape(n * t, *frames.shape[2:], 1).astype("float32")
    out = extractor.predict(flat, batch_size=batch_size, verbose=0)
    return np.asarray(out, np.float32).reshape(n, t, -1)


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each feature over every clip and frame given: ``((D,), (D,))``.

    Computed on the training clips of a fold only, and passed to the heads, which standardise
    their inputs with them (the features of a ReLU network differ in scale by orders of magnitude).
    """
    features = np.asarray(features, np.float32)
    flat = features.reshape(-1, features.shape[-1])
    return flat.mean(axis=0), np.maximum(flat.var(axis=0), 1e-6)


def _standardise(x, stats, name="standardise"):
    if stats is None:
        return x
    mean, var = (np.asarray(v, np.float32) for v in stats)
    return layers.Normalization(axis=-1, mean=mean, variance=var, name=name)(x)


def _finish(inputs, outputs, name, learning_rate, compile):
    """The model, compiled as every course model is (:func:`.blocks.finish`), with Adam."""
    return finish(inputs, outputs, name, keras.optimizers.Adam(learning_rate) if compile else None, compile)


@keras.saving.register_keras_serializable(package="fercourse")
class OnsetRelative(layers.Layer):
    """Each frame's features minus the first frame's: what changed since the onset, not who it is.

    A clip's first frame shows the person's neutral face (the onset); subtracting it removes the
    identity and lighting, which differ far more between people than a micro-expression changes
    a face.  An LSTM could learn this subtraction itself, given enough clips; a few hundred are
    not enough.
    """

    def call(self, x):
        return x - x[:, :1]


def temporal_head(length: int, feature_dim: int, num_classes: int, *, rnn: str = "lstm", units: int = 32,
                  projection: int = 32, relative: bool = True, feature_dropout: float = 0.3, dropout: float = 0.3,
                  stats=None, learning_rate: float = 3e-3, compile: bool = True) -> keras.Model:
    """An RNN over a clip's per-frame features: ``(N, T, D)`` -> class probabilities.

    Layers: standardise (with ``stats`` from :func:`feature_stats`), :class:`OnsetRelative`
    (``relative``), feature dropout (a share ``feature_dropout`` of the D features dropped in
    *every* frame of a clip at once, ``SpatialDropout1D``: with a few hundred clips and 256
    features the head must not lean on a handful of them), a shared dense projection to
    ``projection`` units with ReLU (``TimeDistributed``; it cuts the RNN's weights by the ratio
    ``D / projection``), an LSTM or GRU of ``units`` that reads the frames in order and keeps its
    last state, dropout, softmax.
    """
    if rnn not in ("lstm", "gru"):
        raise ValueError(f"rnn must be 'lstm' or 'gru'; got {rnn!r}")
    inputs = keras.Input((length, feature_dim), name="features")
    x = _standardise(inputs, stats)
    if relative:
        x = OnsetRelative(name="onset_relative")(x)
    if feature_dropout:
        x = layers.SpatialDropout1D(feature_dropout, name="feature_dropout")(x)
    if projection:
        x = layers.TimeDistributed(layers.Dense(projection, activation="relu"), name="projection")(x)
    x = (layers.LSTM if rnn == "lstm" else layers.GRU)(units, name=rnn)(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    return _finish(inputs, softmax_head(x, num_classes), f"{rnn}_head", learning_rate, compile)


def vector_head(feature_dim: int, num_classes: int, *, dropout: float = 0.3, stats=None,
                learning_rate: float = 3e-3, compile: bool = True, name: str = "vector_head") -> keras.Model:
    """Softmax regression on one feature vector (the apex frame's, or a clip's average)."""
    inputs = keras.Input((feature_dim,), name="features")
    x = _standardise(inputs, stats)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    return _finish(inputs, softmax_head(x, num_classes), name, learning_rate, compile)


def cnn_rnn(extractor, head, *, frame_shape=None) -> keras.Model:
    """Clips ``(N, T, H, W, 1)`` -> class probabilities: the frozen CNN on every frame, then ``head``.

    ``extractor`` comes from :func:`feature_extractor`, ``head`` from :func:`temporal_head` (trained
    on features or not).  The extractor stays frozen: training this model through
    :func:`fercourse.train.fit` trains the head only, on clips.
    """
    length = head.input_shape[1]
    frame_shape = tuple(frame_shape or extractor.input_shape[1:])
    extractor.trainable = False
    inputs = keras.Input((length, *frame_shape), name="clip")
    x = layers.TimeDistributed(extractor, name="per_frame_cnn")(inputs)
    learning_rate = (float(keras.ops.convert_to_numpy(head.optimizer.learning_rate))
                     if getattr(head, "optimizer", None) is not None else 3e-3)
    return _finish(inputs, head(x), f"cnn_{head.name.replace('_head', '')}", learning_rate, True)


def difference_cnn(input_shape=(48, 48, 2), num_classes: int = 6, *, widths=(16, 32, 64), dropout: float = 0.3,
                   learning_rate: float = 3e-3, compile: bool = True) -> keras.Model:
    """A small CNN on the onset->apex change: optical flow ``(H, W, 2)`` or a frame difference ``(H, W, 1)``.

    Batch norm first, since flow (pixels of motion) and differences (grey levels) come in
    different scales; then 3x3 convolutions with ReLU and 2x2 max-pooling, global average
    pooling, dropout and the softmax.  A few thousand weights: it must learn from a few hundred
    clips.
    """
    inputs = keras.Input(tuple(input_shape), name="change")
    x = layers.BatchNormalization(name="scale")(inputs)
    for i, width in enumerate(widths):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", name=f"conv{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if dropout:
        x = layers.Dropout(dropout, name="drop")(x)
    return _finish(inputs, softmax_head(x, num_classes), "difference_cnn", learning_rate, compile)
