"""fercourse.atomic: whole files or none, and what killed writers leave is cleaned up."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fercourse import atomic


def _hidden(folder: Path):
    return sorted(p.name for p in folder.iterdir() if atomic.TMP_MARK in p.name)


def test_write_bytes_text_and_json(tmp_path):
    out = atomic.write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    assert out.read_bytes() == b"\x00\x01"
    assert atomic.write_text(tmp_path / "t.txt", "grüße").read_text(encoding="utf-8") == "grüße"
    j = atomic.write_json(tmp_path / "h.json", {"loss": [np.float32(0.5), float("nan")], "n": np.int64(3),
                                                "where": tmp_path, "inf": math.inf, 7: "key"})
    assert json.loads(j.read_text()) == {"loss": [0.5, None], "n": 3, "where": str(tmp_path), "inf": None,
                                         "7": "key"}
    assert "NaN" not in j.read_text()
    assert _hidden(tmp_path) == [] and _hidden(tmp_path / "a") == []


def test_to_json_makes_arrays_plain():
    assert atomic.to_json({"a": np.array([[1, 2]]), "b": (np.bool_(True), None)}) == {"a": [[1, 2]], "b": [True, None]}


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.replacing(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old" and _hidden(tmp_path) == []
    with pytest.raises(OSError, match="nothing was written"):
        with atomic.replacing(path):
            pass
    assert path.read_text() == "old"


@pytest.mark.parametrize("name", ["model.keras", "best.weights.h5", "images.npy"])
def test_the_temporary_name_ends_like_the_real_one(tmp_path, name):
    # Keras and NumPy choose the format from the suffix.
    with atomic.replacing(tmp_path / name) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".") and atomic.TMP_MARK in tmp.name
        assert tmp.name.endswith(".weights.h5" if name.endswith(".weights.h5") else Path(name).suffix)
        tmp.write_bytes(b"x")
    assert (tmp_path / name).read_bytes() == b"x"


def test_save_model_writes_through_a_temporary_name(tmp_path):
    class Model:
        def save(self, path):
            assert atomic.TMP_MARK in Path(path).name
            Path(path).write_bytes(b"model")

        def save_weights(self, path):
            assert Path(path).name.endswith(".weights.h5")
            Path(path).write_bytes(b"weights")

    assert atomic.save_model(Model(), tmp_path / "m.keras").read_bytes() == b"model"
    assert atomic.save_model(Model(), tmp_path / "w.weights.h5").read_bytes() == b"weights"
    assert _hidden(tmp_path) == []


def test_replacing_dir_swaps_a_whole_folder_only_on_success(tmp_path):
    path = tmp_path / "cache"
    with atomic.replacing_dir(path) as tmp:
        (tmp / "a.npy").write_bytes(b"1")
    assert sorted(p.name for p in path.iterdir()) == ["a.npy"]
    with pytest.raises(KeyboardInterrupt):
        with atomic.replacing_dir(path) as tmp:
            (tmp / "b.npy").write_bytes(b"2")
            raise KeyboardInterrupt
    assert sorted(p.name for p in path.iterdir()) == ["a.npy"] and _hidden(tmp_path) == []
    with atomic.replacing_dir(path) as tmp:
        (tmp / "b.npy").write_bytes(b"2")
    assert sorted(p.name for p in path.iterdir()) == ["b.npy"] and _hidden(tmp_path) == []


def test_clean_leftovers_removes_what_dead_writers_left_and_spares_live_ones(tmp_path):
    dead = 999_999_999  # above any real process id
    (tmp_path / f".x{atomic.TMP_MARK}-{dead}.json").write_text("half")
    (tmp_path / f".y{atomic.TMP_MARK}-abc123-{dead}").mkdir()
    (tmp_path / f".m{atomic.TMP_MARK}-{dead}.weights.h5").write_bytes(b"half")
    (tmp_path / ".unrelated").write_text("keep")
    (tmp_path / "real.json").write_text("keep")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        busy = tmp_path / f".z{atomic.TMP_MARK}-{live.pid}.json"
        busy.write_text("being written")
        assert atomic.clean_leftovers(tmp_path, tmp_path / "x.json") == 1  # only that file's
        assert atomic.clean_leftovers(tmp_path) == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".unrelated", "real.json", busy.name])
    finally:
        live.kill()
        live.wait()
    assert atomic.clean_leftovers(tmp_path) == 1 and not busy.exists()
    assert atomic.clean_leftovers(tmp_path / "no-such-folder") == 0


KILLED = """
import sys, time
from fercourse import atomic
with atomic.replacing(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a file")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_a_killed_write_leaves_the_old_file_and_a_leftover_that_is_cleaned(tmp_path):
    path = tmp_path / "history.json"
    path.write_text("old")
    writer = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        leftover = Path(writer.stdout.readline().strip())
    finally:
        writer.kill()
        writer.wait()
    assert path.read_text() == "old" and leftover.exists()
    atomic.write_text(tmp_path / "other.json", "{}")  # the next write into the folder removes it
    assert not leftover.exists() and _hidden(tmp_path) == []
    atomic.write_text(path, "new")
    assert path.read_text() == "new" and _hidden(tmp_path) == []


def test_a_folder_write_cleans_every_leftover_beside_it(tmp_path):
    (tmp_path / f".h{atomic.TMP_MARK}-999999999.json").write_text("half")
    with atomic.replacing_dir(tmp_path / "folder") as tmp:
        (tmp / "x").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
