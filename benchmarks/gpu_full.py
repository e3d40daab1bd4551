"""The full profile on one GPU in one command: the course's best-network candidates, Breuer &
Kimmel's network, and every chapter under nbval, all at once, within a wall-time budget.

    # 1. once, on a machine with the package index (a CPU is enough): the wheels the GPU
    #    machine lacks, into .device/wheels/, and FER2013 packed small, into .device/data/
    python benchmarks/gpu_full.py prepare --fer2013 /path/to/fer2013.zip

    # 2. on the GPU machine (JAX, no package index): install the wheels, rebuild FER2013, train
    #    every candidate and validate every chapter concurrently; records into one folder
    python3 benchmarks/gpu_full.py --budget-seconds 480 --out OUT/gpu_full

    # here, on a CPU, in a minute or two: the same path on a few synthetic faces, one epoch
    python benchmarks/gpu_full.py --smoke
    python benchmarks/gpu_full.py --plan          # the plan (epochs of each run), nothing run

What runs, concurrently (subprocesses sharing the one GPU's memory through
``XLA_PYTHON_CLIENT_MEM_FRACTION``):

- the candidates for the course's best single network (:func:`candidates`, group ``best``),
  selected on PublicTest alone; test-time augmentation (mirror, ten crops) reported apart;
- Breuer & Kimmel's network by their recipe and with the course's schedule (group
  ``breuer_kimmel``);
- every chapter (``chapters/NN_*.ipynb``) under ``pytest --nbval-lax`` with
  ``FERCOURSE_PROFILE=full``, each as its own process, stopped at the budget's end.

Each training run gets an epoch budget sized from the seconds per epoch measured in the
course's full-profile records (``chapters/results/<model>-fer2013-full.json``) times the
expected sharing of the GPU (:func:`plan_runs`), and stops at the end of the epoch that would
overrun its deadline (:func:`deadline_stop`).  Everything is written to one folder: ``log.txt``
(as it happens), ``summary.json`` (rewritten as each run ends: plan, hardware, software,
every run's metrics, history, per-class accuracy, confusion matrix, seconds and command, every
chapter's outcome, the selection) and ``records.tar.gz`` (each run's and chapter's own folder:
record, history, full log, JUnit report) -- three files, so that a machine that returns only a
few files returns them all.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT, ROOT / "benchmarks"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import device_payload as payload  # noqa: E402  (benchmarks/ is on the path only from here)

RESULTS_DIR = ROOT / "chapters" / "results"
OUT_FILES = ("summary.json", "log.txt", "records.tar.gz")

# ----------------------------------------------------------------------------- the candidates


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One training run: a model of the zoo, what changes from its recipe, and why.

    ``overrides`` replace keys of the model's full-profile recipe (``fercourse.recipes``);
    ``build`` are keyword arguments of the model's builder; ``label_smoothing`` compiles the
    model with cross-entropy on smoothed targets; ``plateau`` adds Keras's
    ``ReduceLROnPlateau`` on PublicTest accuracy (with ``lr_schedule=None``, so the optimiser's
    own rate is the one reduced).  ``patience`` is early stopping's (None: as many epochs as
    the run has, so a schedule sized to the budget runs to its end).
    """

    name: str
    model: str
    group: str
    description: str
    overrides: dict = dataclasses.field(default_factory=dict)
    build: dict = dataclasses.field(default_factory=dict)
    label_smoothing: float = 0.0
    plateau: dict | None = None
    patience: int | None = None

    @property
    def uses_train_named(self) -> bool:
        """Whether ``fercourse.recipes.train_named`` trains it as it is (overrides only)."""
        return not (self.build or self.label_smoothing or self.plateau)

    def settings(self) -> dict:
        """What the run changes, readably (augmentation objects by their repr)."""
        return {"overrides": {k: (v if isinstance(v, (str, int, float, bool, type(None))) else repr(v))
                              for k, v in self.overrides.items()},
                "build": dict(self.build), "label_smoothing": self.label_smoothing,
                "plateau": self.plateau, "patience": self.patience}


def _affine(**kw):
    from fercourse.augment import RandomAffine

    return RandomAffine(**kw)


def candidates() -> tuple[Candidate, ...]:
    """The runs, in launch order: five toward the course's best single network, two of Breuer &
    Kimmel's network."""
    return (
        Candidate("vgg_bn-long", "vgg_bn", "best",
                  "the course's recipe (SGD with Nesterov momentum, warm-up then cosine decay, "
                  "affine augmentation), for as many epochs as the budget holds"),
        Candidate("vgg_bn-erase", "vgg_bn", "best",
                  "the recipe with random erasing: half the faces lose a rectangle to grey",
                  overrides={"augment": _affine(erase=0.5)}),
        Candidate("vgg_bn-geometry-dropout", "vgg_bn", "best",
                  "stronger geometry (rotation 15 degrees, shift and zoom 15 %) and dropout 0.5",
                  overrides={"augment": _affine(rotation=15, shift=0.15, zoom=0.15)},
                  build={"dropout": 0.5}),
        Candidate("vgg_bn-sgd-plateau", "vgg_bn", "best",
                  "SGD with Nesterov momentum from 0.01, the rate halved when PublicTest accuracy "
                  "stalls for 3 epochs (no cosine schedule)",
                  overrides={"lr_schedule": None}, build={"learning_rate": 0.01},
                  plateau={"factor": 0.5, "patience": 3, "min_lr": 1e-4}, patience=12),
        Candidate("vgg_bn-label-smoothing", "vgg_bn", "best",
                  "the recipe with label smoothing 0.1", label_smoothing=0.1),
        Candidate("breuer_kimmel-recipe", "breuer_kimmel", "breuer_kimmel",
                  "Breuer & Kimmel's recipe as the course keeps it: Adam 1e-3 with decay 1e-5, "
                  "affine augmentation, batch 128, early stopping after 15 epochs without progress",
                  patience=15),
        Candidate("breuer_kimmel-course", "breuer_kimmel", "breuer_kimmel",
                  "their network with the course's schedule: warm-up then cosine decay from 1e-3",
                  overrides={"lr_schedule": "warmup_cosine"}),
    )


