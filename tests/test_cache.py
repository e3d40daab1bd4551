"""Decoded-array caches (fercourse.datasets.cache): written atomically with a manifest, checked on
every load, and healed -- deleted and rebuilt from the source, with a warning -- when damaged."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

from conftest import TINY, encode, face_pixels
from fercourse import atomic, cli
from fercourse.datasets import DataFormatError, load_fer2013
from fercourse.datasets import cache


def _only_cache(folder):
    (cpath,) = [p for p in folder.glob("fer2013-*")]
    return cpath


def _load_silently(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a trusted cache loads without a word
        return load_fer2013(path, **kw)


# --- written, used, keyed ------------------------------------------------------------------

def test_cache_is_written_then_used(fer_zip, data_home, monkeypatch):
    first = load_fer2013(fer_zip)
    assert len(list((data_home / ".cache").glob("fer2013-*"))) == 1
    # A second load must not decode anything.
    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "_read_image_folder", lambda p: pytest.fail("decoded again despite the cache"))
    again = _load_silently(fer_zip)
    np.testing.assert_array_equal(first.images, again.images)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert list(first.splits) == list(again.splits)


def test_manifest_describes_every_array_and_is_written_last(fer_zip, data_home, monkeypatch):
    order = []
    real_save, real_json = np.save, atomic.write_json
    monkeypatch.setattr(np, "save", lambda f, a, **kw: (order.append(f.name), real_save(f, a, **kw)))
    monkeypatch.setattr(atomic, "write_json", lambda p, o: (order.append(p.name), real_json(p, o))[1])
    data = load_fer2013(fer_zip)
    assert order == ["images.npy", "labels.npy", "splits.npy", cache.MANIFEST]
    cpath = _only_cache(data_home / ".cache")
    manifest = json.loads((cpath / cache.MANIFEST).read_text())
    assert manifest["format"] == cache.FORMAT_VERSION and manifest["algorithm"] == cache.CHECKSUM == "crc32"
    assert set(manifest["arrays"]) == {"images", "labels", "splits"}
    images = manifest["arrays"]["images"]
    assert images["shape"] == [len(TINY), 48, 48] and images["dtype"] == "|u1"
    raw = (cpath / "images.npy").read_bytes()
    assert images["bytes"] == len(raw) and images["checksum"] == cache.checksum(raw)
    assert images["checksum"] != manifest["arrays"]["labels"]["checksum"]
    assert data.images.shape == (len(TINY), 48, 48)


def test_changed_source_is_reread_and_old_cache_removed(fer_zip, data_home):
    load_fer2013(fer_zip)
    old = list((data_home / ".cache").glob("fer2013-*"))
    with zipfile.ZipFile(fer_zip, "a") as zf:
        zf.writestr("train/happy/Training_9999.png", encode(face_pixels(42)))
    data = load_fer2013(fer_zip)
    assert len(data) == len(TINY) + 1
    new = list((data_home / ".cache").glob("fer2013-*"))
    assert len(new) == 1 and new != old


def test_cache_dir_can_be_set(fer_zip, data_home, tmp_path, monkeypatch):
    elsewhere = tmp_path / "cache"
    load_fer2013(fer_zip, cache_dir=elsewhere)
    assert len(list(elsewhere.glob("fer2013-*"))) == 1
    assert not (data_home / ".cache").exists()
    monkeypatch.setenv("FERCOURSE_CACHE", str(tmp_path / "env-cache"))
    load_fer2013(fer_zip)
    assert len(list((tmp_path / "env-cache").glob("fer2013-*"))) == 1
    assert not (data_home / ".cache").exists()


def test_fingerprint_changes_with_content(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x")
    before = cache.fingerprint(f)
    f.write_text("xy")
    assert cache.fingerprint(f) != before


def test_failed_read_leaves_no_cache_file(tmp_path, data_home):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("train/happy/Training_1.png", encode(face_pixels(1)))
        zf.writestr("train/happy/Training_2.png", b"broken")
    with pytest.raises(DataFormatError):
        load_fer2013(path)
    assert list((data_home / ".cache").glob("*")) == []


def test_interrupted_cache_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "c" / "fer2013-abc"
    calls = []
    real_save = np.save

    def save_then_fail(file, arr, **kw):
        calls.append(file)
        if len(calls) == 2:  # the second array: the first is already on disk
            raise KeyboardInterrupt
        real_save(file, arr, **kw)

    monkeypatch.setattr(np, "save", save_then_fail)
    with pytest.raises(KeyboardInterrupt):
        cache.save(target, {"x": np.zeros(3), "y": np.ones(3)})
    assert list(target.parent.iterdir()) == []


def test_an_unwritable_cache_folder_is_a_warning_not_an_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="cannot write a cache"):
        assert cache.save(blocker / "fer2013-abc", {"x": np.zeros(3)}) is None


def test_arrays_round_trip_with_their_dtypes_and_layout(tmp_path):
    arrays = {"u8": np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
              "text": np.array(["Training", "PublicTest"]),
              "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
              "i64": np.array([3, -1], np.int64)}
    path = cache.save(tmp_path / "t-abc", arrays)
    back = cache.load(path, names=arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype
        np.testing.assert_array_equal(back[name], array)


def test_no_cache_is_none_without_a_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.load(tmp_path / "fer2013-none") is None


# --- damaged caches heal themselves ---------------------------------------------------------

def _delete_labels(cpath):
    (cpath / "labels.npy").unlink()


def _swap_images_for_another_array(cpath):
    np.save(cpath / "images.npy", np.zeros((10, 48, 48), np.uint8))


def _swap_images_for_one_of_the_same_shape(cpath):
    images = np.load(cpath / "images.npy")
    np.save(cpath / "images.npy", 255 - images)


def _overwrite_bytes_inside_images(cpath):
    f = cpath / "images.npy"
    raw = bytearray(f.read_bytes())
    raw[-200:-100] = bytes(100)  # pixels, past the header: the file still parses
    f.write_bytes(bytes(raw))


def _truncate_images(cpath):
    f = cpath / "images.npy"
    f.write_bytes(f.read_bytes()[:1000])


def _delete_manifest(cpath):
    (cpath / cache.MANIFEST).unlink()


def _garble_manifest(cpath):
    (cpath / cache.MANIFEST).write_text('{"format": 3, "arr')


def _add_a_stray_array(cpath):
    np.save(cpath / "stray.npy", np.zeros(3))


def _manifest_without_splits(cpath):
    m = json.loads((cpath / cache.MANIFEST).read_text())
    del m["arrays"]["splits"]
    (cpath / "splits.npy").unlink()
    (cpath / cache.MANIFEST).write_text(json.dumps(m))


def _manifest_of_another_checksum(cpath):
    m = json.loads((cpath / cache.MANIFEST).read_text())
    m["algorithm"] = "blake2b-128"
    (cpath / cache.MANIFEST).write_text(json.dumps(m))


def _replace_folder_by_a_file(cpath):
    import shutil

    shutil.rmtree(cpath)
    cpath.write_text("not a cache")


@pytest.mark.parametrize("damage, reason", [
    (_delete_labels, "labels.npy is missing"),
    (_swap_images_for_another_array, "images.npy has"),
    (_swap_images_for_one_of_the_same_shape, "images.npy does not match its checksum"),
    (_overwrite_bytes_inside_images, "images.npy does not match its checksum"),
    (_truncate_images, "images.npy has 1,000 bytes"),
    (_delete_manifest, "has no manifest.json"),
    (_garble_manifest, "manifest.json is unreadable"),
    (_add_a_stray_array, "stray.npy is not in its manifest"),
    (_manifest_without_splits, "lacks the array(s) splits"),
    (_manifest_of_another_checksum, "of another format (3, 'blake2b-128')"),
    (_replace_folder_by_a_file, "NotADirectoryError"),
])
def test_a_damaged_cache_is_reported_deleted_and_rebuilt(fer_zip, data_home, damage, reason):
    good = load_fer2013(fer_zip)
    cpath = _only_cache(data_home / ".cache")
    damage(cpath)
    with pytest.warns(UserWarning) as caught:
        healed = load_fer2013(fer_zip)
    (message,) = [str(w.message) for w in caught]
    assert str(cpath) in message and "cannot be trusted" in message and reason in message
    assert "decoded again" in message
    # The right pixels, not the damaged ones, and a fresh cache that loads without a word.
    np.testing.assert_array_equal(healed.images, good.images)
    np.testing.assert_array_equal(healed.labels, good.labels)
    assert (cpath / cache.MANIFEST).is_file()
    np.testing.assert_array_equal(_load_silently(fer_zip).images, good.images)


def test_data_info_survives_a_broken_cache(fer_zip, data_home, capsys):
    (data_home / "fer2013.zip").write_bytes(fer_zip.read_bytes())
    assert cli.main(["data", "info"]) == 0
    capsys.readouterr()
    _delete_labels(_only_cache(data_home / ".cache"))
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr()
    assert "Training" in out.out and "happy" in out.out
    assert "fercourse: warning: the cache" in out.err and "labels.npy is missing" in out.err


def test_data_info_reports_a_damaged_dataset_and_goes_on(tmp_path, data_home, capsys):
    (data_home / "fer2013.zip").write_bytes(b"PK\x03\x04 and then nothing")
    assert cli.main(["data", "info"]) == 1
    out = capsys.readouterr()
    assert "fer2013 cannot be read" in out.err and "damaged zip archive" in out.err
    assert "fer2013.zip" in out.out  # the listing came first


# --- leftovers of killed writes -------------------------------------------------------------

KILLED_WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from fercourse.datasets import cache

real_save = np.save
def save_then_hang(file, array, **kw):
    real_save(file, array, **kw)
    print("one array written", flush=True)
    time.sleep(60)

np.save = save_then_hang
cache.save(Path(sys.argv[1]), {"images": np.zeros((5, 4, 4), np.uint8), "labels": np.zeros(5)})
"""


def test_a_killed_write_leaves_a_folder_the_next_write_removes(fer_zip, data_home):
    folder = data_home / ".cache"
    target = folder / f"fer2013-{cache.fingerprint(fer_zip)}"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "one array written"
    finally:
        writer.kill()
        writer.wait()
    (leftover,) = list(folder.iterdir())
    assert leftover.name.startswith(".fer2013-") and atomic.TMP_MARK in leftover.name
    assert (leftover / "images.npy").is_file()
    # A leftover from before fercourse.atomic (mkdtemp's ".<cache>-<random>") goes too.
    old_style = folder / f".{target.name}-x1y2z3"
    old_style.mkdir()
    (old_style / "images.npy").write_bytes(b"half")
    assert load_fer2013(fer_zip).images.shape == (len(TINY), 48, 48)
    assert sorted(p.name for p in folder.iterdir()) == [target.name]
