"""Transfer learning: what an expression network has learnt, reused on other data and other tasks.

Breuer & Kimmel :cite:`breuer2017origin` kept the convolutional layers of a network trained on one
dataset, froze them, and trained a new classifier head on another; and they read action units off
the network's features.  This module holds the tools for both, each written once:

- :func:`features`: a layer's activations (the penultimate layer's by default) as a NumPy array;
- :func:`frozen_trunk`: a copy of a network up to a layer, frozen, with a new softmax head;
- :func:`unfreeze`: fine-tuning -- the trunk trainable from a given layer on, at a lower rate;
- :func:`linear_probe`: scikit-learn's logistic regression on frozen features (:func:`au_probes`:
  one per action unit), and
  :func:`head_from_probe`, which puts a probe's weights into a network's head;
- the *methods* a learning curve compares, each a callable ``method(x_train, y_train, x_test)``
  returning class probabilities: :class:`AsIs` (the source network unchanged), :class:`FrozenTrunk`,
  :class:`FineTune`, :class:`FromScratch` and :class:`LinearProbe`;
- :func:`cross_validate`: any method over subject-independent folds (or random ones, to measure
  what sharing subjects does), optionally with only ``n_per_class`` labelled faces per class,
  returning per-fold and pooled figures (:class:`CVResult`).

Every network is trained by :func:`fercourse.train.fit`, the course's one training loop.

Why one module of about 630 lines, above the package's ~400: it is one idea, reusing a trained
network, and the methods a learning curve compares are thin wrappers over the functions above
them (:class:`FrozenTrunk` over :func:`frozen_trunk`, :class:`LinearProbe` over
:func:`linear_probe`...), run by :func:`cross_validate`; apart, a method and what it wraps would
sit in two files.  The probes (:func:`linear_probe`, :func:`au_probes`, :func:`head_from_probe`)
are what would move out first if it grew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import config

__all__ = [
    "features", "frozen_trunk", "unfreeze", "linear_probe", "au_probes", "head_from_probe", "per_class_sample",
    "AsIs", "FrozenTrunk", "FineTune", "FromScratch", "LinearProbe", "cross_validate", "CVResult",
    "FOLDS",
]

FOLDS = ("subject", "random")
"""How :func:`cross_validate` splits: by subject (no person on both sides), or at random."""


# --------------------------------------------------------------------------- layers and features
def _layer_output(model, layer):
    """The tensor of ``layer`` in ``model``: None is the input of the last layer (penultimate)."""
    import keras

    if layer is None:
        return model.layers[-1].input
    if isinstance(layer, keras.layers.Layer):
        if layer not in model.layers:
            raise ValueError(f"layer {layer.name!r} is not a layer of {model.name}")
        return layer.output
    if isinstance(layer, (str, int, np.integer)) and not isinstance(layer, bool):
        return model.layers[_layer_index(model, layer)].output
    raise TypeError(f"layer must be None (penultimate), a layer name, an index or a keras layer; got {layer!r}")


def _inputs(model):
    # A lone input, not a list of one: Keras then takes a plain array without a structure warning.
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _layer_index(model, layer) -> int:
    """The index of a layer given by name or index (negative counts from the end), checked."""
    if isinstance(layer, str):
        names = [lay.name for lay in model.layers]
        if layer not in names:
            raise ValueError(f"{model.name} has no layer named {layer!r}; its layers: {', '.join(names)}")
        return names.index(layer)
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        n = len(model.layers)
        if not -n <= int(layer) < n:
            raise ValueError(f"layer index {layer} is out of range: {model.name} has {n} layers")
        return int(layer) % n
    raise TypeError(f"from_layer must be a layer name or an index; got {layer!r}")


def features(model, images, layer=None, *, pool=None, batch_size: int = 256) -> np.ndarray:
    """A layer's activations for ``images``, one row per face: an ``(N, D)`` float32 array.

    Parameters
    ----------
    model : a ``keras.Model`` taking images of 0..255 pixels (as :mod:`fercourse.models` build).
    images : ``(N, H, W)`` or ``(N, H, W, 1)`` array.
    layer : None for the penultimate features (the input of the model's last layer, what its
        classifier reads), or a layer's name, index, or the layer itself.
    pool : for a layer with spatial maps ``(N, h, w, c)``: None flattens them (``h*w*c``
        values), ``"avg"`` or ``"max"`` pools each channel over the map (``c`` values).

    Inference runs in inference mode (dropout off, batch norm's running statistics), batch by
    batch through :func:`fercourse.evaluate.predict_proba`, the course's one batched inference.
    """
    import keras

    from . import evaluate

    if pool not in (None, "avg", "max"):
        raise ValueError(f"pool must be None, 'avg' or 'max'; got {pool!r}")
    extractor = keras.Model(_inputs(model), _layer_output(model, layer), name=f"{model.name}_features")
    out = evaluate.predict_proba(extractor, images, batch_size)
    if out.ndim == 4 and pool is not None:
        out = out.mean(axis=(1, 2)) if pool == "avg" else out.max(axis=(1, 2))
    return out.reshape(len(out), -1).astype(np.float32)


# --------------------------------------------------------------------------- new heads
def _compile(model, learning_rate):
    import keras

    model.compile(optimizer=keras.optimizers.AdamW(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def frozen_trunk(source, num_classes: int, *, layer=None, dropout: float = 0.0,
                 learning_rate: float = 1e-3):
    """Breuer & Kimmel's transfer: ``source`` up to ``layer``, frozen, under a new softmax head.

    Parameters
    ----------
    source : the trained network (a ``keras.Model``); it is copied (``keras.models.clone_model``
        with its weights), so training the result leaves ``source`` as it was.
    num_classes : classes of the new task.
    layer : where to cut (as in :func:`features`; None keeps everything but the last layer).
        Maps with spatial extent are flattened before the head.
    dropout : dropout before the new head.
    learning_rate : AdamW's rate for the head.

    Returns
    -------
    A compiled ``keras.Model`` whose only trainable layer is the new head, ``transfer_head``.
    Frozen batch-norm layers run in inference mode (Keras 3), keeping the source's statistics.
    """
    import keras
    from keras import layers

    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes must be a whole number of at least 2; got {num_classes!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1); got {dropout!r}")
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    x = _layer_output(copy, layer)
    trunk = {lay.name for lay in copy.layers}
    if len(x.shape) > 2:
        x = layers.Flatten(name="transfer_flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, name="transfer_dropout")(x)
    out = layers.Dense(int(num_classes), activation="softmax", name="transfer_head")(x)
    model = keras.Model(_inputs(copy), out, name=f"{source.name}_transfer")
    for lay in model.layers:
        lay.trainable = lay.name not in trunk
    return _compile(model, learning_rate)


def unfreeze(model, from_layer=None, *, learning_rate: float = 1e-4, batch_norm: bool = False):
    """Fine-tuning: make ``model``'s layers trainable from ``from_layer`` on, recompiled at a lower rate.

    Parameters
    ----------
    model : a network from :func:`frozen_trunk` (or any ``keras.Model``); changed in place and
        returned.
    from_layer : the first layer to train (name or index); the layers before it stay frozen.
        None unfreezes every layer.
    learning_rate : AdamW's rate for the whole network: lower than the head's, so the trunk's
        features are adjusted, not overwritten.
    batch_norm : also train the batch-norm layers.  Off by default: a frozen batch-norm layer
        runs in inference mode, keeping the statistics of the source's many faces; trained on a
        handful of target faces, it would swap them for the statistics of one small batch.
    """
    import keras

    start = 0 if from_layer is None else _layer_index(model, from_layer)
    for i, lay in enumerate(model.layers):
        is_bn = isinstance(lay, keras.layers.BatchNormalization)
        lay.trainable = i >= start and (batch_norm or not is_bn)
    return _compile(model, learning_rate)


def linear_probe(features, labels, *, C: float = 1.0, max_iter: int = 2000):
    """A linear probe: standardised features, then scikit-learn's (multinomial) logistic regression.

    Returns the fitted ``sklearn.pipeline.Pipeline``; ``probe.predict_proba(f)`` gives class
    probabilities for the classes seen in training (``probe.classes_``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    f, y = _check_features(features, labels)
    if len(np.unique(y)) < 2:
        raise ValueError("a linear probe needs faces of at least two classes; all labels are "
                         f"{np.unique(y).tolist()}")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    return probe.fit(f, y)


def au_probes(train_features, presence, test_features, *, C: float = 1.0, components: int | None = None,
              max_iter: int = 2000) -> np.ndarray:
    """One linear probe per action unit: the probability that each AU is present in each test face.

    Parameters
    ----------
    train_features : ``(N, D)`` features of the training faces.
    presence : ``(N, A)`` 0/1 presence of each of ``A`` action units in the training faces.
    test_features : ``(M, D)`` features of the test faces.
    C : inverse strength of the L2 penalty of each probe.
    components : reduce the standardised features to this many principal components, whitened
        (scikit-learn's PCA, fitted on the training faces), before the probes.  Different kinds of
        features (raw pixels, HOG, a network's) then reach the probes in the same number of
        dimensions, and well conditioned: pixels are so correlated that logistic regression on
        them needs hundreds of iterations per AU, on their principal components a few dozen.

    Returns
    -------
    ``(M, A)`` float32 probabilities.  Features are standardised once (on the training faces);
    each AU gets its own scikit-learn logistic regression.  An AU present in all or none of the
    training faces cannot be probed; it gets its training rate (1 or 0) for every test face.
    """
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    f = np.asarray(train_features, dtype=np.float32)
    y = np.asarray(presence)
    g = np.asarray(test_features, dtype=np.float32)
    if f.ndim != 2 or g.ndim != 2 or f.shape[1] != g.shape[1]:
        raise ValueError(f"train_features and test_features must be (N, D) and (M, D); got {f.shape} and {g.shape}")
    if y.ndim != 2 or len(y) != len(f):
        raise ValueError(f"presence must be (N, A) with one row per training face ({len(f)}); got {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("presence must hold 0 (absent) and 1 (present) only; "
                         "turn intensities into presence first (e.g. intensity >= FACS grade A)")
    scaler = StandardScaler().fit(f)
    f, g = scaler.transform(f), scaler.transform(g)
    if components is not None:
        if int(components) != components or components < 1:
            raise ValueError(f"components must be a whole number of at least 1, or None; got {components!r}")
        pca = PCA(int(min(components, *f.shape)), whiten=True, random_state=0).fit(f)
        f, g = pca.transform(f), pca.transform(g)
    out = np.empty((len(g), y.shape[1]), np.float32)
    for j in range(y.shape[1]):
        if y[:, j].min() == y[:, j].max():
            out[:, j] = y[0, j]
        else:
            out[:, j] = LogisticRegression(C=C, max_iter=max_iter).fit(f, y[:, j]).predict_proba(g)[:, 1]
    return out


def _check_features(features, labels):
    f = np.asarray(features, dtype=np.float32)
    y = np.asarray(labels)
    if f.ndim != 2:
        raise ValueError(f"features must be an (N, D) array; got shape {f.shape}")
    if y.ndim != 1 or len(y) != len(f):
        raise ValueError(f"labels must be one per row of features ({len(f)}); got shape {y.shape}")
    return f, y


def head_from_probe(model, probe, num_classes: int | None = None, layer: str = "transfer_head"):
    """Set a network's softmax head to a fitted :func:`linear_probe`, so both give the same probabilities.

    The probe standardises, then applies ``W f + b``; folding the scaling into the weights gives
    the head ``(W / s) f + (b - W m / s)``.  Classes the probe never saw get weight 0 and a very
    low bias.  Used by :class:`FineTune` to start from the probe's solution (linear probing,
    then fine-tuning), so that a low learning rate refines the head rather than has to find it.
    """
    scaler, logreg = probe[0], probe[-1]
    head = model.get_layer(layer)
    kernel, bias = head.get_weights()
    k = kernel.shape[1] if num_classes is None else int(num_classes)
    coef, intercept = logreg.coef_, logreg.intercept_
    if coef.shape[0] == 1:  # scikit-learn keeps one row for two classes: p(class 1) = sigmoid
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    w = (coef / scale).T
    b = intercept - (coef / scale) @ scaler.mean_
    new_kernel = np.zeros_like(kernel)
    new_bias = np.full_like(bias, -30.0)
    for j, c in enumerate(logreg.classes_):
        if not 0 <= c < k:
            raise ValueError(f"the probe knows class {c}, but the head has {k} outputs")
        new_kernel[:, c], new_bias[c] = w[:, j], b[j]
    head.set_weights([new_kernel, new_bias])
    return model


# --------------------------------------------------------------------------- training, reused
def per_class_sample(labels, n: int | None, seed: int | None = None) -> np.ndarray:
    """Indices of at most ``n`` faces of each class, drawn at random (all faces when ``n`` is None).

    A learning curve's budget: "5 labelled faces per class".  A class with fewer faces keeps
    them all.  Returns the indices sorted.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be a 1-D array; got shape {y.shape}")
    if n is None:
        return np.arange(len(y))
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number of at least 1 (faces per class), or None; got {n!r}")
    rng = np.random.default_rng(config.seed() if seed is None else seed)
    picks = [rng.permutation(np.flatnonzero(y == c))[: int(n)] for c in np.unique(y)]
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, int)


def _num_classes(y_train, num_classes) -> int:
    """``num_classes`` when given, else one more than the largest training label."""
    return int(num_classes if num_classes is not None else int(np.max(y_train)) + 1)


class _Trained:
    """A method that trains one network: built once, reset to its starting point for each fold.

    Tracing a new Keras model's training step costs seconds on a CPU, more than the few dozen
    steps a small labelled set needs; so the network is built and compiled once, and each call
    restores its initial weights and optimiser state (a fresh start, without a fresh trace).
    A call is the same for every method -- ready the network, start its head, train, predict --
    so a method says only how its network is built (``build``) and, if not as built, where its
    head starts (``_start_head``).
    """

    name = "trained"

    def __init__(self, *, epochs=None, batch_size=32, min_steps=None, augment="flip", seed=None):
        self.epochs = int(config.by_profile(quick=6, full=30) if epochs is None else epochs)
        self.min_steps = int(config.by_profile(quick=30, full=200) if min_steps is None else min_steps)
        self.batch_size, self.augment, self.seed = int(batch_size), augment, seed
        if self.epochs < 1 or self.batch_size < 1 or self.min_steps < 0:
            raise ValueError(f"{type(self).__name__}: epochs and batch_size must be positive, min_steps >= 0; "
                             f"got {epochs!r}, {batch_size!r}, {min_steps!r}")
        self.model = None
        self._start = None

    def build(self, num_classes):  # pragma: no cover - each method says how
        raise NotImplementedError

    def _ready(self, num_classes):
        if self.model is None or self.model.output_shape[-1] != num_classes:
            config.seed_everything(self.seed)
            self.model = self.build(num_classes)
            self.model.optimizer.build(self.model.trainable_variables)
            self._start = ([w.copy() for w in self.model.get_weights()],
                           [np.array(v.numpy()) for v in self.model.optimizer.variables])
        weights, optimizer_state = self._start
        self.model.set_weights(weights)
        for v, value in zip(self.model.optimizer.variables, optimizer_state):
            v.assign(value)
        return self.model

    def _fit(self, model, x, y, epochs=None):
        """Train through :func:`fercourse.train.fit`; a small set is repeated to give ``min_steps`` steps."""
        from . import train

        epochs = self.epochs if epochs is None else epochs
        batch = min(self.batch_size, len(y))
        steps = epochs * math.ceil(len(y) / batch)
        if steps < self.min_steps:
            # Repeating the faces rather than adding epochs: the same steps, without Keras's per-epoch cost.
            reps = math.ceil(self.min_steps / steps)
            x, y = np.concatenate([x] * reps), np.concatenate([y] * reps)
            batch = min(self.batch_size, len(y))
        return train.fit(model, (x, y), epochs=epochs, batch_size=batch, augment=self.augment,
                         lr_schedule=None, early_stopping=False, verbose=0, seed=self.seed)

    def __call__(self, x_train, y_train, x_test, num_classes=None):
        from . import evaluate

        k = _num_classes(y_train, num_classes)
        model = self._ready(k)
        self._start_head(model, x_train, y_train, k)
        self._fit(model, x_train, y_train)
        return evaluate.predict_proba(model, x_test)

    def _start_head(self, model, x_train, y_train, num_classes):
        """Where the head starts before training: as built (a method may start it elsewhere)."""

    def __repr__(self):
        return f"{type(self).__name__}(epochs={self.epochs}, min_steps={self.min_steps}, batch_size={self.batch_size})"


class AsIs:
    """The source network applied unchanged (no target labels used): its own class probabilities.

    ``class_map[j]`` is the target class of the source's output ``j`` (None drops it), for a
    source whose classes differ from the target's; by default they are the same.
    """

    name = "as is"

    def __init__(self, source, class_map=None):
        self.source, self.class_map = source, class_map

    def __call__(self, x_train, y_train, x_test, num_classes=None):
        from . import evaluate

        probs = evaluate.predict_proba(self.source, x_test)
        if self.class_map is None:
            return probs
        k = int(num_classes if num_classes is not None else max(c for c in self.class_map if c is not None) + 1)
        out = np.zeros((len(probs), k), np.float32)
        for j, c in enumerate(self.class_map):
            if c is not None:
                out[:, c] += probs[:, j]
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12)


class FrozenTrunk(_Trained):
    """Breuer & Kimmel's transfer: the source's trunk frozen, a new head trained on the target faces."""

    name = "frozen trunk + new head"

    def __init__(self, source, *, layer=None, learning_rate=1e-3, dropout=0.0, **kw):
        super().__init__(**kw)
        self.source, self.layer, self.learning_rate, self.dropout = source, layer, learning_rate, dropout

    def build(self, num_classes):
        return frozen_trunk(self.source, num_classes, layer=self.layer, dropout=self.dropout,
                            learning_rate=self.learning_rate)


class FineTune(_Trained):
    """Fine-tuning: a new head started from a linear probe, then the trunk unfrozen from ``from_layer``
    and everything trained at a low learning rate.

    Starting the head from the probe's solution (linear probing, then fine-tuning) matters
    with few faces: a randomly started head would pull the trunk's features wherever its first
    errors point before it has learnt anything.
    """

    name = "fine-tuned"

    def __init__(self, source, *, from_layer=None, layer=None, learning_rate=1e-4, C=1.0, **kw):
        super().__init__(**kw)
        self.source, self.from_layer, self.layer = source, from_layer, layer
        self.learning_rate, self.C = learning_rate, C

    def build(self, num_classes):
        model = frozen_trunk(self.source, num_classes, layer=self.layer)
        return unfreeze(model, self.from_layer, learning_rate=self.learning_rate)

    def _start_head(self, model, x_train, y_train, num_classes):
        probe = linear_probe(features(model, x_train), y_train, C=self.C)
        head_from_probe(model, probe, num_classes)


class FromScratch(_Trained):
    """The baseline: the same kind of network trained on the target faces alone.

    ``builder`` is a function ``builder(input_shape=..., num_classes=...)`` returning a compiled
    ``keras.Model`` (e.g. ``fercourse.models.compact``); ``input_shape`` defaults to the faces'.
    """

    name = "from scratch"

    def __init__(self, builder, *, input_shape=(48, 48, 1), **kw):
        super().__init__(**kw)
        self.builder, self.input_shape = builder, tuple(input_shape)

    def build(self, num_classes):
        return self.builder(input_shape=self.input_shape, num_classes=num_classes)


class LinearProbe:
    """A linear probe (:func:`linear_probe`) on the source's frozen features (:func:`features`).

    With ``source=None`` the inputs are taken to be features already, one row per face -- for
    probing the same faces fold after fold without running the network again, or for features
    of another kind (raw pixels, HOG).
    """

    name = "linear probe"

    def __init__(self, source=None, *, layer=None, pool=None, C=1.0):
        self.source, self.layer, self.pool, self.C = source, layer, pool, C

    def _features(self, x):
        if self.source is None:
            return np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        return features(self.source, x, self.layer, pool=self.pool)

    def __call__(self, x_train, y_train, x_test, num_classes=None):
        probe = linear_probe(self._features(x_train), y_train, C=self.C)
        p = probe.predict_proba(self._features(x_test))
        out = np.zeros((len(p), _num_classes(y_train, num_classes)), np.float32)
        out[:, probe.classes_] = p
        return out


# --------------------------------------------------------------------------- cross-validation
@dataclass
class CVResult:
    """What :func:`cross_validate` measured.

    Attributes
    ----------
    method : the method's name.
    folds : a pandas DataFrame, one row per fold: ``n_train``, ``n_test``, ``accuracy``,
        ``macro_f1``, ``uar``.
    pooled : :func:`fercourse.evaluate.report` of all folds' test predictions together.
    y_true, probs : the test labels and predicted probabilities of all folds, concatenated.
    test_index : the index (into the data passed in) of each row of ``y_true``.
    settings : how the folds were made: ``folds``, ``n_splits``, ``n_per_class``.
    """

    method: str
    folds: object
    pooled: dict
    y_true: np.ndarray
    probs: np.ndarray
    test_index: np.ndarray
    settings: dict = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        """Pooled accuracy: correct test faces over all test faces of all folds."""
        return self.pooled["accuracy"]

    @property
    def fold_mean(self) -> float:
        """The folds' accuracies averaged (each fold counts once, whatever its size)."""
        return float(self.folds["accuracy"].mean())

    @property
    def fold_std(self) -> float:
        """The folds' accuracies' sample standard deviation (0 for one fold)."""
        return float(self.folds["accuracy"].std(ddof=1)) if len(self.folds) > 1 else 0.0

    def __repr__(self):
        return (f"CVResult({self.method!r}: pooled accuracy {self.accuracy:.3f}, folds "
                f"{self.fold_mean:.3f} +- {self.fold_std:.3f} over {len(self.folds)}, {self.settings})")


def _folds(folds, y, subjects, n_splits, seed):
    if isinstance(folds, str):
        if folds not in FOLDS:
            raise ValueError(f"folds={folds!r}: use one of {', '.join(FOLDS)}, or a list of (train, test) index pairs")
        if folds == "subject":
            from .datasets import subject_kfold

            if subjects is None:
                raise ValueError("subject-independent folds need subjects (one id per face); got None")
            subjects = np.asarray(subjects)
            if len(subjects) != len(y):
                raise ValueError(f"subjects has {len(subjects)} entries for {len(y)} faces")
            return subject_kfold(subjects, n_splits=n_splits, seed=seed)
        from sklearn.model_selection import StratifiedKFold

        counts = np.bincount(y)
        if n_splits > counts[counts > 0].min():
            from sklearn.model_selection import KFold

            splitter = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
        else:
            splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))
    pairs = [(np.asarray(tr, dtype=int), np.asarray(te, dtype=int)) for tr, te in folds]
    for i, (tr, te) in enumerate(pairs):
        if len(tr) == 0 or len(te) == 0:
            raise ValueError(f"fold {i} has an empty training or test part")
        if min(tr.min(), te.min()) < 0 or max(tr.max(), te.max()) >= len(y):
            raise ValueError(f"fold {i} holds indices outside 0..{len(y) - 1}")
    return pairs


