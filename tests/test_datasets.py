"""FER2013 readers (CSV, zip, folder), the cache, fetch, and the chapters' entry point."""

from __future__ import annotations

import gzip
import os
import tarfile
import tempfile
import zipfile

import numpy as np
import pytest

from conftest import TINY, csv_text, encode, face_pixels, write_fer_tree
from fercourse.datasets import (
    DataFormatError, DataMissingError, FaceData, available, fer2013_path, fetch_fer2013,
    load_course_data, load_fer2013, load_image_folder,
)
from fercourse import atomic
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


def test_csv_with_a_byte_order_mark_is_read(fer_csv, data_home):
    path, rows = fer_csv
    plain = load_fer2013(path, use_cache=False)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel and Notepad save UTF-8
    with_bom = load_fer2013(path, use_cache=False)
    np.testing.assert_array_equal(with_bom.images, plain.images)
    np.testing.assert_array_equal(with_bom.labels, plain.labels)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_gzip_compressed_csv_named_csv_is_read(fer_csv, data_home, bom):
    path, rows = fer_csv
    plain = load_fer2013(path, use_cache=False)
    path.write_bytes(gzip.compress(bom + path.read_bytes()))
    packed = load_fer2013(path)
    np.testing.assert_array_equal(packed.images, plain.images)
    assert list(packed.splits) == list(plain.splits) and len(packed) == len(rows)


def test_a_truncated_gzip_csv_is_called_damaged(fer_csv, data_home):
    path, _ = fer_csv
    packed = gzip.compress(path.read_bytes())
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataFormatError) as err:
        load_fer2013(path)
    assert str(path) in str(err.value) and "damaged gzip-compressed file" in str(err.value)


def test_a_binary_file_named_csv_is_named(tmp_path, data_home):
    path = tmp_path / "fer2013.csv"
    path.write_bytes(b"emotion,pixels,Usage\n\x89PNG\xff\xfe\x00")
    with pytest.raises(DataFormatError) as err:
        load_fer2013(path)
    assert f"{path}, row 2: not UTF-8 text (byte 0x89)" in str(err.value)


@pytest.mark.parametrize("cell", ["\u00b2", "\u0663", "-1", "1.0", "", "7"])
def test_an_emotion_cell_that_is_no_class_names_file_and_row(fer_csv, data_home, cell):
    path, _ = fer_csv
    path.write_text(path.read_text(encoding="utf-8").replace("\n1,", f"\n{cell},", 1), encoding="utf-8")
    with pytest.raises(DataFormatError) as err:
        load_fer2013(path)
    assert f"{path}, row 3: unknown emotion code {cell!r}; expected 0..6" in str(err.value)