def candidate(name) -> Candidate:
    """The candidate called ``name`` (a clear error listing the names)."""
    found = {c.name: c for c in candidates()}
    if name not in found:
        raise ValueError(f"unknown run {name!r}; the runs are {', '.join(found)}")
    return found[name]


# ----------------------------------------------------------------------------- the plan
# Estimates, to be replaced by what summary.json measures ("monitor": GPU utilisation sampled by
# nvidia-smi; each run's seconds per epoch).  GPU_SHARE: the fraction of the GPU one run alone
# keeps busy, estimated from bench_models' training speed on an H200 (vgg_bn 34,529 images/s,
# Breuer & Kimmel 70,250, batch 128) against the steps of the two full runs (1.9 and 1.2 s per
# epoch): vgg_bn about half, Breuer & Kimmel about a third.  Concurrent runs share the GPU by
# time slices, so each slows down by the sum of the shares once it passes 1.
GPU_SHARE = {"vgg_bn": 0.5, "breuer_kimmel": 0.35}
DEFAULT_GPU_SHARE = 0.5
CHAPTER_GPU_SHARE = 0.2      # a chapter mostly loads, plots and fits small models on the CPU
STARTUP_SECONDS = 25         # a worker's start: Python, JAX and Keras imports, the cached data
COMPILE_SLOWDOWN = 1.5       # compilation is CPU work, slower with every core busy
TEST_RESERVE_SECONDS = 60    # after training: PrivateTest and PublicTest, with the TTA views
SMOKE_TEST_RESERVE_SECONDS = 30
FINALIZE_SECONDS = 20        # stopping what still runs, the last summary, the records archive
STOP_GRACE_SECONDS = 8       # from interrupting pytest (which then writes its report) to killing
PLAN_SETUP_SECONDS = 30      # wheels installed, FER2013 rebuilt and decoded (what --plan skips)
MAX_EPOCHS = 400
MEMORY_FRACTION_TOTAL = 0.9  # of the GPU's memory, split between the processes that use it


def seconds_per_epoch(model, results_dir=RESULTS_DIR) -> dict:
    """What the course's full-profile record of ``model`` says about its speed.

    Returns ``{"seconds_per_epoch": median over epochs 2.., "compile_seconds": first epoch's
    extra, "batch_size": ..., "source": file}`` from ``<results_dir>/<model>-fer2013-full.json``.
    """
    path = Path(results_dir) / f"{model}-fer2013-full.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no full-profile record of {model!r} to size its runs from; "
                                "expected chapters/results/<model>-fer2013-full.json")
    rec = json.loads(path.read_text())
    try:
        seconds = [float(s) for s in rec["history"]["seconds"]]
        batch = int(rec["metrics"]["batch_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: expected history.seconds (one per epoch) and metrics.batch_size; "
                         f"{type(exc).__name__}: {exc}") from None
    if len(seconds) < 2:
        raise ValueError(f"{path}: history.seconds holds {len(seconds)} epoch(s); at least 2 are needed")
    median = statistics.median(seconds[1:])
    return {"seconds_per_epoch": median, "compile_seconds": max(0.0, seconds[0] - median),
            "batch_size": batch, "source": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)}


def slowdown(models, n_chapters) -> float:
    """How much slower each run goes with ``models`` (one name per run) and ``n_chapters``
    sharing the GPU: the sum of their shares, at least 1."""
    load = sum(GPU_SHARE.get(m, DEFAULT_GPU_SHARE) for m in models) + CHAPTER_GPU_SHARE * n_chapters
    return max(1.0, load)


def memory_fraction(n_processes) -> float:
    """``XLA_PYTHON_CLIENT_MEM_FRACTION`` for each of ``n_processes`` on one GPU."""
    if n_processes < 1:
        raise ValueError(f"n_processes must be at least 1; got {n_processes}")
    return math.floor(min(0.75, MEMORY_FRACTION_TOTAL / n_processes) * 1000) / 1000  # down: never above the total


def plan_runs(runs, *, seconds_available, n_chapters=0, smoke=False, results_dir=RESULTS_DIR) -> list[dict]:
    """The epochs of each run of ``runs`` (Candidates) so that all end within ``seconds_available``.

    ``epochs = (available - start-up - compilation - test reserve) / (seconds per epoch of the
    record x batch-size factor x slowdown)``, between 1 and :data:`MAX_EPOCHS`; the batch-size
    factor is the ratio of steps per epoch when a run takes smaller batches than the record
    (none for larger ones: a conservative guess).  In smoke mode every run gets 1 epoch
    (``epochs_full`` keeps what the full run would get).
    """
    from fercourse import recipes

    runs = list(runs)
    factor = slowdown([r.model for r in runs], n_chapters)
    plans = []
    for run in runs:
        speed = seconds_per_epoch(run.model, results_dir)
        batch = int(run.overrides.get("batch_size") or recipes.RECIPES[run.model]["full"]["batch_size"])
        per_epoch = speed["seconds_per_epoch"] * max(1.0, speed["batch_size"] / batch) * factor
        compile_s = speed["compile_seconds"] * COMPILE_SLOWDOWN
        train_s = seconds_available - STARTUP_SECONDS - compile_s - TEST_RESERVE_SECONDS
        epochs = int(min(MAX_EPOCHS, max(1, math.floor(train_s / per_epoch))))
        plans.append({"name": run.name, "model": run.model, "epochs": 1 if smoke else epochs,
                      "epochs_full": epochs, "batch_size": batch,
                      "seconds_per_epoch_recorded": round(speed["seconds_per_epoch"], 3),
                      "slowdown": round(factor, 2), "seconds_per_epoch_expected": round(per_epoch, 2),
                      "compile_seconds_expected": round(compile_s, 1),
                      "seconds_available": round(seconds_available, 1), "sized_from": speed["source"]})
    return plans


