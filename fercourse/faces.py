"""Finding, cropping and aligning faces: the first step of the course's pipeline.

A photo goes in; a square, grayscale, 48x48 crop of the face comes out, as in mememoji
(Ho, 2016): a Viola-Jones cascade finds the face, the box is widened by a margin and made
square, and the patch is resized.  Chapter 2 explains each step and measures it.

Images are any that :mod:`fercourse.images` accepts: 2-D grayscale, RGB or RGBA (RGB order,
not OpenCV's BGR), as uint8, uint16 or float (0..1, or 0..255) -- see that module's notes.

Boxes are ``(x, y, w, h)`` rows of an int array in the pixel coordinates of the image
passed in, largest first.  An image without a face gives an empty result (a (0, 4) box
array, ``None`` from :func:`crop_face`), never an exception; a missing or unreadable file
raises an error naming it.

Beside this module: :mod:`fercourse.images` (reading, writing, converting images),
:mod:`fercourse.face_jobs` (a folder or a video, cropped) and :mod:`fercourse.detector_eval`
(recall, false positives and speed of a detector).  Their public names are importable from
here too, as chapter 2 uses them: ``faces.load_image``, ``faces.crop_folder``,
``faces.score_boxes``...
"""

from __future__ import annotations

import functools
import importlib
import math
import os
from pathlib import Path

import cv2
import numpy as np

from .images import IMAGE_SUFFIXES, load_image, to_gray

__all__ = [
    "DEFAULT_PARAMS", "TUNED_PARAMS", "IMAGE_SUFFIXES", "CropReport",
    "haar_cascade", "lbp_cascade", "eye_cascade", "integral_image", "load_image", "to_gray",
    "detect_faces", "box_iou", "find_eyes", "rotate_image", "align_face", "crop_face", "crop_faces",
    "crop_images", "crop_folder", "video_faces", "detection_testset", "benchmark_frame",
    "score_boxes", "time_detector", "evaluate_detector",
]

# Names that live in the modules beside this one, re-exported on first use: those modules
# import this one, so importing them here, at load time, would be circular.
_ELSEWHERE = {
    **dict.fromkeys(("CropReport", "crop_folder", "video_faces"), "face_jobs"),
    **dict.fromkeys(("detection_testset", "benchmark_frame", "score_boxes", "time_detector",
                     "evaluate_detector"), "detector_eval"),
}


