"""Decoded-array caches that heal themselves: checked on every load, rebuilt when damaged.

Decoding 35,887 JPEGs takes seconds; reading them back takes a fraction of that.  A cache is a
folder ``<dataset>-<key>/`` holding one ``.npy`` file per array (``.npy`` loads several times
faster than ``.npz``, which is a zip) and a ``manifest.json`` written last: each array's
shape, dtype, size and a CRC-32 checksum of the file's bytes (:data:`CHECKSUM`).  The key
(:func:`fingerprint`) is the source's path, size and modification time plus
:data:`FORMAT_VERSION`, so editing, replacing or re-downloading the source makes the old cache
unused, and it is removed when the new one is written.

A cache is trusted only when its manifest is there and every file matches it.  Anything else --
a file deleted, swapped for another array, bytes overwritten, a write killed half-way -- is
reported as a warning naming the cache, the cache is deleted, and the caller decodes the
source again: never a crash, never silently wrong pixels.  The folder is written through
:func:`fercourse.atomic.replacing_dir`, which also clears what killed writers left behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import warnings
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .. import atomic, config

__all__ = ["cache_dir", "fingerprint", "cache_path", "load", "save", "checksum", "MANIFEST",
           "FORMAT_VERSION"]

# Bump when what a reader puts in a cache changes, so old caches are not trusted.
# 3: a manifest with shapes, dtypes and checksums.
FORMAT_VERSION = 3

MANIFEST = "manifest.json"
CHECKSUM = "crc32"
"""The checksum the manifest records: zlib's CRC-32 of each file's bytes.

It guards against damage (a disk, a copy, a killed writer), not against an adversary -- the
job CRC-32 does in zip, gzip and PNG.  It is paid on every load, and on the FER2013 cache it
was the fastest of the checks Python ships, hashlib's BLAKE2b and SHA-256 included
(``benchmarks/bench_datasets.py`` measures them side by side)."""


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Where caches go: ``explicit``, else :func:`fercourse.config.cache_home`."""
    return Path(explicit).expanduser() if explicit is not None else config.cache_home()


def fingerprint(source: str | os.PathLike) -> str:
    """A short hex key that changes whenever the source does.

    A file is known by its path, size and modification time; a folder by those of every file
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


def checksum(data) -> str:
    """The manifest's checksum of some bytes (anything with the buffer protocol)."""
    return f"{zlib.crc32(data):08x}"


class _Untrusted(Exception):
    """What is wrong with a cache, said in words."""


def load(path: Path, names=()) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when there is no cache at ``path`` that can be trusted.

    ``names`` are the arrays the caller needs; a cache lacking one is damaged.  A damaged
    cache is reported with a warning, deleted, and None returned, so the caller rebuilds it.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        return _read_checked(path, names)
    except Exception as exc:  # whatever is wrong, the source can be decoded again
        reason = str(exc) if isinstance(exc, _Untrusted) else f"{type(exc).__name__}: {exc}"
        _discard(path, reason)
        return None


