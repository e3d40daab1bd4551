"""Training: one call that trains a model on a dataset under the active profile.

:func:`fit` wraps ``model.fit`` with what every chapter needs:

- an input pipeline on NumPy arrays (a :class:`keras.utils.PyDataset`), with augmentation
  (flip, small rotation, shift and zoom, by Keras preprocessing layers or in OpenCV) applied
  batch by batch;
- optional class weights (``class_weight="balanced"``), given to Keras as sample weights;
- a learning-rate schedule (linear warm-up, then cosine decay);
- early stopping on the validation split (FER2013's PublicTest), keeping the best weights;
- a checkpoint every epoch, with **resume**: a run that is killed and started again with the
  same ``run_dir`` continues from its last finished epoch, weights and optimiser state included;
- the history, the checkpoint and ``metrics.json`` in one folder per run, each file written
  atomically (a temporary file in the same folder, then :func:`os.replace`);
- Keras's progress bar, and the course's seed.

:func:`train_named` is the one command for a full run: ``fercourse train vgg_bn`` calls it.
It can be killed at any time and run again; it continues where it stopped.

Models take pixel values 0..255 (they rescale inside, see :mod:`fercourse.models`), so the
pipeline hands them ``float32`` arrays of shape ``(batch, H, W, 1)`` straight from the
``uint8`` images of :class:`~fercourse.datasets.FaceData`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config

__all__ = [
    "TrainResult", "fit", "train_named", "batches", "augmentation", "RandomFlipNumpy", "class_weights",
    "warmup_cosine", "stratified_subset", "default_run_dir", "RECIPES",
]

STATE_FILE = "state.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
METRICS_FILE = "metrics.json"
BEST_WEIGHTS = "best.weights.h5"
CHECKPOINT_GLOB = "checkpoint-epoch*.keras"


# --------------------------------------------------------------------------- results
@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : the trained model (the one passed in, holding the best weights when
        early stopping kept them).
    history : per-epoch values, ``{"loss": [...], "val_accuracy": [...], "lr": [...], ...}``,
        over the whole run, resumed parts included.
    epochs : epochs finished in the whole run.
    initial_epoch : the epoch this call started from (0 for a fresh run, more after a resume).
    best_epoch : the (1-based) epoch whose weights the model holds, or None without validation.
    stopped_early : whether early stopping ended the run.
    seconds : wall-clock seconds of training in this call.
    run_dir : the run's folder, or None when nothing was written.
    metrics : the contents of ``metrics.json`` (filled in by :func:`train_named` with test scores).
    """

    model: object
    history: dict
    epochs: int
    initial_epoch: int
    best_epoch: int | None
    stopped_early: bool
    seconds: float
    run_dir: Path | None
    metrics: dict = field(default_factory=dict)

    @property
    def resumed(self) -> bool:
        return self.initial_epoch > 0

    def __repr__(self) -> str:
        best = "" if self.best_epoch is None else f", best_epoch={self.best_epoch}"
        return (f"TrainResult(model={getattr(self.model, 'name', '?')!r}, epochs={self.epochs}, "
                f"initial_epoch={self.initial_epoch}{best}, stopped_early={self.stopped_early}, "
                f"seconds={self.seconds:.1f}, run_dir={str(self.run_dir) if self.run_dir else None!r})")


# --------------------------------------------------------------------------- atomic files
def _atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, obj) -> None:
    _atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def _write_history(run_dir: Path, history: dict) -> None:
    _write_json(run_dir / HISTORY_JSON, history)
    keys = list(history)
    rows = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["epoch", *keys])
    for i in range(rows):
        writer.writerow([i + 1, *[history[k][i] if i < len(history[k]) else "" for k in keys]])
    _atomic_write_text(run_dir / HISTORY_CSV, buf.getvalue())


def _save_model_atomic(model, path: Path) -> None:
    # Keras picks the format from the suffix, so the temporary name keeps ".keras" / ".weights.h5".
    path = Path(path)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else ".keras"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name[: -len(suffix)]}{suffix}")
    if suffix == ".keras":
        model.save(tmp)
    else:
        model.save_weights(tmp)
    os.replace(tmp, path)


