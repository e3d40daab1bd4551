"""The course model: the expression network chapters 5-9 share, trained once and cached.

Called as ``fercourse.course_model(data)``.  (The module is not named ``course_model``: importing
it would then replace that function on the package with the module.)

Chapter 5 looks inside it, chapter 6 transfers it, chapter 7 feeds its per-frame features to an
LSTM, chapter 8 starts from its trunk and chapter 9 runs it on video.  Training it in each of
them would spend a class's time five times over, so :func:`course_model` trains it once per
data, profile and seed -- through :func:`fercourse.recipes.train_named`, the same recipe as
``fercourse train compact`` -- and keeps it in the data home; every later call loads it in
seconds.

The cache file's name is a key made of everything that decides the weights: the data (a
checksum of its images, labels and splits), the profile, the seed, the recipe, the source code
of the network's builder and the Keras version.  Change any of them and the key changes, so a
stale model is never used; a file that cannot be loaded is reported, deleted and retrained.
Weights trained on FER2013 stay in the user's data home (the licence forbids sharing them).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import warnings
import zlib
from pathlib import Path

from . import atomic, config

__all__ = ["course_model", "course_model_path", "MODEL_NAME"]

MODEL_NAME = "compact"
"""The network of the course model: :func:`fercourse.models.compact`, the quick profile's own."""


def _data_checksum(data) -> str:
    # CRC-32 over the arrays: a fingerprint of the content in well under a second even for FER2013.
    crc = 0
    for array in (data.images, data.labels, data.splits.astype("U16")):
        crc = zlib.crc32(memoryview(array.tobytes()), crc)
    return f"{data.name}-{len(data)}-{crc:08x}"


def _key(data) -> str:
    import keras

    from . import models, recipes

    parts = {
        "data": _data_checksum(data),
        "profile": config.profile(),
        "seed": config.seed(),
        "recipe": repr(sorted(recipes.recipe(MODEL_NAME).items())),
        "builder": inspect.getsource(models.get_builder(MODEL_NAME)),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def course_model_path(data=None) -> Path:
    """Where the course model for ``data`` (default: the course data) is cached."""
    data = _course_data(data)
    return config.data_home() / "models" / f"course_model-{data.name}-{config.profile()}-{_key(data)}.keras"


def _course_data(data):
    if data is not None:
        return data
    from .datasets import load_course_data

    return load_course_data(verbose=False)


def course_model(data=None, *, verbose=0):
    """The course's trained expression network for ``data`` (default: the course data).

    Loads the cached model when there is one for this data, profile, seed and code; otherwise
    trains it by the ``compact`` recipe of the active profile (resumable: a killed training
    continues where it stopped), caches it atomically and returns it.  The model takes 48x48
    grey faces with pixel values 0..255 and returns the probabilities of ``data.class_names``.
    Its test figures are in ``model.course_metrics`` (PrivateTest; empty when the data has none).
    """
    import keras

    from . import recipes

    data = _course_data(data)
    path = course_model_path(data)
    metrics_path = path.with_suffix(".json")
    if path.is_file():
        try:
            model = keras.saving.load_model(path)
            # Set after loading, never saved: the figures belong to the cache, not to the network.
            model.course_metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
            return model
        except Exception as exc:  # a damaged file: Keras, zipfile and h5py raise several kinds
            warnings.warn(f"the cached course model {path} cannot be loaded ({type(exc).__name__}: {exc}); "
                          "deleting it and training the model again", stacklevel=2)
            path.unlink(missing_ok=True)
    for old in path.parent.glob(f"course_model-{data.name}-{config.profile()}-*"):
        old.unlink(missing_ok=True)  # models of older code or data: never used again
    run_dir = config.data_home() / "runs" / path.stem
    result = recipes.train_named(MODEL_NAME, data=data, run_dir=run_dir, verbose=verbose)
    model = result.model
    atomic.save_model(model, path)
    atomic.write_json(metrics_path, {k: v for k, v in result.metrics.items() if k != "confusion"})
    shutil.rmtree(run_dir, ignore_errors=True)  # the cached model replaces the run's checkpoints
    # Loaded from this very file, as every later call gets it -- not through course_model(data),
    # which would compute the key again and, had the code changed meanwhile, discard this model.
    model = keras.saving.load_model(path)
    model.course_metrics = json.loads(metrics_path.read_text())
    return model
