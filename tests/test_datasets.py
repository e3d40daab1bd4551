"""FER2013 readers (CSV, zip, folder), the cache, fetch, and the chapters' entry point."""

from __future__ import annotations

import os
import zipfile

import numpy as np
import pytest

from conftest import TINY, csv_text, encode, face_pixels, write_fer_tree
from fercourse.datasets import (
    DataFormatError, DataMissingError, FaceData, available, fer2013_path, fetch_fer2013,
    load_course_data, load_fer2013,
)
from fercourse.datasets import cache
from fercourse.datasets.fer2013 import check_counts
from fercourse.labels import EMOTIONS, EMOTIONS_MERGED, SPLITS


# --- the CSV -----------------------------------------------------------------------------

def test_csv_is_read_row_by_row(fer_csv, data_home):
    path, rows = fer_csv
    data = load_fer2013(path)
    assert data.images.shape == (len(rows), 48, 48) and data.images.dtype == np.uint8
    for i, (emotion, img, usage) in enumerate(rows):
        np.testing.assert_array_equal(data.images[i], img)
        assert data.labels[i] == emotion and data.splits[i] == usage
    assert data.class_names == EMOTIONS


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t.replace("emotion,pixels,Usage", "emotion,pixel,Usage"), "missing column(s) pixels"),
    (lambda t: "", "empty"),
    (lambda t: t.splitlines()[0] + "\n", "no data rows"),
    (lambda t: t.replace("\n0,", "\n9,", 1), "row 2: unknown emotion code '9'"),
    (lambda t: t.replace("\n0,", "\nx,", 1), "row 2: unknown emotion code 'x'"),
    (lambda t: _edit_pixels(t, 3, lambda p: p[:-4]), "row 4: 2303 pixel values; expected 2304"),
    (lambda t: _edit_pixels(t, 2, lambda p: "abc" + p[p.index(" "):]), "row 3: non-numeric pixel value 'abc'"),
    (lambda t: _edit_pixels(t, 2, lambda p: "300" + p[p.index(" "):]), "row 3: pixel values must lie in 0..255"),
    (lambda t: t.replace("Training", "Train", 1), "unknown Usage 'Train'"),
])
def test_csv_errors_name_the_file_and_row(fer_csv, data_home, mutate, message):
    path, _ = fer_csv
    path.write_text(mutate(path.read_text()))
    with pytest.raises(DataFormatError) as err:
        load_fer2013(path)
    assert str(path) in str(err.value) and message in str(err.value)


def _edit_pixels(text: str, line: int, edit) -> str:
    lines = text.splitlines()
    emotion, pixels, usage = lines[line].split(",")
    lines[line] = ",".join([emotion, edit(pixels), usage])
    return "\n".join(lines) + "\n"


# --- the image-folder archive --------------------------------------------------------------

@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_image_folder_from_zip_or_folder(kind, fer_zip, fer_folder, data_home):
    data = load_fer2013(fer_zip if kind == "zip" else fer_folder)
    assert len(data) == len(TINY)
    # Sorted by split in FER2013's order, then by path (class folder, file name).
    expected = sorted(TINY, key=lambda e: (SPLITS.index(e[0]), e[1]))
    assert list(data.splits) == [s for s, _ in expected]
    assert [EMOTIONS[i] for i in data.labels] == [c for _, c in expected]
    # PNG is lossless: pixels come back exactly.
    first_training = face_pixels(0)
    np.testing.assert_array_equal(data.images[0], first_training)


def test_zip_and_folder_agree(fer_zip, fer_folder, data_home):
    a, b = load_fer2013(fer_zip), load_fer2013(fer_folder)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_zip_with_a_top_folder_and_macos_junk_is_read(tmp_path, data_home):
    path = tmp_path / "nested.zip"
    with zipfile.ZipFile(path, "w") as zf:
        write_fer_tree(lambda rel, b: zf.writestr("fer2013/" + rel, b))
        zf.writestr("__MACOSX/fer2013/train/._x.png", b"junk")
        zf.writestr("fer2013/README.txt", "not an image")
    assert len(load_fer2013(path)) == len(TINY)


def _zip_with(tmp_path, entries: dict[str, bytes]):
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in entries.items():
            zf.writestr(rel, data)
    return path


