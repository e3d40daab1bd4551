"""Shared fixtures: tiny datasets the tests make, and real FER2013 when the data home has it."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from fercourse.labels import EMOTIONS, SPLITS


@pytest.fixture(scope="session")
def fer2013():
    """The real FER2013 from the data home; the test is skipped, with the reason, when absent."""
    from fercourse import config
    from fercourse.datasets import fer2013_path, load_fer2013

    path = fer2013_path()
    if path is None:
        pytest.skip(f"FER2013 is not in the data home {config.data_home()} "
                    "(set FERCOURSE_DATA to a folder holding fer2013.zip or fer2013.csv)")
    return load_fer2013(path)


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """An empty data home of the test's own (and caches inside it)."""
    home = tmp_path / "data"
    home.mkdir()
    monkeypatch.setenv("FERCOURSE_DATA", str(home))
    monkeypatch.delenv("FERCOURSE_CACHE", raising=False)
    return home


def face_pixels(seed: int, size=(48, 48)) -> np.ndarray:
    """A smooth random 'image' that survives JPEG coding recognisably."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[0], 0:size[1]]
    img = 128 + 60 * np.sin(x / (3 + seed % 5)) + 40 * np.cos(y / (4 + seed % 3)) + rng.normal(0, 2, size)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(img: np.ndarray, ext: str = ".png") -> bytes:
    import cv2

    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


# (split, class) for the tiny image-folder fixture: every split, several classes.
TINY = [("Training", "angry"), ("Training", "happy"), ("Training", "happy"), ("Training", "neutral"),
        ("PublicTest", "sad"), ("PublicTest", "disgust"), ("PrivateTest", "surprise"), ("PrivateTest", "fear")]


def write_fer_tree(add, entries=TINY, ext=".png"):
    """Write FER2013 image-folder entries through ``add(relative_path, bytes)``."""
    for i, (split, cls) in enumerate(entries):
        folder = "train" if split == "Training" else "test"
        add(f"{folder}/{cls}/{split}_{1000 + i}{ext}", encode(face_pixels(i), ext))


@pytest.fixture
def fer_zip(tmp_path):
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as zf:
        write_fer_tree(zf.writestr)
    return path


@pytest.fixture
def fer_folder(tmp_path):
    root = tmp_path / "fer2013"

    def add(rel, data):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    write_fer_tree(add)
    return root


def csv_text(rows) -> str:
    out = io.StringIO()
    out.write("emotion,pixels,Usage\n")
    for emotion, img, usage in rows:
        out.write(f"{emotion},{' '.join(str(int(v)) for v in img.ravel())},{usage}\n")
    return out.getvalue()


@pytest.fixture
def fer_csv(tmp_path):
    rows = [(i % len(EMOTIONS), face_pixels(i), SPLITS[i % 3]) for i in range(9)]
    path = tmp_path / "fer2013.csv"
    path.write_text(csv_text(rows))
    return path, rows