# ----------------------------------------------------------------------------- training
def _keras_callbacks():
    import keras

    class DeadlineStop(keras.callbacks.Callback):
        """Stop at the end of the epoch after which another would not finish by ``deadline``
        (a ``time.time()`` timestamp), counting ``margin`` times the last epoch's length."""

        def __init__(self, deadline, margin=1.25):
            super().__init__()
            self.deadline, self.margin, self.stopped_at = float(deadline), float(margin), None

        def on_epoch_begin(self, epoch, logs=None):
            self._t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            took = time.time() - self._t0
            if time.time() + self.margin * took > self.deadline:
                self.model.stop_training = True
                self.stopped_at = epoch + 1

    class SmoothedSparseCrossentropy(keras.losses.Loss):
        """Cross-entropy against targets smoothed by ``smoothing``, from integer class labels.

        Keras's sparse cross-entropy takes no smoothing and its dense one takes no integer
        labels; this is the dense one on labels made one-hot.  Its name keeps
        ``sparse_categorical``, by which ``fit`` checks labels and monitors accuracy.
        """

        def __init__(self, num_classes, smoothing=0.1, name="sparse_categorical_crossentropy_smoothed"):
            super().__init__(name=name)
            self.num_classes, self.smoothing = int(num_classes), float(smoothing)

        def call(self, y_true, y_pred):
            ops = keras.ops
            labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            target = ops.one_hot(labels, self.num_classes)
            return keras.losses.categorical_crossentropy(target, y_pred, label_smoothing=self.smoothing)

        def get_config(self):
            return {"num_classes": self.num_classes, "smoothing": self.smoothing, "name": self.name}

    return DeadlineStop, SmoothedSparseCrossentropy


def deadline_stop(deadline, margin=1.25):
    """A Keras callback that ends training at the last epoch that can finish by ``deadline``."""
    return _keras_callbacks()[0](deadline, margin)


def smoothed_sparse_crossentropy(num_classes, smoothing=0.1):
    """A Keras loss: cross-entropy with label smoothing on integer class labels."""
    return _keras_callbacks()[1](num_classes, smoothing)


def ten_crop_views(images, crop=44) -> list[np.ndarray]:
    """Ten views of each face for test-time augmentation: four corner crops and the centre crop
    of side ``crop``, each scaled back to the full side, and their mirror images."""
    import cv2

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"ten_crop_views takes images (N, H, W[, 1]); got shape {np.shape(images)}")
    n, h, w = images.shape
    if not 0 < crop <= min(h, w):
        raise ValueError(f"crop must be between 1 and {min(h, w)} for {h}x{w} images; got {crop}")
    views = []
    for top, left in ((0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop),
                      ((h - crop) // 2, (w - crop) // 2)):
        part = images[:, top:top + crop, left:left + crop]
        scaled = np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_LINEAR) for im in part]) if n else \
            np.zeros((0, h, w), images.dtype)
        views += [scaled, scaled[:, :, ::-1]]
    return views