def test_a_pixel_cell_that_is_no_number_names_file_and_row(fer_csv, data_home):
    path, _ = fer_csv
    path.write_text(_edit_pixels(path.read_text(), 1, lambda p: "\u00b2" + p[p.index(" "):]), encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 2: non-numeric pixel value '\u00b2'"):
        load_fer2013(path)


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


def _damage_member(path, member):
    """Overwrite bytes in the middle of one member's data; the archive's index stays intact."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "r+b") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        f.seek(start + info.compress_size // 3)
        f.write(b"\xff" * max(8, info.compress_size // 3))


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_damaged_member_is_named_with_its_archive(tmp_path, data_home, method):
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        write_fer_tree(zf.writestr)
    member = "train/happy/Training_1001.png"
    _damage_member(path, member)
    for read in (load_fer2013, fetch_fer2013):
        with pytest.raises(DataFormatError) as err:
            read(path)
        assert str(err.value).startswith(f"{path}: a damaged archive: its member {member} cannot be read (")
        assert str(err.value).endswith("download it again (or re-create it) and retry")
    assert [p.name for p in data_home.iterdir()] == []  # fetch left nothing behind


def test_a_damaged_member_of_a_class_folder_zip_is_named(tmp_path):
    path = tmp_path / "ck.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"CK+48/happy/S01{i}_001_0000001.png", encode(face_pixels(i)))
    _damage_member(path, "CK+48/happy/S011_001_0000001.png")
    with pytest.raises(DataFormatError, match="its member CK\\+48/happy/S011_001_0000001.png cannot be read"):
        load_image_folder(path)


def test_a_truncated_zip_is_called_a_damaged_archive(fer_zip, data_home):
    raw = fer_zip.read_bytes()
    fer_zip.write_bytes(raw[: len(raw) // 2])
    for read in (load_fer2013, fetch_fer2013, load_image_folder):
        with pytest.raises(DataFormatError) as err:
            read(fer_zip)
        assert f"{fer_zip}: a damaged zip archive" in str(err.value) and "cut short" in str(err.value)


def test_a_file_that_is_no_archive_is_still_told_apart(tmp_path, data_home):
    path = tmp_path / "notes.zip"
    path.write_text("hello")
    with pytest.raises(DataFormatError, match="expected a folder of images or a .zip archive"):
        load_fer2013(path)


def test_partial_subjects_name_the_file(tmp_path):
    root = tmp_path / "CK+48"
    (root / "happy").mkdir(parents=True)
    (root / "happy" / "S010_004_00000019.png").write_bytes(encode(face_pixels(1)))
    (root / "happy" / "face.png").write_bytes(encode(face_pixels(2)))
    with pytest.raises(DataFormatError) as err:
        load_image_folder(root)
    assert f"{root}: happy/face.png: no subject in its file name" in str(err.value)
    assert "S010_004_00000019.png" in str(err.value)


# The cache has its own tests: tests/test_cache.py.


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


@pytest.fixture
def system_temp(tmp_path, monkeypatch):
    """The system's temporary folder, made one of the test's own so leftovers can be seen."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _tarball(tmp_path, csv_bytes: bytes, name="fer2013.tar.gz", member="fer2013/fer2013.csv"):
    import io

    tgz = tmp_path / name
    with tarfile.open(tgz, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(csv_bytes)
        tar.addfile(info, io.BytesIO(csv_bytes))
    return tgz


def _leftovers(folder):
    return [p.name for p in folder.rglob("*") if atomic.TMP_MARK in p.name]


def test_fetch_takes_the_csv_out_of_the_challenge_tarball(fer_csv, data_home, tmp_path, monkeypatch, system_temp):
    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "check_counts", lambda data: [])
    csv_path, rows = fer_csv
    tgz = _tarball(tmp_path, csv_path.read_bytes())
    target = fetch_fer2013(tgz)
    assert target == data_home / "fer2013.csv" and target.read_bytes() == csv_path.read_bytes()
    assert len(load_fer2013()) == len(rows)
    # Nothing left behind, in the data home or the system's temporary folder.
    assert list(system_temp.iterdir()) == [] and _leftovers(data_home) == []
    # The same archive again: nothing to do (the file, and so its cache, stays as it is).
    mtime = target.stat().st_mtime_ns
    assert fetch_fer2013(tgz) == target and target.stat().st_mtime_ns == mtime
    other = _tarball(tmp_path, csv_path.read_bytes().replace(b"\n0,", b"\n1,", 1), name="other.tar.gz")
    with pytest.raises(FileExistsError, match="force"):
        fetch_fer2013(other)
    assert fetch_fer2013(other, force=True).read_bytes() != csv_path.read_bytes()
    assert list(system_temp.iterdir()) == [] and _leftovers(data_home) == []


def test_fetch_errors_in_a_tarball_name_the_users_file(fer_csv, data_home, tmp_path, system_temp):
    csv_path, _ = fer_csv
    bad = csv_path.read_text().replace("\n1,", "\n\u00b2,", 1).encode()
    tgz = _tarball(tmp_path, bad)
    with pytest.raises(DataFormatError) as err:
        fetch_fer2013(tgz)
    assert str(err.value).startswith(f"{tgz} (member fer2013/fer2013.csv), row 3: unknown emotion code")
    assert atomic.TMP_MARK not in str(err.value) and str(system_temp) not in str(err.value)
    assert list(system_temp.iterdir()) == [] and list(data_home.iterdir()) == []


def test_fetch_a_complete_looking_tarball_that_is_not_fer2013(fer_csv, data_home, tmp_path, system_temp):
    csv_path, _ = fer_csv
    tgz = _tarball(tmp_path, csv_path.read_bytes())
    with pytest.raises(DataFormatError, match=f"^{tgz} \\(member fer2013/fer2013.csv\\): this is not the complete"):
        fetch_fer2013(tgz)
    assert list(system_temp.iterdir()) == [] and list(data_home.iterdir()) == []


def test_fetch_a_damaged_tarball(fer_csv, data_home, tmp_path, system_temp):
    csv_path, _ = fer_csv
    tgz = _tarball(tmp_path, csv_path.read_bytes())
    raw = tgz.read_bytes()
    tgz.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFormatError) as err:
        fetch_fer2013(tgz)
    assert f"{tgz}: a damaged tar archive" in str(err.value) and "download it again" in str(err.value)
    tgz.write_bytes(raw[:100])  # too short even to be recognised as a tar archive
    with pytest.raises(DataFormatError, match="a damaged tar archive"):
        fetch_fer2013(tgz)
    assert list(system_temp.iterdir()) == [] and list(data_home.iterdir()) == []


