"""The training loop: one :func:`fit` for every model of the course.

``fit`` is ``model.fit`` with what every chapter needs, for any model: one image input or
several inputs (pixels and HOG), single images or clips of frames, one output or several with
labels missing for part of the faces (a sample weight of 0 per output).

- the input pipeline (:class:`fercourse.batches.ArrayBatches`, every epoch in one pass, read through
  :func:`fercourse.batches.for_fit`) with augmentation and class weights;
- a learning-rate schedule (linear warm-up, then cosine decay);
- early stopping on the validation data, ending with the best epoch's weights;
- **resume**: a run killed at any point and started again with the same ``run_dir`` continues
  from its last finished epoch and ends with the same weights as a run never interrupted --
  weights, optimiser state, batch order, augmentation and dropout draws included;
- the history, state and weights in one folder per run, every file written atomically;
- checks that refuse what cannot be learned (non-finite inputs, labels that are not classes)
  before the first step, and a clear stop when the loss becomes NaN.

Keras's own callbacks do what they can: :class:`keras.callbacks.BackupAndRestore` keeps the
epoch checkpoint (weights and optimiser state, with the previous epoch's as a fallback) and
:class:`keras.callbacks.TerminateOnNaN` stops a diverging run at once.  ``EarlyStopping``,
``ModelCheckpoint`` and ``CSVLogger`` are not used: their state (the best value, the epochs
waited, the rows written) starts again from nothing when a run resumes, and they write files in
place, not atomically.  :class:`_RunLog` does their work from the history on disk instead.

Why one module of about 580 lines, above the package's ~400: everything in it serves
:func:`fit` alone -- checking and conforming the data, the warm-up/cosine schedule, the run
folder and its resume bookkeeping (:class:`_RunLog`) -- and a resumed run ends with the same
weights only while these parts agree, so they are read and changed together.  Augmentation,
batches, sampling and the recipes, which other code uses too, already live apart.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from . import atomic, augment as augment_lib, config, sampling
from .batches import ArrayBatches, for_fit

__all__ = ["TrainResult", "fit", "warmup_cosine", "RunFolderError"]

STATE_FILE = "state.json"
HISTORY_JSON = "history.json"
HISTORY_CSV = "history.csv"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.weights.h5"
"""The weights a run keeps: the best epoch's with early stopping, else the last epoch's."""
BACKUP_DIR = "backup"


class RunFolderError(ValueError):
    """A run folder whose files cannot be trusted; the message says which file and what to do."""


@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : the trained model (the one passed in, holding the kept weights).
    history : per-epoch values, ``{"loss": [...], "val_accuracy": [...], "lr": [...], ...}``,
        over the whole run, resumed parts included.
    epochs : epochs finished in the whole run.
    initial_epoch : the epoch this call started from (0 for a fresh run, more after a resume).
    best_epoch : the (1-based) epoch whose weights the model holds, or None without early stopping.
    stopped_early : whether early stopping ended the run.
    seconds : wall-clock seconds of training in this call.
    run_dir : the run's folder, or None when nothing was written.
    metrics : the contents of ``metrics.json`` (:func:`fercourse.recipes.train_named` adds test scores).
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


# --------------------------------------------------------------------------- data in
@dataclass
class _Part:
    x: object
    y: object
    sample_weight: object = None


def _split_data(data, validation_data):
    """The training part and the validation part (or None) of what ``fit`` was given."""
    from .datasets import FaceData

    if isinstance(data, keras.utils.PyDataset):
        return data, _as_part(validation_data, "validation_data")
    if isinstance(data, FaceData):
        x_tr, y_tr = data.split("Training")
        x_va, y_va = data.split("PublicTest")
        if len(y_tr) == 0:
            raise ValueError(f"{data.name} has no 'Training' split; pass (x_train, y_train, x_val, y_val)")
        val = _Part(x_va, y_va) if len(y_va) else None
        return _Part(x_tr, y_tr), _as_part(validation_data, "validation_data") or val
    if isinstance(data, (tuple, list)) and len(data) == 4:
        if validation_data is not None:
            raise ValueError("give validation data once: in data=(x, y, x_val, y_val) or as validation_data")
        return _Part(data[0], data[1]), _Part(data[2], data[3])
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return _Part(data[0], data[1]), _as_part(validation_data, "validation_data")
    raise TypeError("data must be a FaceData, a tuple (x, y) or (x_train, y_train, x_val, y_val), or a "
                    f"keras.utils.PyDataset; got {type(data).__name__}")


def _as_part(value, name):
    if value is None or isinstance(value, keras.utils.PyDataset):
        return value
    if isinstance(value, (tuple, list)) and len(value) in (2, 3):
        return _Part(*value)
    raise TypeError(f"{name} must be (x, y), (x, y, sample_weight) or a keras.utils.PyDataset; "
                    f"got {type(value).__name__}")


def _tree(value, name):
    """``{label: array}`` for an array or a dict of arrays (labels name them in errors)."""
    if isinstance(value, dict):
        return {f"{name}[{k!r}]": np.asarray(v) for k, v in value.items()}
    return {name: np.asarray(value)}


def _loss_of(model, output_name):
    loss = getattr(model, "loss", None)
    if isinstance(loss, dict):
        loss = loss.get(output_name)
    elif isinstance(loss, (list, tuple)):
        names = list(getattr(model, "output_names", []) or [])
        loss = loss[names.index(output_name)] if output_name in names else None
    return loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__ if loss else "")


def _check_part(model, part, which):
    """Refuse, before the first step, what cannot be learned; say which array and why."""
    if isinstance(part, keras.utils.PyDataset):
        return
    for label, a in _tree(part.x, f"x_{which}").items():
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            bad = np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))
            raise ValueError(f"{label} holds non-finite values (NaN or infinity) in {len(bad)} sample(s), "
                             f"the first at index {bad[0]}; a network cannot learn from them")
    outputs = part.y if isinstance(part.y, dict) else {None: part.y}
    for out, y in outputs.items():
        y = np.asarray(y)
        label = f"y_{which}" if out is None else f"y_{which}[{out!r}]"
        if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
            raise ValueError(f"{label} holds non-finite values (NaN or infinity); mark a missing label "
                             "with any finite value and a sample weight of 0 instead")
        loss = _loss_of(model, out if out is not None else (model.output_names or [None])[0])
        if "sparse_categorical" in str(loss):
            k = int(_output_shape(model, out)[-1])
            if not np.issubdtype(y.dtype, np.integer):
                if not np.array_equal(y, np.round(y)):
                    raise ValueError(f"{label} holds values that are not whole class indices "
                                     f"(e.g. {float(y[y != np.round(y)][0])}); classes are 0..{k - 1}")
            if len(y) and (y.min() < 0 or y.max() >= k):
                raise ValueError(f"{label} holds labels {y.min()}..{y.max()}, but {model.name} has {k} "
                                 f"outputs (labels 0..{k - 1})")


def _output_shape(model, out):
    shapes = model.output_shape
    if isinstance(shapes, dict):
        return shapes[out]
    if isinstance(shapes, list):
        return shapes[0] if out is None else shapes[list(model.output_names).index(out)]
    return shapes


def _conform_inputs(model, part, which):
    """Add the channel axis grey images and clips lack, and check every input's shape."""
    if isinstance(part, keras.utils.PyDataset):
        return
    wanted = {t.name: tuple(t.shape[1:]) for t in model.inputs}
    named = isinstance(part.x, dict)
    xs = part.x if named else {next(iter(wanted)): part.x}
    if len(xs) != len(wanted) or (named and set(xs) != set(wanted)):
        raise ValueError(f"{model.name} takes the inputs {sorted(wanted)}; x_{which} has "
                         f"{sorted(xs) if named else 'one array'}")
    out = {}
    for name, x in xs.items():
        x, want = np.asarray(x), wanted[name]
        if x.ndim == len(want) and want[-1] == 1:
            x = x[..., None]
        got = x.shape[1:]
        label = f"x_{which}[{name!r}]" if named else f"x_{which}"
        if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
            raise ValueError(f"{model.name} takes inputs of shape {want}; {label} has shape {got}")
        out[name] = x
    part.x = out if named else out[next(iter(out))]


