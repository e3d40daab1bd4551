"""Tests of fercourse.images: reading and writing image files, and any image as 8-bit gray."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage.data import astronaut as _astronaut

from fercourse import atomic, images
from fercourse.datasets import imagefiles


@pytest.fixture(scope="module")
def astronaut():
    return _astronaut()


def test_one_list_of_image_suffixes():
    assert images.IMAGE_SUFFIXES is imagefiles.IMAGE_SUFFIXES


def test_load_image_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError, match="missing.png"):
        images.load_image(missing)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a picture")
    with pytest.raises(ValueError, match="notes.jpg"):
        images.load_image(text)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.png"):
        images.load_image(empty)
    truncated = tmp_path / "truncated.png"
    ok, data = cv2.imencode(".png", np.zeros((20, 20), np.uint8))
    truncated.write_bytes(data.tobytes()[:30])
    with pytest.raises(ValueError, match="truncated.png"):
        images.load_image(truncated)
    with pytest.raises(IsADirectoryError, match=str(tmp_path.name)):
        images.load_image(tmp_path)


def test_load_image_keeps_depth_and_alpha(tmp_path):
    deep = (np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    assert np.array_equal(images.load_image(tmp_path / "deep.png"), deep)
    rgba = np.random.default_rng(0).integers(0, 256, size=(8, 9, 4), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    assert np.array_equal(images.load_image(tmp_path / "rgba.png"), rgba)



def test_load_image_reads_colour_files_as_rgb(astronaut, tmp_path):
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    assert np.array_equal(images.load_image(path), astronaut)


@pytest.mark.parametrize("name, image", [
    ("gray.png", np.arange(60, dtype=np.uint8).reshape(6, 10) * 4),
    ("rgb.png", np.random.default_rng(1).integers(0, 256, (7, 5, 3), dtype=np.uint8)),
    ("rgba.png", np.random.default_rng(2).integers(0, 256, (7, 5, 4), dtype=np.uint8)),
    ("deep.png", np.arange(30, dtype=np.uint16).reshape(5, 6) * 2000),
    ("single.bmp", np.full((4, 4, 1), 9, np.uint8)),
])
def test_save_image_round_trips_through_load_image(tmp_path, name, image):
    path = images.save_image(tmp_path / "sub" / name, image)
    assert path == tmp_path / "sub" / name
    assert np.array_equal(images.load_image(path), image.reshape(image.shape[:2]) if image.ndim == 3
                          and image.shape[2] == 1 else image)
    assert [p.name for p in path.parent.iterdir()] == [name]   # no temporary file left


def test_save_image_writes_atomically(tmp_path, monkeypatch):
    path = images.save_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    before = path.read_bytes()

    def disk_full(target, data):
        raise OSError("no space left on device")

    monkeypatch.setattr(atomic, "write_bytes", disk_full)
    with pytest.raises(OSError, match="no space"):
        images.save_image(path, np.full((4, 4), 255, np.uint8))
    assert path.read_bytes() == before                          # the old image, whole


def test_save_image_bad_input_is_explained(tmp_path):
    with pytest.raises(ValueError, match=r"a.txt: the suffix '.txt' names no image format"):
        images.save_image(tmp_path / "a.txt", np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match="dtype float64; expected uint8 or uint16"):
        images.save_image(tmp_path / "a.png", np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"got shape \(4, 4, 2\)"):
        images.save_image(tmp_path / "a.png", np.zeros((4, 4, 2), np.uint8))
    assert not list(tmp_path.iterdir())


def test_channel_order_matters_for_gray(astronaut):
    # Passing BGR as if it were RGB gives a different grey image: the convention is real.
    rgb_gray = images.to_gray(astronaut)
    bgr_gray = images.to_gray(astronaut[:, :, ::-1])
    assert not np.array_equal(rgb_gray, bgr_gray)
    assert np.array_equal(rgb_gray, cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert np.array_equal(images.to_gray(rgba), rgb_gray)
    assert np.array_equal(images.to_gray(rgb_gray[:, :, None]), rgb_gray)


def test_to_uint8_reads_each_dtype_by_its_range():
    levels = np.array([[0, 1, 2, 127, 128, 254, 255]], np.uint8)
    assert images.to_uint8(levels) is levels
    np.testing.assert_array_equal(images.to_uint8(levels.astype(np.uint16) * 257), levels)
    np.testing.assert_array_equal(images.to_uint8(levels / 255.0), levels)               # 0..1
    np.testing.assert_array_equal(images.to_uint8(levels.astype(np.float32)), levels)    # 0..255
    # Half a grey level of overshoot, as resampling leaves, still counts as inside the range.
    np.testing.assert_array_equal(images.to_uint8(np.array([-0.001, 1.001])), [0, 255])
    np.testing.assert_array_equal(images.to_uint8(np.array([-0.4, 255.4])), [0, 255])
    # An image whose every value is at most 1 is read as 0..1, whatever it was meant to be.
    np.testing.assert_array_equal(images.to_uint8(np.array([0.0, 1.0])), [0, 255])
    assert images.to_uint8(np.zeros((0, 3))).dtype == np.uint8


@pytest.mark.parametrize("image, match", [
    (np.array([-3.0, 0.5]), r"values from -3 to 0.5; expected a float image in 0..1 .* or in 0..255"),
    (np.array([0.0, 300.0]), "values from 0 to 300"),
    (np.array([-1.0, -2.0]), "values from -2 to -1"),
    (np.array([0.2, np.inf]), "NaN or infinite"),
    (np.array([0.2, np.nan]), "NaN or infinite"),
])
def test_floats_outside_both_ranges_are_refused(image, match):
    with pytest.raises(ValueError, match=match):
        images.to_uint8(image)


def test_bad_images_get_clear_errors():
    with pytest.raises(ValueError, match=r"frame 3 must be \(H, W\).*got shape \(10, 10, 5\)"):
        images.to_gray(np.zeros((10, 10, 5), np.uint8), name="frame 3")
    with pytest.raises(TypeError, match="image has dtype int32; expected uint8, uint16 or float"):
        images.to_gray(np.zeros((10, 10), np.int32))