def view_probabilities(model, images, batch_size=1024) -> dict[str, np.ndarray]:
    """Class probabilities of ``images`` single-pass, averaged with the mirror images (``flip``)
    and over the ten crops (``ten_crop``), from one compiled ``predict`` over all views."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    views = [images, images[:, :, ::-1], *ten_crop_views(images)]
    n = len(images)
    probs = model.predict(np.concatenate(views)[..., None].astype("float32"), batch_size=batch_size, verbose=0)
    per_view = np.asarray(probs, dtype="float64").reshape(len(views), n, -1)
    return {"single": per_view[0], "flip": per_view[:2].mean(axis=0), "ten_crop": per_view[2:].mean(axis=0)}


def split_metrics(model, data, split) -> dict:
    """Every figure of ``model`` on ``split`` of ``data``: single pass (accuracy, top-2, macro-F1,
    UAR, per-class accuracy, confusion matrix) and with each test-time augmentation apart."""
    from fercourse import evaluate

    x, y = data.split(split)
    if not len(y):
        return {}
    t0 = time.perf_counter()
    probs = view_probabilities(model, x)
    out = {"split": split, "images": int(len(y))}
    for kind, p in probs.items():
        rep = evaluate.report(y, p, data.class_names)
        if kind == "single":
            out.update({k: rep[k] for k in ("accuracy", "top2_accuracy", "macro_f1", "uar")})
            out["per_class_accuracy"] = rep["per_class"]["accuracy"].round(4).to_dict()
            out["confusion"] = np.asarray(rep["confusion"]).tolist()
        else:
            out[f"accuracy_{kind}_tta"] = rep["accuracy"]
            out[f"macro_f1_{kind}_tta"] = rep["macro_f1"]
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _jsonable(value):
    """``value`` with every object JSON cannot hold (an augmentation, say) as its repr;
    ``fercourse.atomic.write_json`` does the rest (NumPy values, paths, NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool, type(None), np.generic, np.ndarray, Path)):
        return value
    return repr(value)


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def software() -> dict:
    """Versions of what the runs depend on, as installed in this process's environment."""
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for name in ("keras", "jax", "jaxlib", "tensorflow", "tensorflow-cpu", "numpy", "opencv-python-headless",
                 "scikit-learn", "scikit-image", "pandas", "nbval", "ipykernel", "pytest"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def devices() -> dict:
    """The backend and, under JAX, the devices it sees (``jax.devices()``)."""
    import keras

    out = {"keras_backend": keras.backend.backend()}
    if out["keras_backend"] == "jax":
        import jax

        out["jax_devices"] = [f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()]
    return out


# What fercourse.recipes.test_metrics puts into a run's metrics: the PrivateTest record.
TEST_KEYS = ("data", "test_split", "test_images", "accuracy", "top2_accuracy", "macro_f1", "uar",
             "accuracy_flip_tta", "per_class_accuracy", "confusion", "test_seconds", "parameters")


def run_candidate(cand, data, *, epochs, deadline, run_dir, smoke=False, record_path=None, command=None) -> dict:
    """Train ``cand`` on ``data`` for at most ``epochs`` and until ``deadline``, then score it.

    Plain candidates go through ``fercourse.recipes.train_named``; the others are built and
    compiled here and trained by ``fercourse.train.fit`` with their recipe's arguments.  The
    record (written to ``record_path`` after training and again after testing, so a run killed
    while testing keeps its training) holds the settings, the epochs, the seconds, the history
    and the figures on PublicTest (selection) and PrivateTest (the test), TTA apart.
    """
    import keras

    from fercourse import config, models, recipes, train

    t_start = time.perf_counter()
    record = {"name": cand.name, "model": cand.model, "group": cand.group, "description": cand.description,
              "settings": cand.settings(), "command": command, "status": "training",
              "epochs_planned": int(epochs), "deadline": deadline, "data": data.name,
              "profile": config.profile(), "hardware": devices(), "software": software()}

    def save():
        if record_path is not None:
            from fercourse import atomic

            atomic.write_json(record_path, _jsonable(record))

    save()
    stop = deadline_stop(deadline)
    callbacks = [stop]
    overrides = {"epochs": int(epochs), "patience": cand.patience or int(epochs), **cand.overrides}
    if smoke:
        overrides["batch_size"] = 32
    if cand.uses_train_named:
        result = recipes.train_named(cand.model, data=data, run_dir=run_dir, resume=False, verbose=2,
                                     callbacks=callbacks, **overrides)
        model = result.model
        test = {k: v for k, v in result.metrics.items() if k in TEST_KEYS}
    else:
        config.seed_everything()
        model = models.get_builder(cand.model)(input_shape=(*data.image_shape, 1),
                                               num_classes=len(data.class_names), **cand.build)
        if cand.label_smoothing:
            model.compile(optimizer=model.optimizer, metrics=["accuracy"],
                          loss=smoothed_sparse_crossentropy(len(data.class_names), cand.label_smoothing))
        if cand.plateau:
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", mode="max", verbose=0,
                                                               **cand.plateau))
        fit_args = recipes.recipe(cand.model, **overrides)
        # recipe() drops overrides that are None; lr_schedule=None (the optimiser's own rate,
        # which ReduceLROnPlateau lowers) must reach fit all the same.
        fit_args.update({k: v for k, v in cand.overrides.items() if v is None})
        result = train.fit(model, data, run_dir=run_dir, resume=False, verbose=2, callbacks=callbacks, **fit_args)
        test = recipes.test_metrics(model, data)
    seconds = [s for s in result.history.get("seconds", []) if s is not None]
    record.update({
        "status": "trained", "epochs": result.epochs, "best_epoch": result.best_epoch,
        "stopped": ("deadline" if stop.stopped_at else "early stopping" if result.stopped_early else "completed"),
        "training_seconds": round(result.seconds, 2),
        "first_epoch_seconds": round(seconds[0], 2) if seconds else None,
        "seconds_per_epoch": round(statistics.median(seconds[1:]), 3) if len(seconds) > 1 else None,
        "history": result.history,
        "fit_metrics": {k: v for k, v in result.metrics.items() if k not in TEST_KEYS},
        "parameters": int(model.count_params()),
    })
    save()
    public = split_metrics(model, data, "PublicTest")
    private_views = split_metrics(model, data, "PrivateTest")
    record.update({
        "status": "done", "public_test": public,
        "private_test": {**test, "accuracy_ten_crop_tta": private_views.get("accuracy_ten_crop_tta"),
                         "macro_f1_ten_crop_tta": private_views.get("macro_f1_ten_crop_tta")},
        "seconds_total": round(time.perf_counter() - t_start, 2),
    })
    save()
    return record


def select_best(records, group="best") -> dict:
    """The run of ``group`` with the highest PublicTest accuracy (single pass), and the
    test-time augmentation that scores highest on PublicTest for it; PrivateTest is only read
    for the chosen run, after the choice."""
    done = [r for r in records if r.get("group") == group and r.get("status") == "done"
            and r.get("public_test", {}).get("accuracy") is not None]
    if not done:
        return {"group": group, "winner": None, "why": "no run of the group finished its test"}
    best = max(done, key=lambda r: (r["public_test"]["accuracy"], -r.get("training_seconds", 0)))
    pub, priv = best["public_test"], best["private_test"]
    tta = max(("none", "flip", "ten_crop"),
              key=lambda k: pub["accuracy"] if k == "none" else pub[f"accuracy_{k}_tta"])
    return {
        "group": group, "rule": "highest PublicTest accuracy (single pass); TTA chosen on PublicTest too",
        "winner": best["name"], "public_accuracy": pub["accuracy"],
        "private_accuracy": priv.get("accuracy"),
        "private_accuracy_flip_tta": priv.get("accuracy_flip_tta"),
        "private_accuracy_ten_crop_tta": priv.get("accuracy_ten_crop_tta"),
        "tta_chosen_on_public": tta,
        "private_accuracy_with_chosen_tta": (priv.get("accuracy") if tta == "none"
                                             else priv.get(f"accuracy_{tta}_tta")),
        "training_minutes": round(best.get("training_seconds", 0) / 60, 2),
        "candidates_public_accuracy": {r["name"]: r["public_test"]["accuracy"] for r in done},
    }


