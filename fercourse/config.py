"""Profiles, paths and the seed: the course's settings, read in one place.

These environment variables steer every chapter:

``FERCOURSE_PROFILE``
    ``quick`` (default) sizes the work for a 2-core laptop without a GPU;
    ``full`` uses the works' own settings on the real datasets, for GPU runners.
``FERCOURSE_DATA``
    The data home, where real datasets and decoded caches live.  Default: ``data/``
    at the top of the course (beside ``_config.yml``), else ``./data``.
``FERCOURSE_CACHE``
    Where decoded datasets are cached.  Default: ``.cache`` inside the data home.
``FERCOURSE_SEED``
    The one global seed (default 0), a whole number from 0 to 2**32 - 1.
``FERCOURSE_DATASET``
    Which data the chapters use: ``auto`` (default: real FER2013 when the data home holds
    it, else the built-in synthetic faces), ``fer2013`` (fail if absent) or ``synthetic``.

Values that differ between profiles are written where they are used, with
:func:`by_profile`, so that a chapter states its own quick and full settings side by side.
"""

from __future__ import annotations

import numbers
import os
import random
import re
from pathlib import Path

PROFILES = ("quick", "full")
DATASET_CHOICES = ("auto", "fer2013", "synthetic")
DEFAULT_PROFILE = "quick"
DEFAULT_SEED = 0
MAX_SEED = 2**32 - 1  # NumPy's legacy global seed, which seed_everything sets, takes no more

_PACKAGE_DIR = Path(__file__).resolve().parent


def profile() -> str:
    """The active profile, from ``FERCOURSE_PROFILE`` (``quick`` when unset)."""
    value = os.environ.get("FERCOURSE_PROFILE", "").strip().lower() or DEFAULT_PROFILE
    if value not in PROFILES:
        raise ValueError(
            f"FERCOURSE_PROFILE={os.environ['FERCOURSE_PROFILE']!r} is not a profile; "
            f"valid values: {', '.join(PROFILES)}"
        )
    return value


def dataset_choice() -> str:
    """Which data the chapters use, from ``FERCOURSE_DATASET`` (``auto`` when unset)."""
    value = os.environ.get("FERCOURSE_DATASET", "").strip().lower() or "auto"
    if value not in DATASET_CHOICES:
        raise ValueError(
            f"FERCOURSE_DATASET={os.environ['FERCOURSE_DATASET']!r} is not a choice; "
            f"valid values: {', '.join(DATASET_CHOICES)}"
        )
    return value


def is_quick() -> bool:
    return profile() == "quick"


def by_profile(*, quick, full):
    """Pick the value for the active profile: ``epochs = by_profile(quick=3, full=60)``."""
    return quick if profile() == "quick" else full


def project_root() -> Path | None:
    """The course's top folder when running from a checkout (it holds ``_config.yml``)."""
    root = _PACKAGE_DIR.parent
    return root if (root / "_config.yml").is_file() else None


def data_home(create: bool = False) -> Path:
    """The data home: ``FERCOURSE_DATA``, else ``data/`` at the course's top, else ``./data``."""
    env = os.environ.get("FERCOURSE_DATA", "").strip()
    if env:
        home = Path(env).expanduser()
        if home.exists() and not home.is_dir():
            raise NotADirectoryError(f"FERCOURSE_DATA={env!r} is a file; it must name a folder")
    else:
        root = project_root()
        home = (root if root is not None else Path.cwd()) / "data"
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home.resolve()


def cache_home() -> Path:
    """Where decoded datasets are cached: ``FERCOURSE_CACHE``, else ``<data home>/.cache``."""
    env = os.environ.get("FERCOURSE_CACHE", "").strip()
    if not env:
        return data_home() / ".cache"
    home = Path(env).expanduser()
    if home.exists() and not home.is_dir():
        raise NotADirectoryError(f"FERCOURSE_CACHE={env!r} is a file; it must name a folder")
    return home.resolve()


def seed() -> int:
    """The global seed, from ``FERCOURSE_SEED`` (0 when unset)."""
    value = os.environ.get("FERCOURSE_SEED", "").strip()
    if not value:
        return DEFAULT_SEED
    return check_seed(value, "FERCOURSE_SEED")


def check_seed(value, name: str = "seed") -> int:
    """``value`` as a seed (a whole number 0..2**32 - 1); otherwise a ValueError naming ``name``."""
    number = None
    if isinstance(value, str):
        if re.fullmatch(r"[0-9]+", value.strip()):
            number = int(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        number = int(value)
    if number is None or not 0 <= number <= MAX_SEED:
        raise ValueError(f"{name}={value!r} is not a valid seed; expected a whole number from 0 to {MAX_SEED}")
    return number


def seed_everything(value: int | None = None) -> int:
    """Seed Python, NumPy and Keras (and so the backend) with one number; returns it."""
    import numpy as np

    value = seed() if value is None else check_seed(value, "seed_everything(value)")
    random.seed(value)
    np.random.seed(value)
    try:
        import keras
    except ImportError:  # the data layers need no Keras
        return value
    keras.utils.set_random_seed(value)
    return value


def describe() -> str:
    """One line saying which settings are in force, for the top of a notebook."""
    return f"profile={profile()}  dataset={dataset_choice()}  data home={data_home()}  seed={seed()}"