# --------------------------------------------------------------------------- the schedule
def warmup_cosine(total_steps, base_lr, warmup=0.1, final_fraction=0.0):
    """Linear warm-up over the first ``warmup`` fraction of steps, then cosine decay.

    A :class:`keras.optimizers.schedules.CosineDecay`: it is a function of the optimiser's step
    count, which the checkpoint keeps, so a resumed run continues the same curve.
    """
    total_steps = max(int(total_steps), 1)
    warmup_steps = int(round(warmup * total_steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else base_lr,
        decay_steps=max(total_steps - warmup_steps, 1),
        alpha=final_fraction,
        warmup_target=base_lr if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def _base_lr(optimizer) -> float:
    lr = optimizer._learning_rate  # the schedule object itself; the public property evaluates it
    if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
        cfg = lr.get_config()
        return float(cfg.get("warmup_target") or cfg.get("initial_learning_rate"))
    return float(keras.ops.convert_to_numpy(lr))


def _set_schedule(model, schedule) -> None:
    # In place: the optimiser keeps its class, settings and variables (so checkpoints of the run
    # still fit it), and the loss and metrics stay exactly as the model was compiled.
    model.optimizer.learning_rate = schedule
    model.train_function = None  # traced with the old rate; trace again


# --------------------------------------------------------------------------- the run folder
def _signature(model) -> list:
    # Shapes only: Keras numbers unnamed layers per process (conv2d_1, conv2d_2, ...).
    return [list(w.shape) for w in model.weights]


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"{what} {path} is damaged ({exc}). Start this run afresh: delete the folder "
                             f"{path.parent} or pass resume=False (the command line: --fresh)") from None


def _backup_epoch(run_dir: Path):
    """The epoch the backup holds (validated), falling back to the previous one when damaged."""
    import h5py

    backup = run_dir / BACKUP_DIR
    weights, meta = backup / "latest.weights.h5", backup / "training_metadata.json"

    def readable(w, m):
        try:
            with h5py.File(w, "r"):
                pass
            return int(json.loads(m.read_text())["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    if not weights.exists():
        return 0
    epoch = readable(weights, meta)
    if epoch is not None:
        return epoch
    prev_w, prev_m = Path(f"{weights}.bkp"), Path(f"{meta}.bkp")
    prev = readable(prev_w, prev_m) if prev_w.exists() else None
    if prev is None:
        raise RunFolderError(f"the checkpoint {weights} is damaged and no earlier one is intact. Start this "
                             f"run afresh: delete the folder {run_dir} or pass resume=False (--fresh)")
    warnings.warn(f"the last checkpoint {weights} is damaged; resuming from the one before it (epoch {prev})",
                  stacklevel=3)
    atomic.write_bytes(weights, prev_w.read_bytes())
    atomic.write_bytes(meta, prev_m.read_bytes())
    return prev


def _open_run(run_dir, model, resume, settings):
    """The run's history so far and its first epoch; None history when the run has finished."""
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic.clean_leftovers(run_dir)
    state_path = run_dir / STATE_FILE
    if not resume or not state_path.is_file():
        for p in (state_path, run_dir / HISTORY_JSON, run_dir / HISTORY_CSV, run_dir / WEIGHTS_FILE):
            p.unlink(missing_ok=True)
        if (run_dir / BACKUP_DIR).is_dir():
            import shutil

            shutil.rmtree(run_dir / BACKUP_DIR)
        atomic.write_json(state_path, {**settings, "done": False})
        return {}, 0
    state = _read_json(state_path, "The run state")
    old_sig, new_sig = state.get("signature"), settings["signature"]
    if old_sig is not None and old_sig != new_sig:
        diff = next(((i, a, b) for i, (a, b) in enumerate(zip(old_sig, new_sig)) if a != b), None)
        where = (f"its weight {diff[0]} ({model.weights[diff[0]].path}) has shape {tuple(diff[1])}, this "
                 f"model's {tuple(diff[2])}" if diff else f"it has {len(old_sig)} weights, this model {len(new_sig)}")
        raise RunFolderError(f"{run_dir} holds a run of another architecture than {model.name!r} ({where}); "
                             "use another run_dir, or resume=False (--fresh) to start afresh")
    changed = {k: (state.get(k), v) for k, v in settings.items()
               if k in ("epochs", "batch_size", "seed", "monitor") and state.get(k) != v}
    if changed:
        raise RunFolderError(f"{run_dir} holds a run with other settings ("
                             + ", ".join(f"{k} {a!r}, now {b!r}" for k, (a, b) in changed.items())
                             + "); continuing it would not be the same run. Use another run_dir, or "
                             "resume=False (the command line: --fresh) to start afresh")
    if state.get("done"):
        return None, int(state.get("epoch", 0))
    history = _read_json(run_dir / HISTORY_JSON, "The run history") if (run_dir / HISTORY_JSON).is_file() else {}
    epoch = _backup_epoch(run_dir)
    history = {k: v[:epoch] for k, v in history.items()}
    atomic.write_json(state_path, {**settings, "done": False})
    return history, epoch


def _write_history(run_dir: Path, history: dict) -> None:
    import csv
    import io

    atomic.write_json(run_dir / HISTORY_JSON, history)
    keys = list(history)
    rows = max((len(v) for v in history.values()), default=0)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["epoch", *keys])
    for i in range(rows):
        writer.writerow([i + 1, *[history[k][i] if i < len(history[k]) else "" for k in keys]])
    atomic.write_text(run_dir / HISTORY_CSV, buf.getvalue())


def best_epoch(history, monitor, mode):
    """The 1-based epoch with the best ``monitor`` value in ``history``, or None."""
    values = [v for v in history.get(monitor, [])]
    finite = [(v if v is not None and math.isfinite(v) else None) for v in values]
    scored = [(v, i) for i, v in enumerate(finite) if v is not None]
    if not scored:
        return None
    pick = max if mode == "max" else min
    # Ties go to the earlier epoch, as Keras's EarlyStopping keeps the first best.
    return pick(scored, key=lambda t: (t[0], -t[1]) if mode == "max" else (t[0], t[1]))[1] + 1


def _reset_seed_generators(model, seed, epoch) -> None:
    # Dropout and other random layers draw from SeedGenerator states that no checkpoint holds;
    # setting them from (seed, epoch) makes each epoch's draws the same whether or not the run
    # was interrupted before it, and whenever the model was built.
    j = 0
    for layer in model._flatten_layers():
        for gen in getattr(layer, "_seed_generators", []):
            state = np.random.default_rng([seed, epoch, j]).integers(0, 2**31 - 1, 2)
            state[1] = 0
            gen.state.assign(state.astype(keras.backend.standardize_dtype(gen.state.dtype)))
            j += 1


class _RunLog(keras.callbacks.Callback):
    """History, early stopping, the kept weights and the per-epoch random state, resume-proof."""

    def __init__(self, run_dir, history, monitor, mode, patience, keep_best, seed, batches):
        super().__init__()
        self.run_dir, self.history, self.monitor, self.mode = run_dir, history, monitor, mode
        self.patience, self.keep_best, self.seed, self.batches = patience, keep_best, seed, batches
        self.kept = None  # in-memory weights when there is no run folder

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()
        if isinstance(self.batches, ArrayBatches) and not self.batches.stream and self.batches.epoch != epoch:
            self.batches.set_epoch(epoch)
        _reset_seed_generators(self.model, self.seed, epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if not math.isfinite(float(logs.get("loss", 0.0))):
            # Raised here, before BackupAndRestore saves this epoch, so no diverged weights reach the
            # checkpoint and the run can be resumed from the last sound epoch with other settings.
            raise FloatingPointError(
                f"training diverged: the loss became {logs.get('loss')} in epoch {epoch + 1}. Lower the "
                "learning rate, or check the inputs and labels; the run folder keeps the epochs before it")
        logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["seconds"] = time.perf_counter() - self.t0
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))
        best = best_epoch(self.history, self.monitor, self.mode)
        if not self.keep_best or best in (None, epoch + 1):
            if self.run_dir is not None:
                atomic.save_model(self.model, self.run_dir / WEIGHTS_FILE)
            elif self.keep_best:  # without early stopping the model ends holding the last epoch's
                self.kept = self.model.get_weights()
        if self.patience is not None and best is not None and epoch + 1 - best >= self.patience:
            self.model.stop_training = True
        if self.run_dir is not None:
            _write_history(self.run_dir, self.history)


# --------------------------------------------------------------------------- fit
def _default_monitor(model, has_val):
    names = list(getattr(model, "output_names", []) or [])
    loss = _loss_of(model, names[0] if names else None)
    single = len(names) <= 1
    metric = "accuracy" if single and "categorical" in str(loss) else "loss"
    return f"val_{metric}" if has_val else metric


def fit(model, data, *, validation_data=None, run_dir=None, epochs=None, batch_size=None, augment=True,
        class_weight=None, sample_weight=None, lr_schedule="warmup_cosine", warmup=0.1, early_stopping=True,
        patience=None, monitor=None, resume=True, verbose="auto", seed=None, callbacks=None) -> TrainResult:
    """Train ``model`` on ``data`` under the active profile; returns a :class:`TrainResult`.

    Parameters
    ----------
    model : a compiled ``keras.Model`` (its losses and metrics, one per output, are used as they
        are); an uncompiled single-output classifier is compiled with AdamW at 1e-3.
    data : a :class:`~fercourse.datasets.FaceData` (trains on ``Training``, validates on
        ``PublicTest``), a tuple ``(x, y)`` or ``(x_train, y_train, x_val, y_val)``, or a
        :class:`keras.utils.PyDataset` for data that does not fit in memory.  ``x`` is an array
        (images ``(N, H, W[, 1])``, clips ``(N, T, H, W[, 1])``, vectors) or a dict
        ``{input name: array}``; ``y`` an array (class indices or float targets) or a dict
        ``{output name: array}``.
    validation_data : ``(x, y)``, ``(x, y, sample_weight)`` or a PyDataset, when ``data`` does not
        hold it.
    run_dir : folder for the checkpoint, history, kept weights and ``metrics.json``; None
        writes nothing (and cannot resume).
    epochs, batch_size : default by profile (quick 3 / 128, full 60 / 64).
    augment : see :func:`fercourse.augment.augmentation`; applies to image and clip inputs.
    class_weight : None, ``"balanced"``, a dict ``{class: weight}`` or an array (single-output
        classifiers).
    sample_weight : None, an ``(N,)`` array, or a dict ``{output name: (N,) array}``; a weight of
        0 marks a missing label, which then contributes nothing to that output's loss.
    lr_schedule : ``"warmup_cosine"`` (warm-up over ``warmup`` of the steps, then cosine decay
        from the optimiser's learning rate), None to keep the optimiser as compiled (a work's
        own schedule), or a Keras ``LearningRateSchedule``.
    early_stopping, patience, monitor : stop when ``monitor`` (default ``val_accuracy`` for a
        single-output classifier, else ``val_loss``) has not improved for ``patience`` epochs
        (default a quarter of the epochs, at least 3), and end with the best epoch's weights.
    resume : continue the run found in ``run_dir``; False starts afresh, overwriting it.
    verbose : passed to ``model.fit`` (``"auto"`` shows Keras's progress bar).
    seed : the seed of the batch order, augmentation and dropout (default
        :func:`fercourse.config.seed`).  The initial weights follow the seed in force when the
        model was *built*: call :func:`fercourse.config.seed_everything` before building.
    callbacks : further Keras callbacks.
    """
    seed = config.seed() if seed is None else int(seed)
    config.seed_everything(seed)
    epochs = int(config.by_profile(quick=3, full=60) if epochs is None else epochs)
    batch_size = int(config.by_profile(quick=128, full=64) if batch_size is None else batch_size)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive; got epochs={epochs}, batch_size={batch_size}")
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])

    train, val = _split_data(data, validation_data)
    for part, which in ((train, "train"), (val, "val")):
        if part is not None:
            _conform_inputs(model, part, which)
            _check_part(model, part, which)
    has_val = val is not None
    monitor = monitor or _default_monitor(model, has_val)
    if not has_val and monitor.startswith("val_"):
        monitor = monitor[4:]
    mode = "min" if "loss" in monitor else "max"
    patience = (max(3, epochs // 4) if patience is None else int(patience)) if early_stopping else None

    # ---- the batches
    aug = augment_lib.augmentation(augment)
    if isinstance(train, _Part):
        if sample_weight is not None and train.sample_weight is not None:
            raise ValueError("give sample weights once: in data or as sample_weight")
        weights = train.sample_weight if sample_weight is None else sample_weight
        if class_weight is not None:
            if isinstance(train.y, dict):
                raise ValueError("class_weight is for single-output classifiers; give sample_weight per output")
            cw = sampling.class_weight_array(class_weight, train.y, int(_output_shape(model, None)[-1]))
            w = cw[np.asarray(train.y).astype(int)].astype("float32")
            weights = w if weights is None else np.asarray(weights, "float32") * w
        train_batches = ArrayBatches(train.x, train.y, batch_size, sample_weight=weights, augment=aug, seed=seed,
                                     until_epoch=epochs)
    elif class_weight is not None or sample_weight is not None:
        raise ValueError("with a PyDataset, give class and sample weights inside its batches")
    else:
        train_batches = train
    val_batches = (ArrayBatches(val.x, val.y, max(batch_size, 256), sample_weight=val.sample_weight,
                                shuffle=False) if isinstance(val, _Part) else val)

    # ---- the schedule
    steps = len(train_batches)
    if lr_schedule == "warmup_cosine":
        _set_schedule(model, warmup_cosine(epochs * steps, _base_lr(model.optimizer), warmup))
    elif isinstance(lr_schedule, keras.optimizers.schedules.LearningRateSchedule):
        _set_schedule(model, lr_schedule)
    elif lr_schedule not in (None, "constant", "model"):
        raise ValueError(f"lr_schedule={lr_schedule!r} is not known; use 'warmup_cosine', None "
                         "or a keras LearningRateSchedule")

    # ---- the run folder
    settings = {"model": model.name, "epochs": epochs, "batch_size": batch_size, "seed": seed,
                "monitor": monitor, "signature": _signature(model)}
    history, initial_epoch = {}, 0
    if run_dir is not None:
        run_dir = Path(run_dir)
        history, initial_epoch = _open_run(run_dir, model, resume, settings)
    finished = history is None
    if finished:
        history = _read_json(run_dir / HISTORY_JSON, "The run history") if (run_dir / HISTORY_JSON).is_file() else {}
        _load_kept(model, run_dir)
    if isinstance(train_batches, ArrayBatches):
        train_batches.set_epoch(initial_epoch)

    # An optimiser that creates its slots inside the first traced step makes TensorFlow trace that
    # step twice (once creating variables, once using them): about 1-2 s per network, which adds
    # up in the chapters that train dozens of small heads.  Built here, the step is traced once.
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    log = _RunLog(run_dir, history, monitor, mode, patience, early_stopping, seed, train_batches)
    t0 = time.perf_counter()
    if not finished and initial_epoch < epochs:
        cbs = [log, *(callbacks or []), keras.callbacks.TerminateOnNaN()]
        if run_dir is not None:
            # After _RunLog: an epoch whose loss diverged raises there, before it is backed up.
            cbs.append(keras.callbacks.BackupAndRestore(run_dir / BACKUP_DIR, double_checkpoint=True))
        stream = isinstance(train_batches, ArrayBatches) and train_batches.stream
        model.fit(for_fit(train_batches) if stream else train_batches,
                  validation_data=for_fit(val_batches) if isinstance(val_batches, ArrayBatches) else val_batches,
                  epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=len(train_batches) if stream else None,
                  shuffle=False, callbacks=cbs, verbose=verbose)
        # The kept weights: the best epoch's with early stopping (saved as it happened), else the last.
        if run_dir is not None:
            _load_kept(model, run_dir)
        elif log.kept is not None:
            model.set_weights(log.kept)
    seconds = time.perf_counter() - t0

    done_epochs = len(history.get("loss", []))
    best = best_epoch(history, monitor, mode) if early_stopping else None
    stopped_early = bool(early_stopping and done_epochs < epochs)
    metrics = {"model": model.name, "profile": config.profile(), "epochs": done_epochs,
               "best_epoch": best, "monitor": monitor,
               "best_value": history[monitor][best - 1] if best else None,
               "stopped_early": stopped_early, "batch_size": batch_size, "seed": seed,
               "seconds_this_call": round(seconds, 2),
               "seconds_total": round(float(np.nansum(np.asarray(history.get("seconds", [0.0]), float))), 2)}
    if isinstance(train_batches, ArrayBatches):
        metrics["train_samples"] = int(train_batches.n)
    if run_dir is not None:
        atomic.write_json(run_dir / STATE_FILE, {**settings, "done": True, "epoch": done_epochs})
        old = _read_json(run_dir / METRICS_FILE, "The run metrics") if (run_dir / METRICS_FILE).is_file() else {}
        atomic.write_json(run_dir / METRICS_FILE, {**old, **metrics})
    return TrainResult(model=model, history=history, epochs=done_epochs, initial_epoch=initial_epoch,
                       best_epoch=best, stopped_early=stopped_early, seconds=seconds, run_dir=run_dir,
                       metrics=metrics)


def _load_kept(model, run_dir: Path) -> None:
    path = run_dir / WEIGHTS_FILE
    if not path.is_file():
        return
    try:
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # the file holds its state too
        model.load_weights(path)
    except Exception as exc:  # h5py and Keras raise several kinds for a damaged file
        raise RunFolderError(f"the run's weights {path} are damaged ({type(exc).__name__}: {exc}). Train the "
                             f"run again: delete the folder {run_dir} or pass resume=False (--fresh)") from None