def __getattr__(name):
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(f"{__package__}.{_ELSEWHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ELSEWHERE))


#: OpenCV's own defaults for ``detectMultiScale`` (no minimum size beyond the 24x24 window).
DEFAULT_PARAMS = {"scale_factor": 1.1, "min_neighbors": 3, "min_size": None}
#: The setting chapter 2's parameter study picks (and re-measures each run): the fastest one
#: with a minimum face size of at most 60 pixels that keeps the defaults' recall on the LFW
#: faces with no more false positives.  For faces at least 60 pixels tall.
TUNED_PARAMS = {"scale_factor": 1.3, "min_neighbors": 2, "min_size": (60, 60)}

# Detection runs on a copy whose longest side is at most this many pixels.  The smallest face
# found is then 24/640 of the longest side (about 4 %), small enough for portraits and camera
# frames, and a 4000-pixel photo takes no longer than a 640-pixel one.
MAX_DETECT_SIDE = 640


# --------------------------------------------------------------------------- cascades

@functools.lru_cache(maxsize=None)
def haar_cascade(name: str = "frontalface_default") -> cv2.CascadeClassifier:
    """One of the Haar cascades that ship with OpenCV (``cv2.data.haarcascades``).

    ``name`` is the file name without ``haarcascade_`` and ``.xml``: ``frontalface_default``
    (Viola-Jones features extended by Lienhart and Maydt), ``frontalface_alt2``, ``eye``...
    """
    path = Path(cv2.data.haarcascades) / f"haarcascade_{name}.xml"
    if not path.is_file():
        known = sorted(p.stem.removeprefix("haarcascade_") for p in Path(cv2.data.haarcascades).glob("haarcascade_*.xml"))
        raise ValueError(f"no Haar cascade named {name!r} in {path.parent}; known: {', '.join(known)}")
    return _read_cascade(path)


def _read_cascade(path) -> cv2.CascadeClassifier:
    """A cascade file loaded into OpenCV, or an error naming the file."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"cascade file {path} does not exist")
    cascade = cv2.CascadeClassifier()
    try:
        cascade.load(str(path))
    except cv2.error:   # a file that is not XML makes OpenCV raise rather than load nothing
        pass
    if cascade.empty():
        raise ValueError(f"cascade file {path} is not a cascade OpenCV can read")
    return cascade


def eye_cascade() -> cv2.CascadeClassifier:
    """OpenCV's Haar cascade for an open eye, used by :func:`find_eyes`."""
    return haar_cascade("eye")


@functools.lru_cache(maxsize=None)
def lbp_cascade() -> cv2.CascadeClassifier:
    """The frontal-face LBP cascade that scikit-image ships, loaded into OpenCV.

    scikit-image's copy spells one tag ``featuhreParams``; OpenCV then reads no
    ``maxCatCount`` and refuses the file, so the tag is repaired in memory before loading.
    """
    from skimage.data import lbp_frontal_face_cascade_filename

    path = lbp_frontal_face_cascade_filename()
    text = Path(path).read_text().replace("featuhreParams", "featureParams")
    storage = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
    cascade = cv2.CascadeClassifier()
    ok = cascade.read(storage.getNode("cascade"))
    storage.release()
    if not ok or cascade.empty():
        raise RuntimeError(f"OpenCV could not load the LBP cascade {path}")
    return cascade


def _cascade(cascade) -> cv2.CascadeClassifier:
    if isinstance(cascade, cv2.CascadeClassifier):
        return cascade
    if cascade == "haar":
        return haar_cascade()
    if cascade == "lbp":
        return lbp_cascade()
    if isinstance(cascade, (str, os.PathLike)) and Path(cascade).suffix == ".xml":
        return _read_cascade(cascade)
    raise ValueError(f"cascade={cascade!r}: expected 'haar', 'lbp', an .xml path or a cv2.CascadeClassifier")


# --------------------------------------------------------------------------- integral image

def integral_image(image) -> np.ndarray:
    """The summed-area table of Viola and Jones, laid out as ``cv2.integral`` lays it out.

    ``ii[y, x]`` is the sum of ``image[:y, :x]``, so the result has one more row and column
    than the image (a zero row and column on top and left), and any rectangle sums with
    four look-ups: ``ii[y+h, x+w] - ii[y, x+w] - ii[y+h, x] + ii[y, x]``.
    """
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"integral_image expects a 2-D (grayscale) image, got shape {image.shape}")
    acc = np.int64 if image.dtype.kind in "biu" else np.float64
    ii = np.zeros((image.shape[0] + 1, image.shape[1] + 1), dtype=acc)
    ii[1:, 1:] = image.astype(acc).cumsum(axis=0).cumsum(axis=1)
    return ii


# --------------------------------------------------------------------------- detection

def _size(value, name):
    if value is None:
        return None
    if np.isscalar(value):
        value = (value, value)
    w, h = (int(v) for v in value)
    if w < 0 or h < 0:
        raise ValueError(f"{name}={value!r} must be non-negative")
    return w, h