def cross_validate(method, images, labels, subjects=None, *, folds="subject", n_splits: int = 10,
                   n_per_class: int | None = None, class_names=None, seed: int | None = None,
                   verbose: bool = False) -> CVResult:
    """k-fold cross-validation of a transfer method (or any ``method(x_train, y_train, x_test)``).

    Parameters
    ----------
    method : :class:`AsIs`, :class:`FrozenTrunk`, :class:`FineTune`, :class:`FromScratch`,
        :class:`LinearProbe`, or any callable ``method(x_train, y_train, x_test, num_classes=k)``
        returning ``(len(x_test), k)`` class probabilities.
    images, labels : the target faces ``(N, H, W)`` and their integer labels.
    subjects : one subject id per face (needed for ``folds="subject"``).
    folds : ``"subject"`` (default: :func:`fercourse.datasets.subject_kfold`, no subject on both
        sides of a fold), ``"random"`` (stratified by class, subjects ignored -- the leaky
        protocol), or a list of ``(train_index, test_index)`` pairs (e.g. one official split
        repeated, each repeat drawing another ``n_per_class`` sample).
    n_splits : folds for ``"subject"`` / ``"random"``.
    n_per_class : train on at most this many faces per class of each fold's training part
        (:func:`per_class_sample`, drawn anew for each fold); None uses them all.
    class_names : the classes (default: ``0..max label``); sets ``k``.
    seed : folds and samples (default :func:`fercourse.config.seed`).

    Returns
    -------
    :class:`CVResult` with a row per fold and the pooled report of all test predictions.
    """
    import pandas as pd

    from . import evaluate

    x = np.asarray(images)
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"labels must be one integer per image ({len(x)}); got shape {y.shape}")
    if len(y) and y.min() < 0:
        raise ValueError("labels must be >= 0; drop unlabelled faces first (e.g. data.select(data.labels >= 0))")
    seed = config.seed() if seed is None else int(seed)
    names = list(class_names) if class_names is not None else [str(i) for i in range(int(y.max()) + 1)]
    k = len(names)
    pairs = _folds(folds, y, subjects, n_splits, seed)
    rows, all_true, all_probs, all_index = [], [], [], []
    for i, (tr, te) in enumerate(pairs):
        tr = tr[per_class_sample(y[tr], n_per_class, seed=seed + i)]
        probs = np.asarray(method(x[tr], y[tr], x[te], num_classes=k), dtype=np.float32)
        if probs.shape != (len(te), k):
            raise ValueError(f"{getattr(method, 'name', method)} returned probabilities of shape {probs.shape}; "
                             f"expected {(len(te), k)}")
        pred = probs.argmax(axis=1)
        rows.append({"fold": i + 1, "n_train": len(tr), "n_test": len(te),
                     "accuracy": evaluate.accuracy(y[te], pred), "macro_f1": evaluate.macro_f1(y[te], pred, k),
                     "uar": evaluate.uar(y[te], pred, k)})
        if verbose:
            print(f"  {getattr(method, 'name', 'method')}: fold {i + 1}/{len(pairs)} accuracy {rows[-1]['accuracy']:.3f}")
        all_true.append(y[te])
        all_probs.append(probs)
        all_index.append(te)
    y_true, probs = np.concatenate(all_true), np.concatenate(all_probs)
    return CVResult(method=getattr(method, "name", type(method).__name__), folds=pd.DataFrame(rows).set_index("fold"),
                    pooled=evaluate.report(y_true, probs, names), y_true=y_true, probs=probs,
                    test_index=np.concatenate(all_index),
                    settings={"folds": folds if isinstance(folds, str) else "given", "n_splits": len(pairs),
                              "n_per_class": n_per_class})
