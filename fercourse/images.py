"""Image files and arrays: reading, writing and turning any image into 8-bit grayscale.

Channel order
-------------
Colour arrays are **RGB** (or RGBA), as matplotlib and scikit-image give them.  OpenCV reads
and writes BGR, so :func:`load_image` converts from BGR on load and :func:`save_image` back on
save; an array you read yourself with ``cv2.imread`` must be converted with
``cv2.cvtColor(img, cv2.COLOR_BGR2RGB)`` before it is passed to the course's functions.

Accepted images
---------------
2-D grayscale, (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA, any size, as

- ``uint8`` (0..255);
- ``uint16`` (0..65535, scaled to 0..255);
- float, read by its range: values within 0..1 are scikit-image's convention (1.0 is white);
  values above 1, up to 255, are the 0..255 scale of the course's models and of
  ``uint8_image.astype(float)``.  Anything else -- negative values, values above 255, NaN or
  infinity -- is an error naming the dtype and the range found, not a silently white or black
  picture.  (A float image whose every pixel is at most 1 is read as 0..1, so an all-but-black
  0..255 image would come out bright: pass ``uint8`` to leave no doubt.)

The image files the course reads are those with a suffix in :data:`IMAGE_SUFFIXES`, the one
list of them (:mod:`fercourse.datasets.imagefiles`).  Every file written goes through
:mod:`fercourse.atomic`, so a killed run never leaves half an image.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from . import atomic
from .datasets.imagefiles import IMAGE_SUFFIXES

__all__ = ["IMAGE_SUFFIXES", "load_image", "save_image", "to_gray", "to_uint8"]

# Rounding slack: a float pixel may stray half a grey level beyond the range and still count as
# inside it (resampling and colour conversions overshoot by about that much).
_HALF_LEVEL = 0.5


def load_image(path) -> np.ndarray:
    """Read an image file as RGB (or RGBA, or 2-D grayscale), keeping its bit depth.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file when
    it is not an image OpenCV can decode.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image file {path} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not an image file")
    # np.fromfile + imdecode rather than imread: imread cannot open non-ASCII paths on Windows.
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ValueError(f"{path} is not an image OpenCV can read (empty, truncated or another kind of file)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def save_image(path, image) -> Path:
    """Write ``image`` (2-D grayscale, RGB or RGBA, ``uint8`` or ``uint16``) to ``path`` atomically.

    The format follows the suffix (``.png``, ``.jpg``...; one of :data:`IMAGE_SUFFIXES`); colour
    arrays are taken as RGB(A), so :func:`load_image` gives back what was saved (exactly, for a
    lossless format).  Returns the path.
    """
    path = Path(path)
    image = np.asarray(image)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"{path}: the suffix {path.suffix!r} names no image format; "
                         f"use one of {', '.join(IMAGE_SUFFIXES)}")
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"image for {path} has dtype {image.dtype}; expected uint8 or uint16 "
                        "(convert a float image with fercourse.images.to_uint8)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_RGB2BGR if image.shape[2] == 3 else cv2.COLOR_RGBA2BGRA
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    elif image.ndim != 2 or image.size == 0:
        raise ValueError(f"image for {path} must be a non-empty (H, W), (H, W, 3) RGB or (H, W, 4) RGBA "
                         f"array; got shape {image.shape}")
    # imencode + an atomic write rather than imwrite: imwrite writes in place, and cannot open
    # non-ASCII paths on Windows.
    ok, data = cv2.imencode(path.suffix.lower(), image)
    if not ok:
        raise ValueError(f"{path}: OpenCV cannot write a {image.dtype} image of shape {image.shape} "
                         f"as {path.suffix}")
    return atomic.write_bytes(path, data.tobytes())


def to_uint8(image, name: str = "image") -> np.ndarray:
    """An image of any accepted dtype (see the module's notes) as ``uint8``, same shape."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    if image.dtype.kind != "f":
        raise TypeError(f"{name} has dtype {image.dtype}; expected uint8, uint16 or float "
                        "(0..1, or 0..255)")
    if image.size == 0:
        return image.astype(np.uint8)
    if not np.isfinite(image).all():
        raise ValueError(f"{name} ({image.dtype}) holds NaN or infinite values; expected pixel values "
                         "in 0..1 or 0..255")
    low, high = float(image.min()), float(image.max())
    scale = 255.0 if high <= 1.0 + _HALF_LEVEL / 255.0 else 1.0
    if low * scale < -_HALF_LEVEL or high * scale > 255.0 + _HALF_LEVEL:
        raise ValueError(f"{name} ({image.dtype}) has values from {low:g} to {high:g}; expected a float "
                         "image in 0..1 (scikit-image's convention) or in 0..255")
    return (np.clip(image * scale, 0.0, 255.0) + 0.5).astype(np.uint8)


def to_gray(image, name: str = "image") -> np.ndarray:
    """Any accepted image (see the module's notes) as a 2-D uint8 grayscale array."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"{name} must be (H, W), (H, W, 3) RGB or (H, W, 4) RGBA; got shape {image.shape}")
    image = to_uint8(image, name)
    if image.ndim == 3 and image.size:
        code = cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    return np.ascontiguousarray(image)