def box_iou(a, b) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``: ``(len(a), len(b))``.

    Boxes are (x, y, w, h) rows; two boxes of no area overlap 0.  Detectors are scored with it
    (:mod:`fercourse.detector_eval`) and live faces followed and scored (:mod:`fercourse.live_scores`).
    """
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def detect_faces(image, *, cascade="haar", scale_factor: float = 1.1, min_neighbors: int = 3,
                 min_size=None, max_size=None, equalize: bool = False,
                 max_side: int | None = MAX_DETECT_SIDE) -> np.ndarray:
    """Find faces with a Viola-Jones cascade; boxes ``(x, y, w, h)`` largest first.

    Parameters
    ----------
    image : array
        Grayscale, RGB or RGBA; uint8, uint16 or float (0..1, or 0..255): see
        :mod:`fercourse.images` on channel order and dtypes.
    cascade : {'haar', 'lbp'}, path or cv2.CascadeClassifier
        ``'haar'``: OpenCV's ``haarcascade_frontalface_default``; ``'lbp'``: the LBP
        cascade scikit-image ships.
    scale_factor, min_neighbors : float, int
        Passed to ``detectMultiScale``: the step between window sizes of the image pyramid
        (smaller is slower and finds more), and how many overlapping raw detections a box
        needs to be kept (larger removes false positives and some faces).
    min_size, max_size : int or (w, h), optional
        Smallest and largest face to look for, in pixels of ``image``.
    equalize : bool
        Equalize the histogram before detecting (helps in dim, low-contrast images).
    max_side : int or None
        Detect on a copy downscaled so its longest side is at most this many pixels, then
        map the boxes back; ``None`` detects at full resolution.

    Returns
    -------
    (N, 4) int array, sorted by area, largest first (ties: left to right, then top to bottom);
    (0, 4) when there is no face.
    """
    gray = to_gray(image)
    if gray.size == 0:
        return np.zeros((0, 4), dtype=int)
    min_size, max_size = _size(min_size, "min_size"), _size(max_size, "max_size")
    if scale_factor <= 1.0:
        raise ValueError(f"scale_factor={scale_factor} must be greater than 1")
    if min_neighbors < 0:
        raise ValueError(f"min_neighbors={min_neighbors} must be >= 0")
    height, width = gray.shape
    scale = 1.0
    if max_side is not None and max(height, width) > max_side:
        scale = max(height, width) / max_side
        small = (max(1, round(width / scale)), max(1, round(height / scale)))
        gray = cv2.resize(gray, small, interpolation=cv2.INTER_AREA)
    if equalize:
        gray = cv2.equalizeHist(gray)
    kwargs = {"scaleFactor": float(scale_factor), "minNeighbors": int(min_neighbors)}
    if min_size is not None:
        kwargs["minSize"] = tuple(int(v / scale) for v in min_size)
    if max_size is not None:
        kwargs["maxSize"] = tuple(math.ceil(v / scale) for v in max_size)
    boxes = np.asarray(_cascade(cascade).detectMultiScale(gray, **kwargs), dtype=float).reshape(-1, 4)
    if scale != 1.0:
        boxes = boxes * scale
    boxes = np.rint(boxes).astype(int)
    # Clip to the image: rounding after a rescale can step one pixel over the edge.
    boxes[:, 0] = boxes[:, 0].clip(0, width - 1)
    boxes[:, 1] = boxes[:, 1].clip(0, height - 1)
    boxes[:, 2] = np.minimum(boxes[:, 2], width - boxes[:, 0])
    boxes[:, 3] = np.minimum(boxes[:, 3], height - boxes[:, 1])
    # Largest first; equal areas left to right, then top to bottom.  OpenCV's own order of equal
    # boxes depends on how its threads split the image, so without the tie-break the same image
    # could give its faces in another order from one call to the next.
    order = np.lexsort((boxes[:, 1], boxes[:, 0], -(boxes[:, 2] * boxes[:, 3])))
    return boxes[order]


def find_eyes(image, box, *, min_neighbors: int = 3) -> np.ndarray | None:
    """Centres of the two eyes in a face box, ``[[x_left, y_left], [x_right, y_right]]``.

    The eye cascade searches the upper part of the box, where eyes are; of the candidates,
    the largest one on each side of the box's vertical midline is kept.  ``None`` when an
    eye is not found on both sides (closed eyes, glasses, a turned head).
    """
    gray = to_gray(image)
    x, y, w, h = (int(v) for v in box)
    top = gray[y:y + int(0.6 * h), x:x + w]
    if top.size == 0:
        return None
    eyes = eye_cascade().detectMultiScale(top, scaleFactor=1.1, minNeighbors=min_neighbors,
                                          minSize=(max(1, w // 8), max(1, w // 8)), maxSize=(w // 2, w // 2))
    eyes = np.asarray(eyes).reshape(-1, 4)
    if len(eyes) < 2:
        return None
    centres = eyes[:, :2] + eyes[:, 2:] / 2.0
    sizes = eyes[:, 2] * eyes[:, 3]
    left, right = centres[:, 0] < w / 2, centres[:, 0] >= w / 2
    if not left.any() or not right.any():
        return None
    pick_l = np.flatnonzero(left)[np.argmax(sizes[left])]
    pick_r = np.flatnonzero(right)[np.argmax(sizes[right])]
    return np.array([centres[pick_l], centres[pick_r]]) + np.array([x, y], dtype=float)


def rotate_image(image, degrees: float, centre=None) -> np.ndarray:
    """The image turned ``degrees`` counter-clockwise (as seen) about ``centre``.

    ``centre`` is an ``(x, y)`` point in pixels, by default the image's centre.  The result
    has the image's shape and dtype; where the turned image leaves the frame, the edge pixels
    are repeated, so a face near the border is not cut by a black wedge.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.size == 0:
        raise ValueError("image must be a non-empty (H, W) or (H, W, C) array; "
                         f"got shape {image.shape}")
    height, width = image.shape[:2]
    if centre is None:
        centre = (width / 2.0, height / 2.0)
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(degrees), 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def align_face(image, box) -> tuple[np.ndarray, float]:
    """Rotate the image about the face's centre so that the eyes are level.

    Returns ``(rotated, angle)``: the rotated image (same shape and dtype) and the angle in
    degrees the eyes were tilted by (positive: the right eye, in the picture, lower).  When
    the eyes are not found the image comes back unchanged with angle 0.0.
    """
    image = np.asarray(image)
    eyes = find_eyes(image, box)
    if eyes is None:
        return image, 0.0
    (xl, yl), (xr, yr) = eyes
    angle = math.degrees(math.atan2(yr - yl, xr - xl))
    x, y, w, h = box
    return rotate_image(image, angle, (x + w / 2.0, y + h / 2.0)), angle