# --------------------------------------------------------------------------- pipeline pieces
def augmentation(kind="standard", seed=None):
    """The augmentation as Keras preprocessing layers (a ``keras.Sequential``), or None.

    ``"standard"`` (or True): horizontal flip, rotation up to +-10 degrees, shift up to 10 %
    and zoom up to 10 % -- faces stay faces.  ``"light"``: flip and shift only (cheaper).
    ``"flip"``: a random horizontal flip done in NumPy, nearly free -- for short runs, where
    the network is still underfitting and geometric jitter slows learning more than it helps.
    ``"affine"``: the same flip, rotation, shift and zoom as ``"standard"``, drawn per face and
    done as one OpenCV warp per face (:class:`RandomAffineCV`) -- the full profile's choice: it
    costs about a millisecond per batch on any backend, where Keras's layers, run eagerly batch
    by batch, take tens of milliseconds and would starve a GPU.
    ``"none"`` / False / None: no augmentation.  A Keras layer or any callable
    ``f(batch, training=True) -> batch`` is returned as it is.
    """
    import keras
    from keras import layers

    if kind is None or kind is False or kind == "none":
        return None
    if callable(kind) and not isinstance(kind, str):
        return kind
    if kind is True:
        kind = "standard"
    seed = config.seed() if seed is None else seed
    if kind == "flip":
        return RandomFlipNumpy(seed)
    if kind == "affine":
        return RandomAffineCV(seed=seed)
    if kind == "light":
        stack = [layers.RandomFlip("horizontal", seed=seed),
                 layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 1)]
    elif kind == "standard":
        stack = [layers.RandomFlip("horizontal", seed=seed),
                 layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed + 1),
                 layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 2),
                 layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 3)]
    else:
        raise ValueError(f"augment={kind!r} is not known; use 'standard', 'affine', 'light', 'flip', 'none', "
                         "True/False or a Keras layer")
    return keras.Sequential(stack, name=f"augment_{kind}")


class RandomFlipNumpy:
    """Mirror each image of a batch ``(N, H, W[, C])`` left-right with probability 1/2.

    The whole augmentation for short CPU runs: a flipped face is still a face of the same
    expression, and flipping a view costs nothing next to a Keras image transform.
    """

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch, training=True):
        batch = np.asarray(batch)
        if not training:
            return batch
        if batch.ndim not in (3, 4):
            raise ValueError(f"RandomFlipNumpy takes images (N, H, W) or (N, H, W, C); got shape {batch.shape}")
        flip = self.rng.random(len(batch)) < 0.5
        out = batch.copy()
        out[flip] = batch[flip, :, ::-1]
        return out