def _read_checked(path: Path, names) -> dict[str, np.ndarray]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _Untrusted(f"it has no {MANIFEST} (a write that never finished, or an older format)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Untrusted(f"its {MANIFEST} is unreadable ({exc})") from None
    if manifest.get("format") != FORMAT_VERSION or manifest.get("algorithm") != CHECKSUM:
        raise _Untrusted(f"its {MANIFEST} is of another format "
                         f"({manifest.get('format')!r}, {manifest.get('algorithm')!r})")
    listed = manifest["arrays"]
    missing = [n for n in names if n not in listed]
    if missing:
        raise _Untrusted(f"it lacks the array(s) {', '.join(missing)}")
    on_disk = {p.stem for p in path.glob("*.npy")}
    if on_disk != set(listed):
        gone, extra = sorted(set(listed) - on_disk), sorted(on_disk - set(listed))
        raise _Untrusted("; ".join(
            [f"{n}.npy is missing" for n in gone] + [f"{n}.npy is not in its manifest" for n in extra]))
    arrays = {}
    for name, entry in listed.items():
        arrays[name] = _read_array(path / f"{name}.npy", entry)
    lengths = {n: len(a) for n, a in arrays.items() if a.ndim}
    if len(set(lengths.values())) > 1:
        raise _Untrusted("its arrays disagree in length: " + ", ".join(f"{n} {k}" for n, k in lengths.items()))
    return arrays


def _read_array(file: Path, entry: dict) -> np.ndarray:
    """Read one ``.npy`` file in a single pass, check it against its manifest entry, parse it."""
    size = file.stat().st_size
    if size != entry["bytes"]:
        raise _Untrusted(f"{file.name} has {size:,} bytes; its manifest says {entry['bytes']:,}")
    raw = np.empty(size, np.uint8)  # not a bytearray: that would be zeroed first, for nothing
    view, done = memoryview(raw), 0
    with open(file, "rb", buffering=0) as f:
        while done < size and (n := f.readinto(view[done:])):
            done += n
    if done != size:
        raise _Untrusted(f"{file.name} could not be read in full")
    if checksum(raw) != entry["checksum"]:
        raise _Untrusted(f"{file.name} does not match its checksum (its bytes changed after it was written)")
    array = _parse_npy(raw)
    if list(array.shape) != entry["shape"] or array.dtype.str != entry["dtype"]:
        raise _Untrusted(f"{file.name} holds {array.dtype.str} {list(array.shape)}; "
                         f"its manifest says {entry['dtype']} {entry['shape']}")
    return array


def _parse_npy(raw: np.ndarray) -> np.ndarray:
    # np.load would read the file a second time; the bytes already in memory become the array
    # without a copy.  Only the header is handed to NumPy's reader of it.
    f = io.BytesIO(raw[: 1 << 17].tobytes())
    version = npy_format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(f)
    else:  # (3, 0) differs only in the header's encoding; np.load reads it, with one copy
        return np.load(io.BytesIO(raw.tobytes()), allow_pickle=False)
    if dtype.hasobject:
        raise _Untrusted("an array holds Python objects, which a cache never does")
    count = int(np.prod(shape, dtype=np.int64))
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=f.tell())
    return array.reshape(shape, order="F" if fortran else "C")


def _discard(path: Path, reason: str) -> None:
    warnings.warn(f"the cache {path} cannot be trusted: {reason}; deleting it, the data will be decoded "
                  "again from its source", stacklevel=3)
    try:
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    except FileNotFoundError:  # another process got there first
        pass
    except OSError as exc:
        warnings.warn(f"could not delete the cache {path} ({exc}); delete it by hand", stacklevel=3)


def save(path: Path, arrays: dict[str, np.ndarray]) -> Path | None:
    """Write ``arrays`` as the cache ``path`` atomically; remove older caches of the same dataset.

    The arrays, then the manifest, are written into a temporary folder beside ``path``, which
    is renamed into place (:func:`fercourse.atomic.replacing_dir`), so a reader never sees half
    a cache.  Returns the path, or None when the cache folder cannot be written (the data is
    still returned to the caller; it is just decoded again next time).
    """
    path = Path(path)
    dataset = path.name.rsplit("-", 1)[0]
    try:
        _clean_old_leftovers(path.parent, dataset)
        with atomic.replacing_dir(path) as tmp:
            listed = {}
            for name, array in arrays.items():
                array = np.asarray(array)
                file = tmp / f"{name}.npy"
                np.save(file, array, allow_pickle=False)
                data = file.read_bytes()
                listed[name] = {"shape": list(array.shape), "dtype": array.dtype.str,
                                "bytes": len(data), "checksum": checksum(data)}
            # Written last: a folder without it is an unfinished cache.
            atomic.write_json(tmp / MANIFEST, {"format": FORMAT_VERSION, "algorithm": CHECKSUM, "arrays": listed})
    except OSError as exc:
        warnings.warn(f"cannot write a cache in {path.parent} ({exc}); data will be decoded each time", stacklevel=2)
        return None
    for old in path.parent.glob(f"{dataset}-*"):
        if old != path and old.name.rsplit("-", 1)[0] == dataset:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
    return path


def _clean_old_leftovers(folder: Path, dataset: str) -> None:
    # Before fercourse.atomic, cache writes used hidden folders ".<dataset>-<key>-<random>"
    # that a killed writer left behind and nothing removed; atomic.replacing_dir clears its own.
    for p in folder.glob(f".{dataset}-*"):
        if atomic.TMP_MARK not in p.name and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
