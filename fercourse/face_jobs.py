"""Face jobs: cropping every image of a folder, and every frame of a video.

Both walk many images through :func:`fercourse.faces.crop_faces` and keep going where one image
fails: :func:`crop_folder` lists the images without a face and the files it could not read in
its :class:`CropReport`; :func:`video_faces` yields nothing for a frame without a face.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from .faces import _check_crop_args, crop_faces
from .images import IMAGE_SUFFIXES, load_image, save_image

__all__ = ["CropReport", "crop_folder", "video_faces"]


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
    sorted order is written as ``a_png.png``.  Each crop is written atomically
    (:func:`fercourse.images.save_image`).  Images without a face and files that cannot be read
    are listed in the returned :class:`CropReport` instead of stopping the run.
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
            save_image(target, crop)
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