def test_fetch_a_tarball_without_the_csv(tmp_path, data_home):
    tgz = _tarball(tmp_path, b"hello", member="fer2013/README.txt")
    with pytest.raises(DataFormatError, match="holds no fer2013.csv"):
        fetch_fer2013(tgz)


def test_fetch_a_gzip_compressed_csv(fer_csv, data_home, tmp_path, monkeypatch):
    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "check_counts", lambda data: [])
    csv_path, rows = fer_csv
    packed = tmp_path / "fer2013.csv.gz"
    packed.write_bytes(gzip.compress(csv_path.read_bytes()))
    assert fetch_fer2013(packed) == data_home / "fer2013.csv"
    assert len(load_fer2013()) == len(rows)


def test_a_killed_fetch_is_cleaned_up_by_the_next(fer_zip, data_home, monkeypatch):
    import fercourse.datasets.fer2013 as fer

    monkeypatch.setattr(fer, "check_counts", lambda data: [])
    dead = data_home / f".fer2013{atomic.TMP_MARK}-999999999.zip"  # no process has this id
    dead.write_bytes(b"half a copy")
    fetch_fer2013(fer_zip)
    assert sorted(p.name for p in data_home.iterdir()) == ["fer2013.zip"]


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


def test_facedata_replace_checks_like_a_new_one():
    images = np.zeros((3, 4, 4), np.uint8)
    data = FaceData(images, np.array([0, 1, 2]), np.array(["Training"] * 3), EMOTIONS, "t", "test",
                    extras={"v": np.arange(3.0)})
    merged = data.replace(labels=np.array([0, 0, 1]), class_names=EMOTIONS_MERGED)
    assert merged.class_names == EMOTIONS_MERGED and list(merged.labels) == [0, 0, 1]
    assert merged.images is data.images and merged.extras is data.extras  # shared, not copied
    assert list(data.labels) == [0, 1, 2] and data.class_names == EMOTIONS  # the original is unchanged
    with pytest.raises(ValueError, match="labels has 2 entries for 3 images"):
        data.replace(labels=np.array([0, 1]))
    with pytest.raises(TypeError, match="no field.* label; its fields are images, labels"):
        data.replace(label=np.array([0, 1, 2]))