class RandomAffineCV:
    """Flip, rotate, shift and zoom each face of a batch ``(N, H, W[, C])`` at random, in OpenCV.

    Each face gets its own rotation (up to ``rotation`` degrees either way), zoom (a factor
    within ``1 +- zoom``), shift (up to ``shift`` of the side, each axis) and, with probability
    1/2, a mirror; the three geometric ones are composed into one affine matrix, so a face is
    resampled once.  Pixels drawn in from outside repeat the border (Keras's
    ``fill_mode="nearest"``), so no black wedges appear that a network could learn.
    ``erase`` is the chance that a face also loses a random rectangle (a tenth to two fifths
    of each side) to its mean grey -- random erasing, which makes a network look at more
    than one part of the face.
    """

    def __init__(self, rotation=10.0, shift=0.1, zoom=0.1, flip=True, erase=0.0, seed=0):
        for name, value in (("rotation", rotation), ("shift", shift), ("zoom", zoom)):
            if not value >= 0:
                raise ValueError(f"RandomAffineCV: {name} must be >= 0; got {value!r}")
        if zoom >= 1:
            raise ValueError(f"RandomAffineCV: zoom must be below 1 (a factor within 1 +- zoom); got {zoom!r}")
        if not 0 <= erase <= 1:
            raise ValueError(f"RandomAffineCV: erase is a probability in [0, 1]; got {erase!r}")
        self.rotation, self.shift, self.zoom, self.flip = float(rotation), float(shift), float(zoom), bool(flip)
        self.erase = float(erase)
        self.rng = np.random.default_rng(seed)

    def __call__(self, batch, training=True):
        import cv2

        batch = np.asarray(batch)
        if not training:
            return batch
        if batch.ndim not in (3, 4) or (batch.ndim == 4 and batch.shape[-1] != 1):
            raise ValueError(f"RandomAffineCV takes images (N, H, W) or (N, H, W, 1); got shape {batch.shape}")
        n, h, w = batch.shape[:3]
        angles = self.rng.uniform(-self.rotation, self.rotation, n)
        scales = self.rng.uniform(1 - self.zoom, 1 + self.zoom, n)
        shifts = self.rng.uniform(-self.shift, self.shift, (n, 2)) * (w, h)
        mirror = self.rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        # OpenCV warps float32 and uint8 alike; float64 would be slower for no gain.
        src = batch.reshape(n, h, w).astype(np.float32, copy=False)
        out = np.empty_like(src)
        centre = ((w - 1) / 2, (h - 1) / 2)
        for i in range(n):
            m = cv2.getRotationMatrix2D(centre, angles[i], scales[i])
            m[:, 2] += shifts[i]
            out[i] = cv2.warpAffine(src[i], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[mirror] = out[mirror, :, ::-1]
        # No draw at all without erasing, so that erase=0 replays the same faces as before it existed.
        for i in (np.flatnonzero(self.rng.random(n) < self.erase) if self.erase else ()):
            eh, ew = (self.rng.uniform(0.1, 0.4, 2) * (h, w)).astype(int) + 1
            top, left = self.rng.integers(0, h - eh + 1), self.rng.integers(0, w - ew + 1)
            out[i, top:top + eh, left:left + ew] = out[i].mean()
        if np.issubdtype(batch.dtype, np.integer):  # round, not truncate, back to whole grey levels
            info = np.iinfo(batch.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        return out.reshape(batch.shape).astype(batch.dtype, copy=False)


def class_weights(labels, num_classes=None, kind="balanced"):
    """Per-class weights ``n / (k * n_c)`` (scikit-learn's "balanced"), as an array of length k.

    A class absent from ``labels`` gets weight 0 (nothing to weigh).
    """
    labels = np.asarray(labels)
    k = int(num_classes if num_classes is not None else labels.max() + 1)
    if kind != "balanced":
        raise ValueError(f"class_weight={kind!r} is not known; use 'balanced', a dict or an array")
    counts = np.bincount(labels, minlength=k).astype(float)
    weights = np.zeros(k)
    present = counts > 0
    weights[present] = len(labels) / (present.sum() * counts[present])
    return weights


def _class_weight_array(class_weight, labels, num_classes):
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        return class_weights(labels, num_classes, class_weight)
    if isinstance(class_weight, dict):
        w = np.ones(num_classes)
        for c, v in class_weight.items():
            if not 0 <= int(c) < num_classes:
                raise ValueError(f"class_weight names class {c}; classes are 0..{num_classes - 1}")
            w[int(c)] = float(v)
        return w
    w = np.asarray(class_weight, dtype=float)
    if w.shape != (num_classes,):
        raise ValueError(f"class_weight must have one weight per class ({num_classes}); got shape {w.shape}")
    return w


def warmup_cosine(total_steps, base_lr, warmup=0.1, final_fraction=0.0):
    """Linear warm-up over the first ``warmup`` fraction of steps, then cosine decay.

    A :class:`keras.optimizers.schedules.CosineDecay` (so it is saved with the model and a
    resumed run continues the same curve from the optimiser's step count).
    """
    import keras

    total_steps = max(int(total_steps), 1)
    warmup_steps = int(round(warmup * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else base_lr,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=base_lr if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def stratified_subset(x, y, n, seed=None):
    """``n`` images drawn without replacement, keeping the class proportions; returns ``(x, y)``."""
    x, y = np.asarray(x), np.asarray(y)
    if n is None or n >= len(y):
        return x, y
    if n < 1:
        raise ValueError(f"n must be a positive number of images; got {n}")
    rng = np.random.default_rng(config.seed() if seed is None else seed)
    classes, counts = np.unique(y, return_counts=True)
    # Largest-remainder rounding so the parts add up to exactly n.
    exact = counts * n / len(y)
    take = np.floor(exact).astype(int)
    take[np.argsort(exact - take)[::-1][: n - take.sum()]] += 1
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), t, replace=False) for c, t in zip(classes, take)])
    idx = np.sort(idx)
    return x[idx], y[idx]