@pytest.mark.parametrize("entries, message", [
    ({"README.txt": b"hello"}, "no images found"),
    ({"train/joy/Training_1.png": encode(face_pixels(1))}, "unknown class folder 'joy'"),
    ({"train/happy/Training_1.png": b"not a png"}, "cannot decode"),
    ({"train/happy/Training_1.png": encode(np.zeros((64, 64), np.uint8))}, "is 64x64 pixels; expected 48x48"),
    ({"train/happy/img_1.png": encode(face_pixels(1))}, "does not say its split"),
    ({"Training_1.png": encode(face_pixels(1))}, "outside a class folder"),
])
def test_image_folder_errors_name_the_entry(tmp_path, data_home, entries, message):
    path = _zip_with(tmp_path, entries)
    with pytest.raises(DataFormatError) as err:
        load_fer2013(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_merge_disgust_gives_six_classes(fer_zip, data_home):
    seven, six = load_fer2013(fer_zip), load_fer2013(fer_zip, merge_disgust=True)
    assert six.class_names == EMOTIONS_MERGED
    names7 = [EMOTIONS[i] for i in seven.labels]
    names6 = [EMOTIONS_MERGED[i] for i in six.labels]
    assert names6 == ["angry" if n == "disgust" else n for n in names7]


# --- the cache -----------------------------------------------------------------------------

def test_cache_is_written_then_used(fer_zip, data_home, monkeypatch):
    first = load_fer2013(fer_zip)
    cached = list((data_home / ".cache").glob("fer2013-*"))
    assert len(cached) == 1
    # A second load must not decode anything.
    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "_read_image_folder", lambda p: pytest.fail("decoded again despite the cache"))
    again = load_fer2013(fer_zip)
    np.testing.assert_array_equal(first.images, again.images)


def test_changed_source_is_reread_and_old_cache_removed(fer_zip, data_home):
    load_fer2013(fer_zip)
    old = list((data_home / ".cache").glob("fer2013-*"))
    with zipfile.ZipFile(fer_zip, "a") as zf:
        zf.writestr("train/happy/Training_9999.png", encode(face_pixels(42)))
    data = load_fer2013(fer_zip)
    assert len(data) == len(TINY) + 1
    new = list((data_home / ".cache").glob("fer2013-*"))
    assert len(new) == 1 and new != old


def test_cache_dir_can_be_set(fer_zip, data_home, tmp_path):
    elsewhere = tmp_path / "cache"
    load_fer2013(fer_zip, cache_dir=elsewhere)
    assert len(list(elsewhere.glob("fer2013-*"))) == 1
    assert not (data_home / ".cache").exists()


def test_failed_read_leaves_no_cache_file(tmp_path, data_home):
    path = _zip_with(tmp_path, {"train/happy/Training_1.png": encode(face_pixels(1)),
                                "train/happy/Training_2.png": b"broken"})
    with pytest.raises(DataFormatError):
        load_fer2013(path)
    assert list((data_home / ".cache").glob("*")) == []


def test_interrupted_cache_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "c" / "fer2013-abc"
    calls = []

    def save_then_fail(file, arr, **kw):
        calls.append(file)
        if len(calls) == 2:  # the second array: the first is already on disk
            raise KeyboardInterrupt
        real_save(file, arr, **kw)

    real_save = np.save
    monkeypatch.setattr(np, "save", save_then_fail)
    with pytest.raises(KeyboardInterrupt):
        cache.save(target, {"x": np.zeros(3), "y": np.ones(3)})
    assert list(target.parent.iterdir()) == []


def test_damaged_cache_is_rebuilt(fer_zip, data_home):
    load_fer2013(fer_zip)
    (cpath,) = (data_home / ".cache").glob("fer2013-*")
    (cpath / "images.npy").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cache"):
        data = load_fer2013(fer_zip)
    assert len(data) == len(TINY)