def run_outcome(rec_dir, run_dir, name, *, returncode, seconds, timed_out, log_tail="") -> dict:
    """A worker's record as it left it, with how its process ended; for a run stopped before
    its record was done, the epochs its run folder holds (``history.json``) and its log's end."""
    rec_path, hist_path = Path(rec_dir) / "record.json", Path(run_dir) / "history.json"
    rec = json.loads(rec_path.read_text()) if rec_path.is_file() else {"name": name, "status": "no record"}
    rec.update(returncode=returncode, process_seconds=round(seconds, 1), stopped_at_budget=bool(timed_out))
    if rec.get("status") != "done":
        if "history" not in rec and hist_path.is_file():
            try:
                rec["history"] = json.loads(hist_path.read_text())
                rec["epochs"] = len(rec["history"].get("loss", []))
            except ValueError:  # cut short while being written: the log says what happened
                pass
        rec["log_tail"] = log_tail[-3000:]
    return rec


# ----------------------------------------------------------------------------- chapters
SMOKE_NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "setup", "metadata": {}, "outputs": [],
         "source": ["import os\n", "import fercourse\n", "from fercourse import config\n",
                    "print(config.describe())"]},
        {"cell_type": "code", "execution_count": None, "id": "profile", "metadata": {}, "outputs": [],
         "source": ["assert config.profile() == os.environ['FERCOURSE_PROFILE'], config.profile()"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def chapter_notebooks(spec, work) -> list[Path]:
    """The notebooks to validate: ``all`` (every ``chapters/NN_*.ipynb``), ``none``, ``smoke``
    (a two-cell notebook written into ``work``: the kernel, the package and the profile), or
    comma-separated paths."""
    if spec == "none":
        return []
    if spec == "all":
        return sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    if spec == "smoke":
        path = Path(work) / "smoke_chapter.ipynb"
        path.write_text(json.dumps(SMOKE_NOTEBOOK, indent=1))
        return [path]
    paths = [Path(p) if Path(p).is_absolute() else ROOT / p for p in spec.split(",") if p]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"--chapters names notebooks that do not exist: {', '.join(missing)}")
    return paths


def chapter_outcome(junit_xml, *, returncode, seconds, timed_out, log_tail="") -> dict:
    """One chapter's nbval result from its JUnit report (cells run, failed, the first failure)
    and its ``pytest -v`` log (the last cell that finished)."""
    import xml.etree.ElementTree as ET

    out = {"returncode": returncode, "seconds": round(seconds, 1), "timed_out": bool(timed_out)}
    junit_xml = Path(junit_xml)
    if junit_xml.is_file():
        try:
            root = ET.parse(junit_xml).getroot()
        except ET.ParseError as exc:
            out["junit_error"] = f"{junit_xml}: {exc}"
        else:
            suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
            for key in ("tests", "failures", "errors", "skipped"):
                out[f"cells_{key}"] = sum(int(s.get(key, 0)) for s in suites)
            for case in root.iter("testcase"):
                bad = case.find("failure") if case.find("failure") is not None else case.find("error")
                if bad is not None:
                    out["first_failure"] = {"cell": case.get("name"),
                                            "message": (bad.get("message") or bad.text or "")[-2000:]}
                    break
    import re

    finished = re.findall(r"::(Cell \d+) (?:PASSED|FAILED|ERROR|SKIPPED)", log_tail)
    if finished:  # pytest -v names each cell as it ends: where a stopped chapter had got to
        out["last_cell_finished"] = finished[-1]
    out["passed"] = (returncode == 0 and not timed_out)
    if not out["passed"]:
        out["log_tail"] = log_tail[-3000:]
    return out


# ----------------------------------------------------------------------------- processes
class Log:
    """Lines to stdout and to ``path`` as they happen, each with the seconds since the start."""

    def __init__(self, path, t0):
        self.path, self.t0 = Path(path), t0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def __call__(self, msg):
        line = f"[{time.time() - self.t0:7.1f} s] {msg}"
        print(line, flush=True)
        with open(self.path, "a") as f:
            f.write(line + "\n")


def kill_tree(proc, grace=5.0) -> None:
    """End ``proc`` and every process it started (nbval's kernels run in sessions of their own,
    so a process group does not reach them); ``proc.returncode`` then says how it ended."""
    try:
        import psutil
    except ImportError:  # without psutil: the process group the child leads
        psutil = None
    family = []
    if psutil is not None:
        try:
            family = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            pass
        for p in family:
            try:
                p.terminate()
            except psutil.NoSuchProcess:
                pass
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)  # waited on here, not by psutil, so that its exit status is kept
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if family:
        _, alive = psutil.wait_procs(family, timeout=grace)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


class Monitor(threading.Thread):
    """Samples the GPU (``nvidia-smi``: utilisation, memory) and the load average every few
    seconds while the runs go, so the next plan can use measured sharing instead of estimates."""

    def __init__(self, every=5.0):
        super().__init__(daemon=True)
        self.every, self.samples, self._stop = every, [], threading.Event()

    def run(self):
        while not self._stop.wait(self.every):
            sample = {"t": round(time.time(), 1), "load1": round(os.getloadavg()[0], 2)}
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                                      "--format=csv,noheader,nounits"], capture_output=True, text=True,
                                     timeout=10).stdout.split("\n")[0].split(",")
                sample["gpu_util"], sample["gpu_mem_mib"] = float(out[0]), float(out[1])
            except (OSError, ValueError, IndexError, subprocess.SubprocessError):
                pass
            self.samples.append(sample)

    def stop(self) -> dict:
        self._stop.set()
        s = self.samples
        out = {"samples": len(s), "every_seconds": self.every,
               "load1_mean": round(statistics.fmean(x["load1"] for x in s), 2) if s else None}
        util = [x["gpu_util"] for x in s if "gpu_util" in x]
        if util:
            out.update(gpu_util_mean=round(statistics.fmean(util), 1), gpu_util_max=max(util),
                       gpu_mem_mib_max=max(x["gpu_mem_mib"] for x in s if "gpu_mem_mib" in x))
        out["series"] = s
        return out