def _as_batch_images(x, name):
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{name} must be images (N, H, W) or (N, H, W, C); got shape {x.shape}")
    return x


_BATCHES_CLASS = None  # built on first use, so that importing this module does not import Keras


def _make_batches_class():
    import keras

    class _Batches(keras.utils.PyDataset):
        """Shuffled, augmented batches from NumPy arrays.

        Images stay ``uint8`` in memory and become ``float32`` batch by batch.  Each epoch
        is shuffled from ``seed + epoch``, so a resumed run sees the same order it would
        have seen without the interruption.
        """

        def __init__(self, x, y, batch_size, *, shuffle=True, augment=None, sample_weights=None,
                     seed=0, start_epoch=0, workers=1, **kwargs):
            super().__init__(workers=workers, use_multiprocessing=False, **kwargs)
            self.x = _as_batch_images(x, "x")
            self.y = np.asarray(y)
            if len(self.x) != len(self.y):
                raise ValueError(f"x has {len(self.x)} images but y has {len(self.y)} labels")
            if len(self.y) == 0:
                raise ValueError("no training images")
            self.batch_size = int(batch_size)
            self.shuffle = shuffle
            self.augment = augment
            self.sample_weights = sample_weights
            self.seed = seed
            self.epoch = start_epoch
            self._order()

        def _order(self):
            n = len(self.y)
            self.order = (np.random.default_rng(self.seed + self.epoch).permutation(n)
                          if self.shuffle else np.arange(n))

        def __len__(self):
            return math.ceil(len(self.y) / self.batch_size)

        def __getitem__(self, i):
            idx = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
            xb = self.x[idx].astype("float32")
            if self.augment is not None:
                import keras

                xb = keras.ops.convert_to_numpy(self.augment(xb, training=True))
            yb = self.y[idx]
            if self.sample_weights is not None:
                return xb, yb, self.sample_weights[idx]
            return xb, yb

        def on_epoch_end(self):
            self.epoch += 1
            self._order()

    return _Batches


def _batches_cls():
    global _BATCHES_CLASS
    if _BATCHES_CLASS is None:
        _BATCHES_CLASS = _make_batches_class()
    return _BATCHES_CLASS


def batches(x, y, batch_size, *, shuffle=True, augment=None, sample_weights=None, seed=0, start_epoch=0):
    """The training pipeline: a ``keras.utils.PyDataset`` of shuffled, augmented batches.

    ``x`` are ``uint8`` images ``(N, H, W)`` or ``(N, H, W, C)``, kept as they are in memory and
    turned into ``float32`` batch by batch; ``augment`` is a Keras layer (see :func:`augmentation`)
    applied to each batch; ``sample_weights`` (one per image) are returned as the third element.
    """
    return _batches_cls()(x, y, batch_size, shuffle=shuffle, augment=augment, sample_weights=sample_weights,
                          seed=seed, start_epoch=start_epoch)


# --------------------------------------------------------------------------- optimiser plumbing
def _base_lr(optimizer):
    import keras

    lr = optimizer.get_config()["learning_rate"]
    if isinstance(lr, dict):  # a schedule: start from its initial (or warm-up target) rate
        sched = keras.saving.deserialize_keras_object(lr)
        cfg = sched.get_config()
        return float(cfg.get("warmup_target") or cfg.get("initial_learning_rate"))
    return float(lr)


def _recompile_with_schedule(model, schedule):
    """Same optimiser class and settings, same loss and metrics, new learning-rate schedule."""
    import keras

    opt_cfg = model.optimizer.get_config()
    opt_cfg["learning_rate"] = schedule
    optimizer = type(model.optimizer).from_config(opt_cfg)
    cfg = model.get_compile_config() or {}

    def _de(obj):
        if isinstance(obj, dict) and "class_name" in obj:
            return keras.saving.deserialize_keras_object(obj)
        if isinstance(obj, list):
            return [_de(o) for o in obj]
        return obj

    model.compile(optimizer=optimizer, loss=_de(cfg.get("loss", "sparse_categorical_crossentropy")),
                  metrics=_de(cfg.get("metrics", ["accuracy"])))