def test_facedata_downscale_averages_blocks():
    images = np.zeros((2, 4, 4), np.uint8)
    images[0, :2, :2] = [[10, 20], [30, 41]]
    data = FaceData(images, np.array([0, 1]), np.array(["Training"] * 2), EMOTIONS, "t", "test")
    small = data.downscale(2)
    assert small.image_shape == (2, 2) and small.images.dtype == np.uint8
    assert small.images[0, 0, 0] == 25 and small.images[1].sum() == 0  # mean 25.25, rounded
    assert data.downscale(4) is data
    with pytest.raises(ValueError, match="whole divisor of the image side \\(4x4\\); got 3"):
        data.downscale(3)


def test_course_data_merges_disgust_through_replace(data_home, capsys):
    seven = load_course_data(synthetic_n=70, verbose=False)
    six = load_course_data(synthetic_n=70, merge_disgust=True, verbose=False)
    assert six.class_names == EMOTIONS_MERGED
    assert [EMOTIONS_MERGED[i] for i in six.labels] == [
        "angry" if EMOTIONS[i] == "disgust" else EMOTIONS[i] for i in seven.labels]
    np.testing.assert_array_equal(six.images, seven.images)
    assert set(six.extras) == set(seven.extras) and six.subjects is not None


def test_course_data_module_is_named_for_what_it_holds():
    import fercourse.datasets as datasets
    from fercourse.datasets import choice

    assert datasets.load_course_data is choice.load_course_data and datasets.available is choice.available


# --- one valence/arousal rule, and what the renderer accepts --------------------------------

def test_valence_arousal_scales_the_circumplex_position_by_intensity():
    from fercourse import facs

    assert facs.valence_arousal("happy") == facs.CIRCUMPLEX["happy"]
    v, a = facs.valence_arousal("sad", 0.5)
    assert (v, a) == pytest.approx(tuple(0.5 * x for x in facs.CIRCUMPLEX["sad"]))
    assert facs.valence_arousal("neutral", 0.7) == (0.0, 0.0)
    with pytest.raises(ValueError, match="0..1"):
        facs.valence_arousal("happy", 1.5)
    with pytest.raises(ValueError, match="unknown emotion 'joy'"):
        facs.valence_arousal("joy")


def test_prototype_intensity_measures_how_strongly_a_face_expresses_an_emotion():
    from fercourse import facs

    assert facs.prototype_intensity(facs.prototype_vector("happy"), "happy") == pytest.approx(1.0)
    assert facs.prototype_intensity(facs.prototype_vector("happy", 0.4), "happy") == pytest.approx(0.4)
    assert facs.prototype_intensity(facs.prototype_vector("sad"), "neutral") == 0.0
    assert facs.prototype_intensity({}, "surprise") == 0.0


def test_synthetic_faces_and_the_face_builder_share_the_rule():
    from fercourse import facs, widgets
    from fercourse.datasets import make_faces

    data = make_faces(70, seed=3)
    rule = np.array([facs.valence_arousal(data.class_names[y], s)
                     for y, s in zip(data.labels, data.extras["intensity"])])
    residual = np.stack([data.extras["valence"], data.extras["arousal"]], 1) - rule
    # What remains is the raters' noise alone (sd 0.05), where clipping to -1..1 leaves it.
    assert np.abs(residual).max() < 0.25 and 0.02 < residual.std() < 0.08
    text = widgets.describe_aus(facs.prototype_vector("sad", 0.5))
    v, a = facs.valence_arousal("sad", 0.5)
    assert f"nearest prototype: sad" in text and f"valence {v:+.2f}, arousal {a:+.2f}" in text


def test_render_face_says_what_aus_takes():
    from fercourse import render

    with pytest.raises(ValueError) as err:
        render.render_face("joy")
    text = str(err.value)
    assert text.startswith("aus='joy': expected AU intensities") and "facs.prototype_vector(name)" in text
    assert "happy" in text


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