def hardware() -> dict:
    """The machine: GPUs by ``nvidia-smi``, CPU, cores, memory."""
    from machine import describe

    out = {"cpu": describe()}
    try:
        out["nvidia_smi"] = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
    except (OSError, subprocess.SubprocessError):
        out["nvidia_smi"] = None
    try:
        with open("/proc/meminfo") as f:
            out["memory"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return out


# ----------------------------------------------------------------------------- the data home
def prepare_data_home(args, work, log) -> tuple[Path | None, dict]:
    """The data home the runs read FER2013 from (None in smoke mode), and how it was made."""
    if args.smoke:
        home = work / "data-empty"
        home.mkdir(exist_ok=True)
        return home, {"dataset": "synthetic", "faces": args.smoke_faces}
    from fercourse.datasets import fer2013_path

    if args.data_home:
        home = Path(args.data_home).resolve()
        if fer2013_path(home) is None:
            raise SystemExit(f"--data-home {home} holds no fer2013.zip or fer2013.csv")
        return home, {"dataset": "fer2013", "home": str(home), "how": "given"}
    env_home = os.environ.get("FERCOURSE_DATA", "").strip()
    if env_home and fer2013_path(Path(env_home)) is not None:
        return Path(env_home), {"dataset": "fer2013", "home": env_home, "how": "FERCOURSE_DATA"}
    home = work / "data"
    home.mkdir(exist_ok=True)
    zipped, packed = payload.DATA_DIR / "fer2013.zip", payload.DATA_DIR / payload.PACK_NAME
    t0 = time.perf_counter()
    if zipped.is_file():
        (home / "fer2013.zip").unlink(missing_ok=True)
        (home / "fer2013.zip").symlink_to(zipped.resolve())
        how = f"linked from {zipped}"
    elif packed.is_file():
        info = payload.unpack_fer2013(packed, home / "fer2013.zip")
        how = f"rebuilt from {packed} ({info['members']} members)"
    else:
        raise SystemExit(f"no FER2013: give --data-home, set FERCOURSE_DATA, or put fer2013.zip or "
                         f"{payload.PACK_NAME} (`gpu_full.py prepare`) in {payload.DATA_DIR}")
    log(f"FER2013 {how} in {time.perf_counter() - t0:.1f} s")
    return home, {"dataset": "fer2013", "home": str(home), "how": how,
                  "seconds": round(time.perf_counter() - t0, 1)}


def load_data(smoke, smoke_faces):
    """The runs' data: FER2013 from the data home, or ``smoke_faces`` synthetic faces."""
    from fercourse.datasets import load_course_data

    if smoke:
        return load_course_data(dataset="synthetic", synthetic_n=smoke_faces, verbose=False)
    return load_course_data(dataset="fer2013", verbose=False)


# ----------------------------------------------------------------------------- the orchestra
def child_env(site, home, fraction, *, smoke, work) -> dict:
    """The environment of every worker and nbval process."""
    from course import course_env

    env = course_env()
    paths = [str(p) for p in (site, ROOT) if p] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env.update({"PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1", "FERCOURSE_PROFILE": "full",
                "FERCOURSE_DATA": str(home), "XLA_PYTHON_CLIENT_MEM_FRACTION": f"{fraction}",
                "JAX_COMPILATION_CACHE_DIR": str(work / "jax-cache")})
    if smoke:
        env["FERCOURSE_DATASET"] = "synthetic"
    else:
        env.setdefault("KERAS_BACKEND", "jax")  # a GPU machine without TensorFlow
    return env


def _write_summary(out, summary) -> None:
    from fercourse import atomic

    atomic.write_json(out / "summary.json", _jsonable(summary))


def finalize(out, work, summary) -> list[str]:
    """Write ``summary.json`` and ``records.tar.gz`` (every run's and chapter's folder) into
    ``out``; returns the files ``out`` holds."""
    from fercourse import atomic

    _write_summary(out, summary)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        records = work / "records"
        if records.is_dir():
            tar.add(records, arcname="records")
    atomic.write_bytes(out / "records.tar.gz", buf.getvalue())
    return sorted(p.name for p in out.iterdir())


def orchestrate(args) -> int:
    """Everything, within ``args.budget_seconds``; 0 when every run and chapter succeeded."""
    if args.work:
        return _orchestrate(args, Path(args.work).resolve())
    work = Path(tempfile.mkdtemp(prefix="gpu_full-"))
    try:
        return _orchestrate(args, work)
    finally:  # run folders hold weights and checkpoints: hundreds of MB the records do not need
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def _orchestrate(args, work) -> int:
    t0 = time.time()
    hard_end = t0 + args.budget_seconds - FINALIZE_SECONDS
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in OUT_FILES:
        (out / name).unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "records").mkdir(exist_ok=True)
    log = Log(out / "log.txt", t0)
    summary = {"script": "benchmarks/gpu_full.py", "command": shlex.join([Path(sys.executable).name, *sys.argv]),
               "mode": "smoke" if args.smoke else "full", "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
               "budget_seconds": args.budget_seconds, "work": str(work), "runs": {}, "chapters": {}}
    log(f"gpu_full: {summary['mode']} mode, budget {args.budget_seconds} s, records in {out}, work in {work}")

    site = None
    wheel_dir = Path(args.wheels) if args.wheels != "none" and not args.plan else None
    if wheel_dir is not None and any(wheel_dir.glob("*.whl")):
        site = work / "site"
        summary["wheels"] = payload.install_wheels(wheel_dir, site)
        log(f"installed {len(summary['wheels']['installed'])} wheels in {summary['wheels']['seconds']} s")
    else:
        summary["wheels"] = {"installed": [], "note": f"no wheels in {args.wheels}: the environment is used as it is"}
    summary["hardware"], summary["software_orchestrator"] = hardware(), software()

    if args.plan:
        home, summary["data"] = None, {"note": "--plan: no data prepared"}
    else:
        home, summary["data"] = prepare_data_home(args, work, log)
        os.environ["FERCOURSE_DATA"] = str(home)
    if not args.smoke and not args.plan:
        # Decode FER2013 once into the data home's cache, so no two runs decode it at the same time.
        t = time.perf_counter()
        data = load_data(False, 0)
        summary["data"].update(counts=data.counts(), cache_seconds=round(time.perf_counter() - t, 1))
        log(f"FER2013 decoded and cached in {time.perf_counter() - t:.1f} s")
        del data

    runs = [candidate(n) for n in args.only.split(",")] if args.only else list(candidates())
    notebooks = chapter_notebooks(args.chapters, work)
    train_end = hard_end - (SMOKE_TEST_RESERVE_SECONDS if args.smoke else TEST_RESERVE_SECONDS)
    # --plan skips the setup, so it leaves the setup's usual time (wheels, FER2013) aside.
    available = hard_end - time.time() - (PLAN_SETUP_SECONDS if args.plan else 0)
    plans = plan_runs(runs, seconds_available=available, n_chapters=len(notebooks), smoke=args.smoke)
    fraction = memory_fraction(len(runs) + len(notebooks))
    summary["plan"] = {"runs": plans, "chapters": [str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
                                                    for p in notebooks],
                       "memory_fraction_each": fraction, "gpu_share_estimates": GPU_SHARE,
                       "chapter_gpu_share_estimate": CHAPTER_GPU_SHARE}
    for p in plans:
        log(f"plan: {p['name']}: {p['epochs']} epoch(s) (full: {p['epochs_full']}, "
            f"~{p['seconds_per_epoch_expected']} s each at slowdown {p['slowdown']})")
    _write_summary(out, summary)
    if args.plan:
        log("--plan: nothing run")
        return 0

    env = child_env(site, home, fraction, smoke=args.smoke, work=work)
    procs = {}
    monitor = Monitor()
    monitor.start()
    for run, p in zip(runs, plans):
        rec_dir = work / "records" / run.name
        rec_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "worker", run.name, "--epochs", str(p["epochs"]),
               "--deadline", f"{train_end:.1f}", "--records", str(rec_dir), "--run-dir", str(work / "runs" / run.name)]
        if args.smoke:
            cmd += ["--smoke", "--smoke-faces", str(args.smoke_faces)]
        logf = open(rec_dir / "log.txt", "w")
        procs[run.name] = ("run", subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                                   start_new_session=True), logf, time.time(), rec_dir)
    for nb in notebooks:
        rec_dir = work / "records" / f"chapter-{nb.stem}"
        rec_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-v",
               f"--junitxml={rec_dir / 'junit.xml'}", str(nb)]
        summary["chapters"][nb.stem] = {"command": "FERCOURSE_PROFILE=full " + shlex.join(
            ["python3", "-m", "pytest", "--nbval-lax", str(nb.relative_to(ROOT) if nb.is_relative_to(ROOT) else nb)])}
        logf = open(rec_dir / "log.txt", "w")
        procs[nb.stem] = ("chapter", subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=logf, stderr=subprocess.STDOUT,
                                                      start_new_session=True), logf, time.time(), rec_dir)
    log(f"started {len(runs)} training runs and {len(notebooks)} chapters "
        f"(XLA_PYTHON_CLIENT_MEM_FRACTION={fraction} each)")

    pending, stopping = dict(procs), None
    while pending:
        time.sleep(1.0)
        if stopping is None and time.time() >= hard_end:
            # At the budget: pytest is interrupted (it then writes its JUnit report, with the
            # cells that passed), the workers are terminated; what still runs after a grace
            # period is killed with everything it started.
            stopping = time.time()
            for kind, proc, *_ in pending.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT if kind == "chapter" else signal.SIGTERM)
        late = stopping is not None and time.time() >= stopping + STOP_GRACE_SECONDS
        for name, (kind, proc, logf, started, rec_dir) in list(pending.items()):
            if proc.poll() is None and not late:
                continue
            if proc.poll() is None:
                kill_tree(proc)
            timed_out = stopping is not None
            logf.close()
            seconds = time.time() - started
            tail = (rec_dir / "log.txt").read_text(errors="replace")[-6000:]
            if kind == "run":
                summary["runs"][name] = rec = run_outcome(rec_dir, work / "runs" / name, name,
                                                          returncode=proc.returncode, seconds=seconds,
                                                          timed_out=timed_out, log_tail=tail)
                log(f"run {name}: {rec.get('status')}, {rec.get('epochs', '?')} epochs, "
                    f"PublicTest {_pct(rec.get('public_test', {}).get('accuracy'))}, "
                    f"PrivateTest {_pct(rec.get('private_test', {}).get('accuracy'))}, {seconds:.0f} s"
                    + (" (stopped at the budget)" if timed_out else ""))
            else:
                summary["chapters"][name].update(chapter_outcome(rec_dir / "junit.xml", returncode=proc.returncode,
                                                                 seconds=seconds, timed_out=timed_out, log_tail=tail))
                ch = summary["chapters"][name]
                log(f"chapter {name}: {'passed' if ch['passed'] else 'FAILED'}"
                    f" ({ch.get('cells_tests', '?')} cells, {ch.get('cells_failures', '?')} failed), {seconds:.0f} s"
                    + (" (stopped at the budget)" if timed_out else ""))
            del pending[name]
            _write_summary(out, summary)
    summary["monitor"] = monitor.stop()
    records = list(summary["runs"].values())
    summary["selection"] = {"best": select_best(records, "best"),
                            "breuer_kimmel": {r["name"]: {k: r.get("private_test", {}).get(k) for k in
                                                          ("accuracy", "accuracy_flip_tta", "accuracy_ten_crop_tta")}
                                              | {"public_accuracy": r.get("public_test", {}).get("accuracy"),
                                                 "training_minutes": round(r.get("training_seconds", 0) / 60, 2)}
                                              for r in records if r.get("group") == "breuer_kimmel"}}
    summary["wall_seconds"] = round(time.time() - t0, 1)
    summary["all_runs_done"] = all(r.get("status") == "done" for r in records)
    summary["all_chapters_passed"] = all(c.get("passed") for c in summary["chapters"].values())
    files = finalize(out, work, summary)
    log(f"done in {summary['wall_seconds']} s: runs done {summary['all_runs_done']}, chapters passed "
        f"{summary['all_chapters_passed']}; {out} holds {', '.join(files)}")
    return 0 if summary["all_runs_done"] and summary["all_chapters_passed"] else 1