def _restore_from_checkpoint(model, path: Path) -> None:
    """Load weights and optimiser state (step count, moments) from a ``.keras`` checkpoint."""
    import keras

    saved = keras.saving.load_model(path, compile=True)
    if len(saved.weights) != len(model.weights) or any(
        a.shape != b.shape for a, b in zip(saved.weights, model.weights)
    ):
        raise ValueError(
            f"the checkpoint {path} holds a different architecture ({saved.name}) from the model "
            f"being trained ({model.name}); use another run_dir or resume=False"
        )
    model.set_weights(saved.get_weights())
    model.optimizer.build(model.trainable_variables)
    src, dst = saved.optimizer.variables, model.optimizer.variables
    if len(src) != len(dst):
        raise ValueError(
            f"the checkpoint {path} was trained with another optimiser "
            f"({type(saved.optimizer).__name__}, {len(src)} variables) than the model's "
            f"({type(model.optimizer).__name__}, {len(dst)}); use another run_dir or resume=False"
        )
    for d, s in zip(dst, src):
        d.assign(s)


def _latest_checkpoint(run_dir: Path, state: dict):
    name = state.get("checkpoint")
    if name and (run_dir / name).is_file():
        return run_dir / name
    return None


# --------------------------------------------------------------------------- the recorder
def _make_recorder(run_dir, state, history, monitor, mode, patience):
    import keras

    class RunRecorder(keras.callbacks.Callback):
        """History, best weights, early stopping and the per-epoch checkpoint, in one place.

        The order of writes makes ``state.json`` the commit point: the checkpoint of epoch k
        is complete on disk before the state names it, and only then is epoch k-1's removed.
        """

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["seconds"] = time.perf_counter() - self.t0
            for k, v in logs.items():
                history.setdefault(k, []).append(float(v))
            state["epoch"] = epoch + 1
            value = logs.get(monitor)
            if value is not None:
                better = (state["best_value"] is None
                          or (value > state["best_value"] if mode == "max" else value < state["best_value"]))
                if better:
                    state.update(best_value=float(value), best_epoch=epoch + 1, wait=0)
                    if run_dir is not None:
                        _save_model_atomic(self.model, run_dir / BEST_WEIGHTS)
                    else:
                        state["_best_weights"] = self.model.get_weights()
                else:
                    state["wait"] += 1
                    if patience is not None and state["wait"] >= patience:
                        state["stopped_early"] = True
                        self.model.stop_training = True
            if run_dir is not None:
                old = _latest_checkpoint(run_dir, state)
                ckpt = run_dir / f"checkpoint-epoch{epoch + 1:03d}.keras"
                _save_model_atomic(self.model, ckpt)
                state["checkpoint"] = ckpt.name
                _write_history(run_dir, history)
                _write_json(run_dir / STATE_FILE, {k: v for k, v in state.items() if not k.startswith("_")})
                if old is not None and old != ckpt:
                    old.unlink(missing_ok=True)

    return RunRecorder()


# --------------------------------------------------------------------------- fit
def _split_data(data):
    from .datasets import FaceData

    if isinstance(data, FaceData):
        x_tr, y_tr = data.split("Training")
        x_va, y_va = data.split("PublicTest")
        if len(y_tr) == 0:
            raise ValueError(f"{data.name} has no 'Training' split; pass (x_train, y_train, x_val, y_val)")
        return x_tr, y_tr, (x_va if len(y_va) else None), (y_va if len(y_va) else None), len(data.class_names)
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        x_tr, y_tr = data[0], np.asarray(data[1])
        x_va, y_va = (data[2], np.asarray(data[3])) if len(data) == 4 else (None, None)
        if len(x_tr) != len(y_tr):
            raise ValueError(f"x_train has {len(x_tr)} images but y_train has {len(y_tr)} labels")
        if x_va is not None and len(x_va) != len(y_va):
            raise ValueError(f"x_val has {len(x_va)} images but y_val has {len(y_va)} labels")
        return x_tr, y_tr, x_va, y_va, None
    raise TypeError("data must be a FaceData or a tuple (x_train, y_train, x_val, y_val); "
                    f"got {type(data).__name__}")


