"""Decoded-array caches: written atomically, keyed by the source so a changed source is re-read.

Decoding 35,887 JPEGs takes seconds; reading them back takes a fraction of that.  A cache is a
folder ``<dataset>-<key>/`` holding one ``.npy`` file per array (``.npy`` loads several times
faster than ``.npz``, which is a zip).  The key is a fingerprint of the source (see
:func:`fingerprint`) plus a format version, so editing, replacing or re-downloading the source
makes the old cache unused, and it is removed when the new one is written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .. import config

# Bump when what a reader puts in a cache changes, so old caches are not trusted.
FORMAT_VERSION = 2


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where caches go: ``explicit``, else ``FERCOURSE_CACHE``, else ``<data home>/.cache``."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("FERCOURSE_CACHE", "").strip()
    return Path(env).expanduser() if env else config.data_home() / ".cache"


def fingerprint(source: str | os.PathLike) -> str:
    """A short hex key that changes whenever the source does.

    A file is known by its name, size and modification time; a folder by those of every file
    in it (as ``make`` judges what changed, without reading any content).
    """
    path = Path(source).resolve()
    h = hashlib.sha256(f"v{FORMAT_VERSION}|{path}".encode())
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(path) if p != path else p.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cache_path(dataset: str, source, directory=None) -> Path:
    return cache_dir(directory) / f"{dataset}-{fingerprint(source)}"


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no usable cache at ``path``."""
    if not path.is_dir():
        return None
    try:
        arrays = {p.stem: np.load(p, allow_pickle=False) for p in sorted(path.glob("*.npy"))}
    except Exception as exc:  # a damaged cache is rebuilt, not fatal
        warnings.warn(f"ignoring unreadable cache {path}: {exc}", stacklevel=2)
        return None
    if not arrays:
        warnings.warn(f"ignoring unreadable cache {path}: it holds no arrays", stacklevel=2)
        return None
    return arrays


def save(path: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write ``arrays`` as the cache ``path`` atomically; remove older caches of the same dataset.

    The arrays are written into a temporary folder beside ``path``, which is then renamed
    into place, so a reader never sees half a cache.  Returns the path, or None when the
    cache folder cannot be written (the data is still returned to the caller; it is just
    decoded again next time).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}-"))
    except OSError as exc:
        warnings.warn(f"cannot write a cache in {path.parent} ({exc}); data will be decoded each time", stacklevel=2)
        return None
    try:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        tmp.chmod(0o755)  # mkdtemp makes it private; a cache in a shared data home need not be
        if path.exists():
            shutil.rmtree(path)  # a damaged cache under the same key
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    dataset = path.name.rsplit("-", 1)[0]
    for old in path.parent.glob(f"{dataset}-*"):
        if old != path and old.name.rsplit("-", 1)[0] == dataset:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return path
