"""Decoded-array caches: written atomically, keyed by the source so a changed source is re-read.

Decoding 35,887 JPEGs takes seconds; reading them back from one ``.npz`` takes a fraction
of that.  The key is a fingerprint of the source (see :func:`fingerprint`) plus a format
version, so editing, replacing or re-downloading the source makes the old cache unused
(and it is removed when the new one is written).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .. import config

# Bump when what a reader puts in a cache changes, so old caches are not trusted.
FORMAT_VERSION = 1


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where caches go: ``explicit``, else ``FERCOURSE_CACHE``, else ``<data home>/.cache``."""
    if explicit is not None:
        return Path(explicit).expanduser()
    env = os.environ.get("FERCOURSE_CACHE", "").strip()
    return Path(env).expanduser() if env else config.data_home() / ".cache"


def fingerprint(source: str | os.PathLike) -> str:
    """A short hex key that changes whenever the source's content does.

    - a zip: the name, size and CRC-32 of every member (the archive's own checksums, read
      from its directory without decompressing anything);
    - a folder: the relative path, size and modification time of every file;
    - any other file: its size and modification time.
    """
    path = Path(source)
    h = hashlib.sha256(f"v{FORMAT_VERSION}".encode())
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                h.update(f"{info.filename}|{info.file_size}|{info.CRC}\n".encode())
    else:
        st = path.stat()
        h.update(f"{path.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def cache_path(dataset: str, source, directory=None) -> Path:
    return cache_dir(directory) / f"{dataset}-{fingerprint(source)}.npz"


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no usable cache at ``path``."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as exc:  # a damaged cache is rebuilt, not fatal
        warnings.warn(f"ignoring unreadable cache {path}: {exc}", stacklevel=2)
        return None


def save(path: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write ``arrays`` to ``path`` atomically and remove older caches of the same dataset.

    Returns the path, or None when the cache folder cannot be written (the data is still
    returned to the caller; it is just decoded again next time).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    except OSError as exc:
        warnings.warn(f"cannot write a cache in {path.parent} ({exc}); data will be decoded each time", stacklevel=2)
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache in a shared data home is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dataset = path.name.rsplit("-", 1)[0]
    for old in path.parent.glob(f"{dataset}-*.npz"):
        if old != path and old.name.rsplit("-", 1)[0] == dataset:
            old.unlink(missing_ok=True)
    return path