def _check_model_inputs(model, x, name):
    want = tuple(model.input_shape[1:])
    got = tuple(_as_batch_images(x[:1], name).shape[1:])
    if any(w is not None and w != g for w, g in zip(want, got)) or len(want) != len(got):
        raise ValueError(f"{model.name} takes images of shape {want}; {name} has images of shape {got}")


def fit(model, data, *, run_dir=None, epochs=None, batch_size=None, augment=True, class_weight=None,
        lr_schedule="warmup_cosine", warmup=0.1, early_stopping=True, patience=None,
        monitor="val_accuracy", resume=True, verbose="auto", seed=None, callbacks=None) -> TrainResult:
    """Train ``model`` on ``data`` under the active profile; returns a :class:`TrainResult`.

    Parameters
    ----------
    model : a compiled ``keras.Model`` taking 0..255 pixels (as :mod:`fercourse.models` build);
        an uncompiled one is compiled with AdamW at 1e-3.
    data : a :class:`~fercourse.datasets.FaceData` (trains on ``Training``, validates and stops
        early on ``PublicTest``) or a tuple ``(x_train, y_train, x_val, y_val)`` of image
        arrays ``(N, H, W)`` or ``(N, H, W, 1)`` and integer labels (``(x, y)`` alone trains
        without validation).
    run_dir : folder for the checkpoint, history, best weights and ``metrics.json``; None
        writes nothing (and cannot resume).
    epochs, batch_size : default by profile (quick 3 / 128, full 60 / 64).
    augment : ``True``/``"standard"``, ``"light"``, ``False`` or a Keras layer; see :func:`augmentation`.
    class_weight : None, ``"balanced"``, a dict ``{class: weight}`` or an array of weights.
    lr_schedule : ``"warmup_cosine"`` (linear warm-up over ``warmup`` of the steps, then cosine
        decay from the optimiser's learning rate), ``None`` to keep the optimiser exactly as the
        model was compiled (a work's own schedule), or a Keras ``LearningRateSchedule``.
    early_stopping, patience, monitor : stop when ``monitor`` has not improved for ``patience``
        epochs (default: a quarter of the epochs, at least 3), and end with the best weights.
    resume : continue a run found in ``run_dir`` (weights, optimiser state, history, epoch);
        False starts afresh, overwriting it.
    verbose : passed to ``model.fit`` (``"auto"`` shows Keras's progress bar).
    seed : the seed (default :func:`fercourse.config.seed`).
    callbacks : further Keras callbacks.
    """
    import keras

    seed = config.seed() if seed is None else int(seed)
    config.seed_everything(seed)
    epochs = int(config.by_profile(quick=3, full=60) if epochs is None else epochs)
    batch_size = int(config.by_profile(quick=128, full=64) if batch_size is None else batch_size)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive; got epochs={epochs}, batch_size={batch_size}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}")

    x_tr, y_tr, x_va, y_va, k = _split_data(data)
    num_classes = int(model.output_shape[-1])
    for name, y in (("y_train", y_tr), ("y_val", y_va)):
        if y is not None and len(y) and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(f"{name} holds labels {y.min()}..{y.max()}, but {model.name} has "
                             f"{num_classes} outputs (labels 0..{num_classes - 1})")
    if k is not None and k != num_classes:
        raise ValueError(f"the data has {k} classes but {model.name} has {num_classes} outputs")
    _check_model_inputs(model, x_tr, "x_train")
    has_val = x_va is not None and len(x_va) > 0
    if has_val:
        _check_model_inputs(model, x_va, "x_val")
    if not has_val and monitor.startswith("val_"):
        monitor = monitor[4:]
    mode = "min" if "loss" in monitor else "max"
    if patience is None:
        patience = max(3, epochs // 4)
    patience = patience if early_stopping else None

    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    steps = math.ceil(len(y_tr) / batch_size)
    if lr_schedule == "warmup_cosine":
        _recompile_with_schedule(model, warmup_cosine(epochs * steps, _base_lr(model.optimizer), warmup))
    elif isinstance(lr_schedule, keras.optimizers.schedules.LearningRateSchedule):
        _recompile_with_schedule(model, lr_schedule)
    elif lr_schedule not in (None, "constant", "model"):
        raise ValueError(f"lr_schedule={lr_schedule!r} is not known; use 'warmup_cosine', None "
                         "or a keras LearningRateSchedule")

    # ---- the run folder and, when asked, the state of an earlier run
    state = {"epoch": 0, "epochs": epochs, "batch_size": batch_size, "model": model.name,
             "monitor": monitor, "best_value": None, "best_epoch": None, "wait": 0,
             "stopped_early": False, "done": False, "checkpoint": None, "seed": seed}
    history: dict[str, list] = {}
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        state_path = run_dir / STATE_FILE
        if resume and state_path.is_file():
            old = json.loads(state_path.read_text())
            ckpt = _latest_checkpoint(run_dir, old)
            if old.get("model") not in (None, model.name):
                raise ValueError(f"{run_dir} holds a run of {old.get('model')!r}, not {model.name!r}; "
                                 "use another run_dir or resume=False")
            if ckpt is not None:
                _restore_from_checkpoint(model, ckpt)
                state.update({k: old[k] for k in ("epoch", "best_value", "best_epoch", "wait",
                                                    "stopped_early", "checkpoint") if k in old})
                state["done"] = bool(old.get("done")) and old.get("epochs") == epochs
                if (run_dir / HISTORY_JSON).is_file():
                    history = json.loads((run_dir / HISTORY_JSON).read_text())
        elif not resume:
            for p in [*run_dir.glob(CHECKPOINT_GLOB), state_path, run_dir / BEST_WEIGHTS]:
                p.unlink(missing_ok=True)
    initial_epoch = int(state["epoch"])

    aug = augmentation(augment, seed=seed)
    weights = _class_weight_array(class_weight, y_tr, num_classes)
    sample_w = None if weights is None else weights[y_tr].astype("float32")
    train_batches = batches(x_tr, y_tr, batch_size, augment=aug, sample_weights=sample_w,
                            seed=seed, start_epoch=initial_epoch)
    val = (_as_batch_images(x_va, "x_val").astype("float32"), y_va) if has_val else None

    recorder = _make_recorder(run_dir, state, history, monitor, mode, patience)
    t0 = time.perf_counter()
    finished = state["done"] or state["stopped_early"] or initial_epoch >= epochs
    if not finished:
        model.fit(train_batches, validation_data=val, epochs=epochs, initial_epoch=initial_epoch,
                  callbacks=[recorder, *(callbacks or [])], verbose=verbose)
    seconds = time.perf_counter() - t0

    # ---- end with the best weights, and say the run is complete
    if early_stopping and state["best_epoch"] is not None:
        if run_dir is not None and (run_dir / BEST_WEIGHTS).is_file():
            model.load_weights(run_dir / BEST_WEIGHTS)
        elif "_best_weights" in state:
            model.set_weights(state["_best_weights"])
    state["done"] = True
    metrics = {"model": model.name, "profile": config.profile(), "epochs": state["epoch"],
               "best_epoch": state["best_epoch"], "monitor": monitor, "best_value": state["best_value"],
               "stopped_early": state["stopped_early"], "train_images": int(len(y_tr)),
               "batch_size": batch_size, "seconds_this_call": round(seconds, 2),
               "seconds_total": round(float(np.sum(history.get("seconds", [0.0]))), 2)}
    if run_dir is not None:
        _write_json(run_dir / STATE_FILE, {k: v for k, v in state.items() if not k.startswith("_")})
        _write_history(run_dir, history)
        old_metrics = json.loads((run_dir / METRICS_FILE).read_text()) if (run_dir / METRICS_FILE).is_file() else {}
        _write_json(run_dir / METRICS_FILE, {**old_metrics, **metrics})
    return TrainResult(model=model, history=history, epochs=int(state["epoch"]), initial_epoch=initial_epoch,
                       best_epoch=state["best_epoch"] if early_stopping else None,
                       stopped_early=bool(state["stopped_early"]), seconds=seconds, run_dir=run_dir,
                       metrics=metrics)


# --------------------------------------------------------------------------- the one command
RECIPES = {
    # name: how train_named trains it, per profile.  Epochs are upper bounds: early stopping
    # on PublicTest may end a run sooner.  Full runs augment in OpenCV ("affine"): Keras's
    # layers, run eagerly batch by batch, cannot keep a GPU busy.
    "compact": dict(quick=dict(epochs=5, batch_size=128, augment="flip"),
                    full=dict(epochs=60, batch_size=128, augment="affine")),
    "vgg_bn": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                   full=dict(epochs=100, batch_size=64, augment="affine")),
    "alizadeh_fazel_shallow": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                                   full=dict(epochs=50, batch_size=128, augment="affine")),
    "alizadeh_fazel_deep": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                                full=dict(epochs=60, batch_size=128, augment="affine")),
    "mememoji": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                     full=dict(epochs=60, batch_size=128, augment="affine")),
    # Breuer & Kimmel's own optimiser (Adam 1e-3, decay 1e-5) is kept: lr_schedule=None.
    "breuer_kimmel": dict(quick=dict(epochs=3, batch_size=128, augment="standard", lr_schedule=None),
                          full=dict(epochs=100, batch_size=128, augment="affine", lr_schedule=None,
                                    patience=15)),
}


