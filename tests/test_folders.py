"""The class-per-folder reader (CK+48 layout) and subject-independent folds."""

import zipfile

import numpy as np
import pytest

from conftest import encode, face_pixels
from fercourse.datasets import DataFormatError, load_image_folder, subject_kfold
from fercourse.labels import EMOTIONS_WITH_CONTEMPT


@pytest.fixture
def ckplus(tmp_path):
    root = tmp_path / "CK+48"
    files = {"anger": ["S010_004_00000017", "S010_004_00000018"], "sadness": ["S011_002_00000020"],
             "happy": ["S012_006_00000011", "S010_006_00000012"], "contempt": ["S013_001_00000009"]}
    for i, (cls, names) in enumerate(files.items()):
        (root / cls).mkdir(parents=True)
        for j, name in enumerate(names):
            (root / cls / f"{name}.png").write_bytes(encode(face_pixels(10 * i + j)))
    return root


def test_ckplus_layout(ckplus):
    data = load_image_folder(ckplus)
    assert data.name == "ck+48" and len(data) == 6 and data.class_names == EMOTIONS_WITH_CONTEMPT
    names = [data.class_names[i] for i in data.labels]
    assert sorted(names) == sorted(["angry", "angry", "sad", "happy", "happy", "contempt"])
    assert sorted(set(data.subjects)) == ["S010", "S011", "S012", "S013"]
    assert set(data.splits) == {""}
    assert data.counts()["all"]["neutral"] == 0


def test_reads_a_zip_too(ckplus, tmp_path):
    z = tmp_path / "ck.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in ckplus.rglob("*.png"):
            zf.write(p, p.relative_to(ckplus.parent))
    a, b = load_image_folder(ckplus), load_image_folder(z)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_unknown_class_folder(ckplus):
    (ckplus / "joy").mkdir()
    (ckplus / "joy" / "S001_001_00000001.png").write_bytes(encode(face_pixels(0)))
    with pytest.raises(DataFormatError, match=r"joy.*unknown class folder 'joy'"):
        load_image_folder(ckplus)


def test_wrong_size_and_undecodable(ckplus):
    bad = ckplus / "happy" / "S099_001_00000001.png"
    bad.write_bytes(encode(np.zeros((40, 40), np.uint8)))
    with pytest.raises(DataFormatError, match="S099_001_00000001.png: image is 40x40 pixels; expected 48x48"):
        load_image_folder(ckplus)
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(DataFormatError, match="cannot decode"):
        load_image_folder(ckplus)


def test_size_none_requires_one_shared_size(ckplus):
    (ckplus / "happy" / "S099_001_00000001.png").write_bytes(encode(np.zeros((40, 40), np.uint8)))
    with pytest.raises(DataFormatError, match="unlike the first"):
        load_image_folder(ckplus, size=None)


def test_empty_folder(tmp_path):
    with pytest.raises(DataFormatError, match="no images found"):
        load_image_folder(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_image_folder(tmp_path / "nope")


def test_mixed_subject_names(ckplus):
    (ckplus / "happy" / "face.png").write_bytes(encode(face_pixels(3)))
    with pytest.raises(DataFormatError, match="no subject in its file name"):
        load_image_folder(ckplus)


def test_subject_kfold_keeps_subjects_apart():
    subjects = np.repeat([f"S{i:03d}" for i in range(12)], [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4])
    folds = subject_kfold(subjects, n_splits=4, seed=1)
    assert len(folds) == 4
    seen = np.concatenate([te for _, te in folds])
    assert sorted(seen) == list(range(len(subjects)))  # every image tested exactly once
    for tr, te in folds:
        assert not set(subjects[tr]) & set(subjects[te])
    again = subject_kfold(subjects, n_splits=4, seed=1)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again))


@pytest.mark.parametrize("k", [1, 13])
def test_subject_kfold_rejects_bad_k(k):
    with pytest.raises(ValueError, match="n_splits"):
        subject_kfold(np.arange(12), n_splits=k)