def test_fingerprint_changes_with_content(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x")
    before = cache.fingerprint(f)
    f.write_text("xy")
    assert cache.fingerprint(f) != before


# --- finding, fetching, and the chapters' entry point --------------------------------------

def test_missing_data_explains_what_to_download(data_home):
    with pytest.raises(DataMissingError) as err:
        load_fer2013()
    text = str(err.value)
    assert "kaggle.com" in text and str(data_home) in text and "fercourse data fetch fer2013" in text
    assert fer2013_path() is None and available()["fer2013"] is None


def test_fetch_without_source_explains(data_home):
    with pytest.raises(DataMissingError, match="kaggle"):
        fetch_fer2013(None)


def test_fetch_rejects_an_incomplete_copy_and_writes_nothing(fer_zip, data_home):
    with pytest.raises(DataFormatError, match="not the complete FER2013"):
        fetch_fer2013(fer_zip)
    assert [p.name for p in data_home.iterdir()] == []


def test_fetch_puts_a_checked_copy_in_place(fer_zip, data_home, monkeypatch):
    import fercourse.datasets.fer2013 as fer

    # The tiny archive stands in for the full one: only the size check is relaxed.
    monkeypatch.setattr(fer, "check_counts", lambda data: [])
    target = fetch_fer2013(fer_zip)
    assert target == data_home / "fer2013.zip" and target.read_bytes() == fer_zip.read_bytes()
    assert fer2013_path() == target
    assert fetch_fer2013(fer_zip) == target  # the same file again: nothing to do
    other = fer_zip.with_name("other.zip")
    with zipfile.ZipFile(other, "w") as zf:
        write_fer_tree(zf.writestr, TINY[:4])
    with pytest.raises(FileExistsError, match="force"):
        fetch_fer2013(other)
    assert fetch_fer2013(other, force=True).read_bytes() == other.read_bytes()


def test_fetch_takes_the_csv_out_of_the_challenge_tarball(fer_csv, data_home, tmp_path, monkeypatch):
    import tarfile

    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "check_counts", lambda data: [])
    csv_path, rows = fer_csv
    tgz = tmp_path / "fer2013.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(csv_path, arcname="fer2013/fer2013.csv")
    target = fetch_fer2013(tgz)
    assert target.name == "fer2013.csv" and len(load_fer2013()) == len(rows)


def test_check_counts_reports_differences(fer_zip, data_home):
    problems = check_counts(load_fer2013(fer_zip))
    assert any(p.startswith("Training: 4 images, expected 28,709") for p in problems)


def test_course_data_prefers_fer2013(fer_zip, data_home, capsys):
    (data_home / "fer2013.zip").write_bytes(fer_zip.read_bytes())
    data = load_course_data()
    assert data.name == "fer2013" and len(data) == len(TINY)
    assert "fer2013" in capsys.readouterr().out


def test_course_data_dataset_must_be_valid(data_home):
    with pytest.raises(ValueError, match="auto, fer2013, synthetic"):
        load_course_data(dataset="imagenet")


def test_course_data_fer2013_required_but_absent(data_home):
    with pytest.raises(DataMissingError):
        load_course_data(dataset="fer2013")


def test_course_data_falls_back_to_synthetic(data_home, capsys):
    data = load_course_data(synthetic_n=60)
    assert data.name == "synthetic" and len(data) == 60
    out = capsys.readouterr().out
    assert "synthetic" in out and "not in the data home" in out


# --- FaceData ------------------------------------------------------------------------------

def test_facedata_checks_its_arrays():
    images = np.zeros((3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="labels has 2 entries for 3 images"):
        FaceData(images, np.zeros(2, int), np.array(["Training"] * 3), EMOTIONS, "t", "test")
    with pytest.raises(ValueError, match="uint8"):
        FaceData(images.astype(float), np.zeros(3, int), np.array(["Training"] * 3), EMOTIONS, "t", "test")


def test_facedata_split_select_counts():
    images = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    data = FaceData(images, np.array([0, 3, 3, 6, 0]), np.array(["Training"] * 3 + ["PrivateTest"] * 2),
                    EMOTIONS, "t", "test", extras={"v": np.arange(5.0)})
    x, y = data.split("PrivateTest")
    np.testing.assert_array_equal(y, [6, 0])
    np.testing.assert_array_equal(x, images[3:])
    sub = data.select(data.labels == 3)
    assert len(sub) == 2 and list(sub.extras["v"]) == [1.0, 2.0]
    counts = data.counts()
    assert counts["Training"]["happy"] == 2 and counts["PrivateTest"]["angry"] == 1 and "PublicTest" not in counts
    assert "happy" in data.describe()
    with pytest.raises(ValueError, match="unknown split 'Test'"):
        data.split("Test")


# --- the real FER2013 ----------------------------------------------------------------------

@pytest.mark.realdata
def test_real_fer2013_split_and_class_sizes(fer2013):
    assert fer2013.images.shape == (35887, 48, 48)
    split_sizes = {s: int(np.sum(fer2013.splits == s)) for s in SPLITS}
    assert split_sizes == {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
    class_sizes = dict(zip(EMOTIONS, np.bincount(fer2013.labels, minlength=7).tolist()))
    assert class_sizes == {"angry": 4953, "disgust": 547, "fear": 5121, "happy": 8989,
                           "sad": 6077, "surprise": 4002, "neutral": 6198}
    assert check_counts(fer2013) == []


@pytest.mark.realdata
def test_real_fer2013_merged_has_six_classes(fer2013):
    from fercourse.labels import merge_disgust

    merged = np.bincount(merge_disgust(fer2013.labels), minlength=6)
    assert merged[EMOTIONS_MERGED.index("angry")] == 4953 + 547 and merged.sum() == 35887