def default_run_dir(model_name, data_name="data") -> Path:
    """``runs/<model>-<data>-<profile>`` at the course's top (or the working folder).

    The same command gets the same folder, which is what lets a killed run resume.
    """
    root = config.project_root() or Path.cwd()
    return root / "runs" / f"{model_name}-{data_name}-{config.profile()}"


def train_named(model_name, *, data=None, run_dir=None, epochs=None, batch_size=None, verbose="auto"):
    """Build, train (resumably) and test one of the course's models: the full run in one call.

    Loads the course data when ``data`` is None (:func:`fercourse.datasets.load_course_data`),
    trains on Training with early stopping on PublicTest under the active profile's recipe
    (:data:`RECIPES`), evaluates the best weights on PrivateTest, writes ``metrics.json`` to
    the run folder (default :func:`default_run_dir`) and returns the :class:`TrainResult`
    with the test scores in ``result.metrics``.

    Kill it at any time and run the same command again: it continues from the last finished
    epoch, so a long run can be done in slices of a few minutes.
    """
    from . import evaluate, models

    build = models.get_builder(model_name)  # clear error for unknown names, before loading data
    if data is None:
        from .datasets import load_course_data

        data = load_course_data()
    recipe = dict(RECIPES.get(model_name, {}).get(config.profile(), {}))
    epochs = recipe.pop("epochs", None) if epochs is None else (recipe.pop("epochs", None), epochs)[1]
    batch_size = recipe.pop("batch_size", None) if batch_size is None else (recipe.pop("batch_size", None), batch_size)[1]
    config.seed_everything()
    model = build(input_shape=(*data.image_shape, 1), num_classes=len(data.class_names))
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(model_name, data.name)
    result = fit(model, data, run_dir=run_dir, epochs=epochs, batch_size=batch_size, verbose=verbose, **recipe)

    x_test, y_test = data.split("PrivateTest")
    if len(y_test):
        t0 = time.perf_counter()
        probs = evaluate.predict_proba(result.model, x_test)
        rep = evaluate.report(y_test, probs, data.class_names)
        probs_tta = evaluate.mirror_average(result.model, x_test, probs)
        rep_tta = evaluate.report(y_test, probs_tta, data.class_names)
        result.metrics.update({
            "data": data.name, "test_split": "PrivateTest", "test_images": int(len(y_test)),
            **{k: v for k, v in rep.items() if k in ("accuracy", "top2_accuracy", "macro_f1", "uar")},
            "accuracy_flip_tta": rep_tta["accuracy"],
            "per_class_accuracy": rep["per_class"]["accuracy"].round(4).to_dict(),
            "confusion": rep["confusion"].tolist(),
            "test_seconds": round(time.perf_counter() - t0, 2),
            "parameters": int(result.model.count_params()),
        })
    result.metrics["command"] = f"fercourse train {model_name}"
    old = json.loads((run_dir / METRICS_FILE).read_text()) if (run_dir / METRICS_FILE).is_file() else {}
    _write_json(run_dir / METRICS_FILE, {**old, **result.metrics})
    return result
