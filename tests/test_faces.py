"""Tests of fercourse.faces: detection, cropping and alignment (image I/O, folder and video jobs and
detector measures have their own test files)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.data import astronaut as _astronaut

from fercourse import faces

# The astronaut's face in scikit-image's 512x512 photo, from her hairline to her chin and
# between her ears (read off the picture by eye, not from a detector).
FACE_REGION = (185, 75, 80, 85)   # x, y, w, h


@pytest.fixture(scope="module")
def astronaut():
    return _astronaut()


def covers(box, region, slack=25):
    """True when ``box`` contains ``region``, give or take ``slack`` pixels, and is not huge."""
    x, y, w, h = box
    rx, ry, rw, rh = region
    inside = x <= rx + slack and y <= ry + slack and x + w >= rx + rw - slack and y + h >= ry + rh - slack
    return inside and w < 2 * rw and h < 2 * rh


# --------------------------------------------------------------------------- integral image

@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 48)])
def test_integral_image_equals_opencv(shape):
    image = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    ii = faces.integral_image(image)
    assert ii.shape == (shape[0] + 1, shape[1] + 1)
    assert np.array_equal(ii, cv2.integral(image))


def test_integral_image_sums_any_rectangle():
    image = np.random.default_rng(2).integers(0, 256, size=(30, 40), dtype=np.uint8)
    ii = faces.integral_image(image)
    for x, y, w, h in [(0, 0, 40, 30), (5, 7, 1, 1), (39, 29, 1, 1), (3, 4, 20, 10)]:
        got = ii[y + h, x + w] - ii[y, x + w] - ii[y + h, x] + ii[y, x]
        assert got == image[y:y + h, x:x + w].sum()


def test_integral_image_rejects_colour():
    with pytest.raises(ValueError, match="2-D"):
        faces.integral_image(np.zeros((4, 4, 3), np.uint8))


# --------------------------------------------------------------------------- detection

def test_astronaut_face_found_where_it_is(astronaut):
    boxes = faces.detect_faces(astronaut)
    assert boxes.ndim == 2 and boxes.shape[1] == 4 and boxes.dtype.kind == "i"
    assert len(boxes) == 1
    assert covers(boxes[0], FACE_REGION), f"box {boxes[0]} does not cover the face region {FACE_REGION}"


def test_boxes_sorted_largest_first(astronaut):
    boxes = faces.detect_faces(astronaut, min_neighbors=1)    # low threshold: several boxes
    assert len(boxes) >= 2
    areas = boxes[:, 2] * boxes[:, 3]
    assert np.all(np.diff(areas) <= 0)


def test_rgb_bgr_converted_rgba_gray_and_float_give_same_boxes(astronaut, tmp_path):
    reference = faces.detect_faces(astronaut)
    # A file read the OpenCV way comes back BGR and must be converted explicitly.
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    bgr = cv2.imread(str(path))
    assert np.array_equal(faces.detect_faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), reference)
    assert np.array_equal(faces.load_image(path), astronaut)
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert np.array_equal(faces.detect_faces(rgba), reference)
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    assert np.array_equal(faces.detect_faces(gray), reference)
    assert np.array_equal(faces.detect_faces(gray[:, :, None]), reference)
    as_uint16 = astronaut.astype(np.uint16) * 257
    assert np.array_equal(faces.detect_faces(as_uint16), reference)
    assert np.array_equal(faces.detect_faces(astronaut / 255.0), reference)
    # Floats in 0..255 (the models' scale) are read as such, not clipped to a white picture.
    assert np.array_equal(faces.detect_faces(astronaut.astype(np.float64)), reference)
    assert np.array_equal(faces.detect_faces(astronaut.astype(np.float32)), reference)


def test_float_images_outside_both_ranges_are_refused(astronaut):
    with pytest.raises(ValueError, match=r"image \(float64\) has values from -10 to 245; expected .* 0..1 .* 0..255"):
        faces.detect_faces(astronaut.astype(np.float64) - 10)
    with pytest.raises(ValueError, match="NaN or infinite"):
        faces.detect_faces(np.full((50, 50), np.nan))


def test_names_of_the_modules_beside_faces_are_importable_from_it():
    from fercourse import detector_eval, face_jobs, images

    for name in faces.__all__:
        assert hasattr(faces, name), name
    assert faces.load_image is images.load_image and faces.to_gray is images.to_gray
    assert faces.crop_folder is face_jobs.crop_folder and faces.CropReport is face_jobs.CropReport
    assert faces.score_boxes is detector_eval.score_boxes
    from fercourse.faces import evaluate_detector, video_faces  # noqa: F401 -- `from` imports work too
    assert "crop_folder" in dir(faces)
    with pytest.raises(AttributeError, match="no attribute 'crop_everything'"):
        faces.crop_everything


def test_large_image_boxes_map_back(astronaut):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    small_box = faces.detect_faces(astronaut)[0]
    boxes = faces.detect_faces(big)
    assert len(boxes) >= 1
    # Mapped back to full resolution: about 4x the box found on the original.
    assert np.allclose(boxes[0], 4 * small_box, atol=0.15 * 4 * small_box[2])
    assert covers(boxes[0] / 4, FACE_REGION)
    assert boxes[0, 0] + boxes[0, 2] <= 2048 and boxes[0, 1] + boxes[0, 3] <= 2048


def test_min_size_is_in_original_pixels(astronaut):
    big = cv2.resize(astronaut, (2048, 2048))
    face_side = faces.detect_faces(big)[0][2]
    assert len(faces.detect_faces(big, min_size=int(face_side * 0.8))) >= 1
    assert len(faces.detect_faces(big, min_size=int(face_side * 1.5))) == 0


@pytest.mark.parametrize("image", [
    np.full((240, 320), 128, np.uint8),
    np.random.default_rng(0).integers(0, 256, size=(240, 320), dtype=np.uint8),
    np.zeros((240, 320, 3), np.uint8),
    np.zeros((0, 0), np.uint8),
    np.zeros((0, 10, 3), np.uint8),
])
def test_no_face_gives_empty_result(image):
    boxes = faces.detect_faces(image)
    assert boxes.shape == (0, 4)
    assert faces.crop_faces(image).shape == (0, 48, 48)
    assert faces.crop_face(image) is None


def test_bad_arrays_get_clear_errors():
    with pytest.raises(ValueError, match="image must be"):
        faces.detect_faces(np.zeros((10, 10, 5), np.uint8))
    with pytest.raises(TypeError, match="dtype"):
        faces.detect_faces(np.zeros((10, 10), np.int32))
    with pytest.raises(ValueError, match="scale_factor"):
        faces.detect_faces(np.zeros((10, 10), np.uint8), scale_factor=1.0)
    with pytest.raises(ValueError, match="cascade"):
        faces.detect_faces(np.zeros((10, 10), np.uint8), cascade="hog")


def test_cascades_by_name_by_file_and_their_errors(astronaut, tmp_path):
    shipped = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    assert np.array_equal(faces.detect_faces(astronaut, cascade=shipped), faces.detect_faces(astronaut))
    assert not faces.haar_cascade("frontalface_alt2").empty()
    with pytest.raises(ValueError, match="no Haar cascade named 'smile_wide'.*known: .*frontalface_default"):
        faces.haar_cascade("smile_wide")
    with pytest.raises(FileNotFoundError, match="missing.xml does not exist"):
        faces.detect_faces(astronaut, cascade=tmp_path / "missing.xml")
    bogus = tmp_path / "bogus.xml"
    bogus.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(ValueError, match="bogus.xml is not a cascade OpenCV can read"):
        faces.detect_faces(astronaut, cascade=str(bogus))
    bogus.write_text("<?xml version='1.0'?><opencv_storage><cascade></cascade></opencv_storage>")
    with pytest.raises(ValueError, match="bogus.xml is not a cascade OpenCV can read"):
        faces.detect_faces(astronaut, cascade=bogus)


def test_lbp_cascade_finds_the_astronaut(astronaut):
    cascade = faces.lbp_cascade()
    assert not cascade.empty()
    boxes = faces.detect_faces(astronaut, cascade="lbp")
    assert len(boxes) >= 1 and covers(boxes[0], FACE_REGION)


# --------------------------------------------------------------------------- crops and alignment

def test_crop_is_48x48_uint8_and_centred_on_face(astronaut):
    crop = faces.crop_face(astronaut)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    box = faces.detect_faces(astronaut)[0]
    x, y, w, h = box
    # With no margin the crop is the box itself, resized.
    expected = cv2.resize(faces.to_gray(astronaut)[y:y + h, x:x + w], (48, 48), interpolation=cv2.INTER_AREA)
    assert np.abs(faces.crop_face(astronaut, box, margin=0).astype(int) - expected).mean() < 1.0
    assert faces.crop_face(astronaut, size=100).shape == (100, 100)


def test_crop_at_image_edge_pads_and_keeps_size():
    image = np.random.default_rng(3).integers(0, 256, size=(60, 80), dtype=np.uint8)
    crop = faces.crop_face(image, box=(0, 0, 40, 40), margin=0.5, size=32)
    assert crop.shape == (32, 32) and crop.dtype == np.uint8


def test_crop_faces_every_face_and_bad_args(astronaut):
    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)     # her face and its mirror image
    boxes = faces.detect_faces(two, **faces.TUNED_PARAMS)
    assert sorted(boxes[:, 0] + boxes[:, 2] // 2) == pytest.approx([225, 1024 - 225], abs=15)
    if boxes[0, 2] * boxes[0, 3] == boxes[1, 2] * boxes[1, 3]:   # a tie goes left to right
        assert boxes[0, 0] < boxes[1, 0]
    crops = faces.crop_faces(two, size=24, **faces.TUNED_PARAMS)
    assert crops.shape == (2, 24, 24)
    assert np.array_equal(faces.crop_faces(two, boxes, size=24), crops)
    with pytest.raises(ValueError, match="size"):
        faces.crop_face(astronaut, size=0)
    with pytest.raises(ValueError, match="margin"):
        faces.crop_face(astronaut, margin=-0.1)


def test_alignment_levels_a_tilted_face(astronaut):
    gray = faces.to_gray(astronaut)
    box = faces.detect_faces(gray)[0]
    centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
    _, natural = faces.align_face(gray, box)
    tilted = cv2.warpAffine(gray, cv2.getRotationMatrix2D(centre, 12, 1.0), gray.shape[::-1],
                            borderMode=cv2.BORDER_REPLICATE)
    rotated, angle = faces.align_face(tilted, box)
    assert rotated.shape == gray.shape and rotated.dtype == gray.dtype
    # Turning the photo 12 degrees counter-clockwise changes the measured tilt by about -12.
    assert abs((angle - natural) + 12) < 4, (natural, angle)
    _, after = faces.align_face(rotated, box)
    assert abs(after) < 4 or after == 0.0
    upright = faces.crop_face(gray, box, align=True)
    assert np.abs(faces.crop_face(tilted, box, align=True).astype(int) - upright).mean() < \
        np.abs(faces.crop_face(tilted, box).astype(int) - upright).mean()


def test_rotate_image_turns_counter_clockwise_about_the_centre():
    image = np.zeros((40, 60), np.uint8)
    image[20, 50] = 255                    # a dot 20 pixels right of the centre (30, 20)
    turned = faces.rotate_image(image, 90)
    assert turned.shape == image.shape and turned.dtype == image.dtype
    # A quarter turn counter-clockwise, as seen, moves it 20 pixels above the centre.
    assert np.unravel_index(turned.argmax(), turned.shape) == (0, 30)
    assert np.array_equal(turned, faces.rotate_image(image, 90, centre=(30, 20)))
    about_dot = faces.rotate_image(image, 90, centre=(50, 20))
    assert about_dot[20, 50] == 255        # the centre of a rotation stays put
    colour = np.dstack([image, image // 2, image // 4])
    assert faces.rotate_image(colour, 90).shape == colour.shape
    # Pixels that come from outside the frame repeat the edge instead of turning black.
    assert (faces.rotate_image(np.full((20, 30), 7, np.uint8), 45) == 7).all()
    with pytest.raises(ValueError, match="got shape"):
        faces.rotate_image(np.zeros(5), 10)


def test_alignment_without_eyes_leaves_image_alone():
    flat = np.full((100, 100), 100, np.uint8)
    rotated, angle = faces.align_face(flat, (20, 20, 60, 60))
    assert angle == 0.0 and np.array_equal(rotated, flat)
    assert faces.find_eyes(flat, (20, 20, 60, 60)) is None


def test_crop_images_reports_sources(astronaut):
    blank = np.zeros((100, 100), np.uint8)
    crops, source = faces.crop_images([blank, astronaut, blank, astronaut])
    assert crops.shape == (2, 48, 48) and list(source) == [1, 3]
    crops, source = faces.crop_images([blank])
    assert crops.shape == (0, 48, 48) and len(source) == 0


# --------------------------------------------------------------------------- chapter 2's exercise checks

def test_rectangle_sum_check_accepts_four_lookups_and_rejects_others():
    from fercourse.exercises import ch02

    def four(ii, x, y, w, h):
        return ii[y + h, x + w] - ii[y, x + w] - ii[y + h, x] + ii[y, x]

    def three(ii, x, y, w, h):                      # forgets the corner added back
        return ii[y + h, x + w] - ii[y, x + w] - ii[y + h, x]

    def slow(ii, x, y, w, h):                       # right, but reads a whole column pair
        return (ii[y + 1:y + h + 1, x + w] - ii[y + 1:y + h + 1, x] - ii[y:y + h, x + w] + ii[y:y + h, x]).sum()

    assert ch02.check_rectangle_sum(four)
    assert ch02.check_rectangle_sum(lambda ii, x, y, w, h: ii[y + h][x + w] - ii[y][x + w] - ii[y + h][x] + ii[y][x])
    assert not ch02.check_rectangle_sum(three)
    verdict = ch02.check_rectangle_sum(slow)
    assert not verdict and "look-ups" in verdict.message
    assert not ch02.check_rectangle_sum(lambda *args: 1 / 0)


def test_parameter_choice_check():
    from fercourse.exercises import ch02

    table = [dict(scale_factor=1.1, min_neighbors=3, min_size=0, recall=0.97, false_positives=10),
             dict(scale_factor=1.1, min_neighbors=1, min_size=0, recall=0.99, false_positives=29),
             dict(scale_factor=1.05, min_neighbors=4, min_size=80, recall=0.99, false_positives=1)]
    assert ch02.check_parameter_choice(table, dict(scale_factor=1.05, min_neighbors=4, min_size=80), 0.99)
    assert not ch02.check_parameter_choice(table, dict(scale_factor=1.1, min_neighbors=1, min_size=0), 0.99)
    assert not ch02.check_parameter_choice(table, dict(scale_factor=1.1, min_neighbors=3, min_size=0), 0.99)
    assert not ch02.check_parameter_choice(table, dict(scale_factor=1.3, min_neighbors=3, min_size=0), 0.99)
    assert not ch02.check_parameter_choice(table, dict(scale_factor=1.1), 0.99)


def test_box_iou_of_every_pair():
    from fercourse.faces import box_iou

    a = [(0, 0, 10, 10), (100, 100, 5, 5)]
    b = [(5, 0, 10, 10), (0, 0, 10, 10), (0, 0, 0, 0)]
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou[0], [50 / 150, 1.0, 0.0])
    np.testing.assert_allclose(iou[1], [0.0, 0.0, 0.0])
