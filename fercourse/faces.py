"""Finding, cropping and aligning faces: the first step of the course's pipeline.

A photo goes in; a square, grayscale, 48x48 crop of the face comes out, as in mememoji
(Ho, 2016): a Viola-Jones cascade finds the face, the box is widened by a margin and made
square, and the patch is resized.  Chapter 2 explains each step and measures it.

Channel order
-------------
Colour arrays are **RGB** (or RGBA), as matplotlib and scikit-image give them.  OpenCV
reads and writes BGR, so every file this module reads is converted from BGR on load
(:func:`load_image`), and an array you read yourself with ``cv2.imread`` must be converted
with ``cv2.cvtColor(img, cv2.COLOR_BGR2RGB)`` before it is passed here.  Accepted images:
2-D grayscale, (H, W, 3) RGB or (H, W, 4) RGBA, as uint8, uint16 (scaled to 0-255) or
float in [0, 1] (scikit-image's convention), any size.

Boxes are ``(x, y, w, h)`` rows of an int array in the pixel coordinates of the image
passed in, largest first.  An image without a face gives an empty result (a (0, 4) box
array, ``None`` from :func:`crop_face`), never an exception; a missing or unreadable file
raises an error naming it.
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

__all__ = [
    "DEFAULT_PARAMS", "TUNED_PARAMS", "IMAGE_SUFFIXES", "CropReport",
    "haar_cascade", "lbp_cascade", "eye_cascade", "integral_image", "load_image", "to_gray",
    "detect_faces", "find_eyes", "rotate_image", "align_face", "crop_face", "crop_faces",
    "crop_images", "crop_folder", "video_faces", "detection_testset", "benchmark_frame",
    "score_boxes", "time_detector", "evaluate_detector",
]

#: OpenCV's own defaults for ``detectMultiScale`` (no minimum size beyond the 24x24 window).
DEFAULT_PARAMS = {"scale_factor": 1.1, "min_neighbors": 3, "min_size": None}
#: The setting chapter 2's parameter study picks (and re-measures each run): the fastest one
#: with a minimum face size of at most 60 pixels that keeps the defaults' recall on the LFW
#: faces with no more false positives.  For faces at least 60 pixels tall.
TUNED_PARAMS = {"scale_factor": 1.3, "min_neighbors": 2, "min_size": (60, 60)}

#: File name endings :func:`crop_folder` treats as images.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")

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
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV could not load the cascade {path}")
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
        if not Path(cascade).is_file():
            raise FileNotFoundError(f"cascade file {cascade} does not exist")
        loaded = cv2.CascadeClassifier(str(cascade))
        if loaded.empty():
            raise ValueError(f"cascade file {cascade} is not a cascade OpenCV can read")
        return loaded
    raise ValueError(f"cascade={cascade!r}: expected 'haar', 'lbp', an .xml path or a cv2.CascadeClassifier")


# --------------------------------------------------------------------------- images

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


def to_gray(image, name: str = "image") -> np.ndarray:
    """Any accepted image (see the module's notes) as a 2-D uint8 grayscale array."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"{name} must be (H, W), (H, W, 3) RGB or (H, W, 4) RGBA; got shape {image.shape}")
    if image.dtype == np.uint16:
        image = (image.astype(np.float32) * (255.0 / 65535.0) + 0.5).astype(np.uint8)
    elif image.dtype.kind == "f":
        image = (np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise TypeError(f"{name} has dtype {image.dtype}; expected uint8, uint16 or float in [0, 1]")
    if image.ndim == 3 and image.size:
        code = cv2.COLOR_RGB2GRAY if image.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        image = cv2.cvtColor(np.ascontiguousarray(image), code)
    return np.ascontiguousarray(image)


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


def detect_faces(image, *, cascade="haar", scale_factor: float = 1.1, min_neighbors: int = 3,
                 min_size=None, max_size=None, equalize: bool = False,
                 max_side: int | None = MAX_DETECT_SIDE) -> np.ndarray:
    """Find faces with a Viola-Jones cascade; boxes ``(x, y, w, h)`` largest first.

    Parameters
    ----------
    image : array
        Grayscale, RGB or RGBA (see the module's notes on channel order and dtypes).
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
    (N, 4) int array, sorted by area, largest first; (0, 4) when there is no face.
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
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind="stable")
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


# --------------------------------------------------------------------------- folders and videos

@dataclass
class CropReport:
    """What :func:`crop_folder` did: crops written, images with no face, unreadable files."""

    src: Path
    dst: Path
    cropped: dict = field(default_factory=dict)      # source file -> list of crop files
    no_face: list = field(default_factory=list)      # source files where no face was found
    unreadable: dict = field(default_factory=dict)   # source file -> why it could not be read
    seconds: float = 0.0

    @property
    def n_images(self) -> int:
        return len(self.cropped) + len(self.no_face) + len(self.unreadable)

    @property
    def n_crops(self) -> int:
        return sum(len(v) for v in self.cropped.values())

    def __str__(self) -> str:
        def names(paths, limit=5):
            rel = [str(Path(p).relative_to(self.src)) if Path(p).is_relative_to(self.src) else str(p) for p in paths]
            more = f", ... ({len(rel) - limit} more)" if len(rel) > limit else ""
            return ", ".join(rel[:limit]) + more

        lines = [f"{self.n_crops} face crop(s) from {len(self.cropped)} of {self.n_images} image(s) "
                 f"in {self.src} written to {self.dst} ({self.seconds:.1f} s)"]
        if self.no_face:
            lines.append(f"no face found in {len(self.no_face)}: {names(self.no_face)}")
        if self.unreadable:
            lines.append(f"could not read {len(self.unreadable)}: {names(self.unreadable)}")
        return "\n".join(lines)


def _write_png(path: Path, image: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError(f"could not encode a crop for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _progress(iterable, enabled, **kwargs):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def crop_folder(src, dst, *, size: int = 48, margin: float = 0.2, align: bool = False,
                every_face: bool = False, progress: bool = True) -> CropReport:
    """Crop the faces of every image under ``src`` into ``dst`` as PNG files.

    The folder tree is mirrored (``src/happy/a.jpg`` -> ``dst/happy/a.png``), so class
    folders survive; with ``every_face`` each face gets its own file (``a_0.png``,
    ``a_1.png``...); when two images share a name (``a.jpg``, ``a.png``) the later one in
    sorted order is written as ``a_png.png``.  Each crop is written atomically.  Images without a face and files that
    cannot be read are listed in the returned :class:`CropReport` instead of stopping the run.
    """
    _check_crop_args(size, margin)
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FileNotFoundError(f"source folder {src} does not exist")
    if not src.is_dir():
        raise NotADirectoryError(f"source {src} is not a folder")
    dst.mkdir(parents=True, exist_ok=True)
    dst_resolved = dst.resolve()
    files = sorted(p for p in src.rglob("*")
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                   and not p.resolve().is_relative_to(dst_resolved))
    report = CropReport(src=src, dst=dst)
    taken = set()
    start = time.perf_counter()
    for path in _progress(files, progress, desc="cropping faces", unit="image"):
        try:
            image = load_image(path)
        except (ValueError, OSError) as error:
            report.unreadable[path] = str(error)
            continue
        crops = crop_faces(image, size=size, margin=margin, align=align)
        if len(crops) == 0:
            report.no_face.append(path)
            continue
        rel = path.relative_to(src).with_suffix("")
        if rel in taken:   # a.jpg and a.png in one folder: the second becomes a_png.png
            rel = rel.with_name(f"{rel.name}_{path.suffix.lstrip('.').lower()}")
        taken.add(rel)
        if every_face:
            targets = [dst / rel.parent / f"{rel.name}_{k}.png" for k in range(len(crops))]
        else:
            crops, targets = crops[:1], [dst / rel.with_suffix(".png")]
        for crop, target in zip(crops, targets):
            _write_png(target, crop)
        report.cropped[path] = targets
    report.seconds = time.perf_counter() - start
    return report


def video_faces(path, *, size: int = 48, every: int = 1, margin: float = 0.2, align: bool = False,
                every_face: bool = False, progress: bool = False, **detect_kwargs):
    """Walk a video file frame by frame, yielding ``(timestamp_seconds, crop)``.

    Every ``every``-th frame is searched; frames without a face yield nothing (the gaps in
    the timestamps show where the face was lost).  One crop per frame, the largest face,
    unless ``every_face``.  The file is checked at once: a missing or unreadable video
    raises here, not at the first ``next()``.
    """
    _check_crop_args(size, margin)
    if int(every) != every or every < 1:
        raise ValueError(f"every={every!r} must be a positive integer")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video file {path} does not exist")
    capture = cv2.VideoCapture(str(path))
    ok = capture.isOpened()
    if ok:
        ok, first = capture.read()
    if not ok:
        capture.release()
        raise ValueError(f"{path} is not a video OpenCV can read")
    fps = capture.get(cv2.CAP_PROP_FPS)
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))

    def frames():
        index, frame = 0, first
        try:
            while True:
                if index % every == 0:
                    if frame is None:
                        ok, frame = capture.retrieve()
                        if not ok:
                            return
                    seconds = index / fps if fps > 0 else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    yield seconds, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                frame = None
                # grab() without retrieve() skips decoding the frames that are not searched.
                if not capture.grab():
                    return
                index += 1
        finally:
            capture.release()

    def crops():
        bar_total = (total + every - 1) // every if total > 0 else None
        for seconds, frame in _progress(frames(), progress, total=bar_total, desc="video frames", unit="frame"):
            found = crop_faces(frame, size=size, margin=margin, align=align, **detect_kwargs)
            for crop in (found if every_face else found[:1]):
                yield seconds, crop

    return crops()


# --------------------------------------------------------------------------- measuring a detector

def detection_testset(face_side: int = 100, pad: int = 30):
    """The LFW subset that ships with scikit-image, made detectable: faces and non-faces.

    Its 100 faces and 100 non-faces are 25x25 tight crops, smaller than a cascade needs, so
    each is upscaled to ``face_side`` pixels and framed by ``pad`` pixels of its mean grey.

    Returns
    -------
    images : (200, S, S) uint8, S = face_side + 2 * pad
    is_face : (200,) bool, True for the first 100
    face_box : (4,) int, where the face lies in a face image
    """
    from skimage.data import lfw_subset

    raw = lfw_subset()
    side = face_side + 2 * pad
    images = np.zeros((len(raw), side, side), dtype=np.uint8)
    for i, small in enumerate(raw):
        up = cv2.resize(to_gray(small), (face_side, face_side), interpolation=cv2.INTER_CUBIC)
        images[i] = cv2.copyMakeBorder(up, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=int(up.mean()))
    is_face = np.arange(len(raw)) < len(raw) // 2
    return images, is_face, np.array([pad, pad, face_side, face_side])


def _iou(boxes, box):
    x, y, w, h = box
    ix = np.clip(np.minimum(boxes[:, 0] + boxes[:, 2], x + w) - np.maximum(boxes[:, 0], x), 0, None)
    iy = np.clip(np.minimum(boxes[:, 1] + boxes[:, 3], y + h) - np.maximum(boxes[:, 1], y), 0, None)
    inter = ix * iy
    return inter / (boxes[:, 2] * boxes[:, 3] + w * h - inter)


def benchmark_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A ``width`` x ``height`` RGB frame for timing detectors: the astronaut, centred on grey."""
    from skimage.data import astronaut

    image = astronaut()
    side = min(width, height)
    image = cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)
    left, top = (width - side) // 2, (height - side) // 2
    return cv2.copyMakeBorder(image, top, height - side - top, left, width - side - left,
                              cv2.BORDER_CONSTANT, value=(128, 128, 128))


def score_boxes(boxes, is_face, face_box, *, min_iou: float = 0.4) -> dict:
    """Score detections on a face / non-face test set such as :func:`detection_testset`'s.

    ``boxes[i]`` are the boxes found in image i.  A face image counts as found when a box
    overlaps its face box with intersection over union at least ``min_iou``; every box on a
    non-face image is a false positive.  ``face_box`` is one (x, y, w, h) for all images, or
    one row per image (rows of non-face images are ignored).  Boxes on a face image that do not match the face
    are counted apart, as ``extra_boxes``.

    Returns a dict: ``recall``, ``false_positives``, ``extra_boxes`` and ``found`` (a bool
    mask over the face images).
    """
    is_face = np.asarray(is_face, dtype=bool)
    if len(boxes) != len(is_face):
        raise ValueError(f"boxes has {len(boxes)} entries but is_face has {len(is_face)}")
    face_boxes = np.asarray(face_box, dtype=float).reshape(-1, 4)
    if len(face_boxes) == 1:
        face_boxes = np.repeat(face_boxes, len(is_face), axis=0)
    elif len(face_boxes) != len(is_face):
        raise ValueError(f"face_box must be one box or one per image ({len(is_face)}); got {len(face_boxes)}")
    found, false_positives, extra = [], 0, 0
    for found_boxes, face, truth in zip(boxes, is_face, face_boxes):
        found_boxes = np.asarray(found_boxes).reshape(-1, 4)
        if face:
            hits = int((_iou(found_boxes, truth) >= min_iou).sum()) if len(found_boxes) else 0
            found.append(hits > 0)
            extra += len(found_boxes) - min(hits, 1)
        else:
            false_positives += len(found_boxes)
    found = np.asarray(found, dtype=bool)
    return {"recall": float(found.mean()) if len(found) else float("nan"),
            "false_positives": int(false_positives), "extra_boxes": int(extra), "found": found}


def time_detector(frame=None, *, repeats: int = 3, **detect_kwargs) -> float:
    """Milliseconds :func:`detect_faces` takes on ``frame`` (default :func:`benchmark_frame`).

    The best of ``repeats`` runs is kept: slower runs measure other work on the machine,
    not the detector.
    """
    gray = to_gray(benchmark_frame() if frame is None else frame)
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        detect_faces(gray, **detect_kwargs)
        times.append(time.perf_counter() - start)
    return 1000.0 * min(times)


def evaluate_detector(images, is_face, face_box, *, min_iou: float = 0.4, frame=None, repeats: int = 3,
                      **detect_kwargs) -> dict:
    """Recall, false positives (:func:`score_boxes`) and speed (:func:`time_detector`) in one dict.

    ``detect_kwargs`` go to :func:`detect_faces`; the dict gains ``ms_per_frame``.
    """
    boxes = [detect_faces(image, **detect_kwargs) for image in images]
    result = score_boxes(boxes, is_face, face_box, min_iou=min_iou)
    result["ms_per_frame"] = time_detector(frame, repeats=repeats, **detect_kwargs)
    return result
