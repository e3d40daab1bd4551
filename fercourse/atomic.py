"""Atomic writes: every file the course writes goes through here.

A laptop killed mid-write, or a full disk, must never leave half a file where a whole one
stood.  Each writer puts its bytes in a temporary file *in the same folder* (so the final
rename stays on one file system and is atomic), then :func:`os.replace` swaps it in.  A reader
sees the old file or the new one, never a mixture.  Temporary names start with ``.`` and
carry :data:`TMP_MARK`, so :func:`clean_leftovers` can remove what a killed writer left.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["replacing", "replacing_dir", "write_bytes", "write_text", "write_json", "save_model",
           "clean_leftovers", "to_json", "TMP_MARK"]

_CLEANED: set = set()  # folders this process has already cleaned

TMP_MARK = ".fercourse-tmp"
"""Part of every temporary name, so leftovers of killed writes are recognised and removed."""


def _tmp_name(path: Path) -> str:
    # Keras chooses the format from the suffix, so the temporary name ends like the real one.
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix
    return f".{path.stem}{TMP_MARK}-{os.getpid()}{suffix}"


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``with atomic.replacing(out) as tmp: cv2.imwrite(str(tmp), image)`` -- for writers that
    want a file name (OpenCV, Keras, NumPy) rather than bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Each writer's temporary name carries its process id, so a killed writer's file is not
    # reused by the next one: remove it here, or it would stay for good.  Once per folder and
    # process: listing a folder of thousands of crops for every write would make writing them
    # quadratic, and what killed writers left does not grow while this process runs.
    if path.parent not in _CLEANED:
        clean_leftovers(path.parent)
        _CLEANED.add(path.parent)
    tmp = path.with_name(_tmp_name(path))
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written for {path}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def replacing_dir(path):
    """Like :func:`replacing` for a folder: fill the yielded temporary folder, then it becomes ``path``.

    An existing folder at ``path`` is removed only once the new one is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}{TMP_MARK}-", suffix=f"-{os.getpid()}"))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private; a cache in a shared data home need not be
        if path.exists():
            old = path.with_name(f".{path.name}{TMP_MARK}-old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes(path, data: bytes) -> Path:
    with replacing(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_text(path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def to_json(obj):
    """``obj`` made JSON-safe: NumPy scalars and arrays as Python values, paths as strings, and
    NaN / infinity as ``None`` -- ``NaN`` is not JSON, and a file holding it is unreadable to
    most JSON readers."""
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_json(obj.tolist())
    if isinstance(obj, np.generic):
        return to_json(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(to_json(obj), indent=2, allow_nan=False) + "\n")


def save_model(model, path) -> Path:
    """Save a Keras model (``.keras``) or its weights (``.weights.h5``) atomically."""
    path = Path(path)
    with replacing(path) as tmp:
        if path.name.endswith(".weights.h5"):
            model.save_weights(tmp)
        else:
            model.save(tmp)
    return path


def clean_leftovers(folder, target=None) -> int:
    """Remove what killed writers left in ``folder`` (only of the file ``target``, when given);
    returns how many entries went."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    gone = 0
    pattern = f".{glob.escape(Path(target).stem)}{TMP_MARK}-*" if target is not None else f".*{TMP_MARK}*"
    for p in folder.glob(pattern):
        # Another process may be writing right now: leave files of live writers alone.
        pid = p.name.rsplit("-", 1)[-1].split(".")[0]
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        gone += 1
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