def worker(args) -> int:
    cand = candidate(args.name)
    data = load_data(args.smoke, args.smoke_faces)
    rec_dir = Path(args.records)
    rec_dir.mkdir(parents=True, exist_ok=True)
    command = shlex.join([Path(sys.executable).name, "benchmarks/gpu_full.py", *sys.argv[1:]])
    record = run_candidate(cand, data, epochs=args.epochs, deadline=args.deadline, run_dir=args.run_dir,
                           smoke=args.smoke, record_path=rec_dir / "record.json", command=command)
    hist = Path(args.run_dir) / "history.csv"
    if hist.is_file():
        (rec_dir / "history.csv").write_text(hist.read_text())
    print(f"{cand.name}: PublicTest {record['public_test'].get('accuracy')}, "
          f"PrivateTest {record['private_test'].get('accuracy')}", flush=True)
    return 0


def prepare(args) -> int:
    """CPU side, once: the wheels, the FER2013 pack, and what will travel to the GPU machine."""
    t0 = time.perf_counter()
    wheels = payload.download_wheels(Path(args.wheels))
    unmet = payload.unmet_requirements(wheels)
    print(f"{len(wheels)} wheels in {args.wheels}: {sum(w.stat().st_size for w in wheels) / 2**20:.1f} MiB")
    for whl, reqs in unmet.items():
        print(f"  needed by {whl}, neither carried nor on the GPU machine: {', '.join(reqs)}")
    if args.fer2013:
        info = payload.pack_fer2013(args.fer2013, payload.DATA_DIR / payload.PACK_NAME)
        print(f"FER2013 packed: {info['members']} members, {info['source_bytes'] / 2**20:.1f} MiB -> "
              f"{info['bytes'] / 2**20:.1f} MiB ({payload.DATA_DIR / payload.PACK_NAME})")
    total = payload.travel_bytes([args.wheels, payload.DATA_DIR])
    limit = payload.TRAVEL_LIMIT_BYTES
    print(f"the checkout with {args.wheels} and {payload.DATA_DIR}: {total / 2**20:.1f} MiB of "
          f"{limit / 2**20:.0f} MiB; prepared in {time.perf_counter() - t0:.0f} s")
    print("on the GPU machine, carrying .device/wheels and .device/data:\n"
          "  PYTHONUNBUFFERED=1 python3 benchmarks/gpu_full.py --budget-seconds 480 --out \"$OUT/gpu_full\"")
    return 1 if unmet or total > limit else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("action", nargs="?", default="run", choices=["run", "prepare", "worker"],
                        help="run (default): everything; prepare: wheels and data for the GPU machine; "
                             "worker: one training run (started by run)")
    parser.add_argument("name", nargs="?", help="worker: the run's name")
    parser.add_argument("--budget-seconds", type=float, default=None,
                        help="wall time for everything, setup included (default 480; smoke 300)")
    parser.add_argument("--out", default=None,
                        help="the records folder (default $OUT/gpu_full where OUT is set, else runs/gpu_full[-smoke])")
    parser.add_argument("--work", default=None,
                        help="scratch folder for run folders and data, kept (default: a temporary one, removed)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few synthetic faces, 1 epoch per run, a two-cell notebook for nbval")
    parser.add_argument("--smoke-faces", type=int, default=120, help="synthetic faces in smoke mode (default 120)")
    parser.add_argument("--plan", action="store_true", help="print and record the plan, run nothing")
    parser.add_argument("--only", default="", help="comma-separated run names (default: every candidate)")
    parser.add_argument("--chapters", default=None,
                        help="all (default), none, smoke (default with --smoke), or comma-separated notebook paths")
    parser.add_argument("--wheels", default=str(payload.WHEEL_DIR),
                        help=f"a folder of wheels to install first (default {payload.WHEEL_DIR}), or none")
    parser.add_argument("--data-home", default=None, help="a folder holding fer2013.zip or fer2013.csv")
    parser.add_argument("--fer2013", default=None, help="prepare: the FER2013 zip to pack into .device/data")
    # worker
    parser.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--records", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.action == "prepare":
        return prepare(args)
    if args.action == "worker":
        if not (args.name and args.records and args.run_dir and args.deadline):
            parser.error("worker needs NAME --records --run-dir --deadline")
        return worker(args)
    if args.name:
        parser.error(f"unexpected argument {args.name!r}")
    if args.budget_seconds is None:
        args.budget_seconds = 300.0 if args.smoke else 480.0
    if args.budget_seconds < 60:
        parser.error(f"--budget-seconds must be at least 60; got {args.budget_seconds}")
    if args.chapters is None:
        args.chapters = "smoke" if args.smoke else "all"
    if args.smoke:
        args.wheels = "none" if args.wheels == str(payload.WHEEL_DIR) else args.wheels
    if args.out is None:
        env_out = os.environ.get("OUT", "").strip()
        args.out = (Path(env_out) / "gpu_full" if env_out
                    else ROOT / "runs" / ("gpu_full-smoke" if args.smoke else "gpu_full"))
    return orchestrate(args)


if __name__ == "__main__":
    sys.exit(main())