def _square_crop(gray, box, size, margin):
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    side = max(1, int(round(side)))
    height, width = gray.shape
    # Pad rather than shift the square at the image's edge, so the face stays centred.
    pad = max(0, -x0, -y0, x0 + side - width, y0 + side - height)
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    patch = gray[y0:y0 + side, x0:x0 + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interpolation)


def _check_crop_args(size, margin):
    if int(size) != size or size < 1:
        raise ValueError(f"size={size!r} must be a positive integer")
    if margin < 0:
        raise ValueError(f"margin={margin!r} must be >= 0")


def crop_faces(image, boxes=None, *, size: int = 48, margin: float = 0.2, align: bool = False,
               **detect_kwargs) -> np.ndarray:
    """Square grayscale crops of every face, largest first: an (N, size, size) uint8 array.

    Each box is widened by ``margin`` times its side on every side and made square about
    its centre; where the square leaves the image the edge pixels are repeated.  With
    ``align=True`` each face is first rotated so its eyes are level (:func:`align_face`).
    ``boxes`` defaults to :func:`detect_faces` (``detect_kwargs`` go to it).
    """
    _check_crop_args(size, margin)
    gray = to_gray(image)
    if boxes is None:
        boxes = detect_faces(gray, **detect_kwargs)
    boxes = np.asarray(boxes, dtype=int).reshape(-1, 4)
    crops = np.zeros((len(boxes), size, size), dtype=np.uint8)
    for i, box in enumerate(boxes):
        source = align_face(gray, box)[0] if align else gray
        crops[i] = _square_crop(source, box, int(size), margin)
    return crops


def crop_face(image, box=None, *, size: int = 48, margin: float = 0.2, align: bool = False,
              **detect_kwargs) -> np.ndarray | None:
    """The mememoji crop: the largest face, square with a margin, grayscale, ``size`` x ``size``.

    Returns a (size, size) uint8 array, or ``None`` when no face is found.
    """
    boxes = None if box is None else np.asarray(box).reshape(1, 4)
    crops = crop_faces(image, boxes, size=size, margin=margin, align=align, **detect_kwargs)
    return crops[0] if len(crops) else None


def crop_images(images, *, size: int = 48, margin: float = 0.2, align: bool = False,
                every_face: bool = False, **detect_kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Crop a list of images: ``(crops, source)`` with ``source[i]`` the image crop i came from.

    One crop per image (its largest face) unless ``every_face``; images without a face are
    simply absent from ``source``.
    """
    out, source = [], []
    for i, image in enumerate(images):
        crops = crop_faces(image, size=size, margin=margin, align=align, **detect_kwargs)
        crops = crops if every_face else crops[:1]
        out.extend(crops)
        source.extend([i] * len(crops))
    crops = np.stack(out) if out else np.zeros((0, size, size), dtype=np.uint8)
    return crops, np.asarray(source, dtype=int)
