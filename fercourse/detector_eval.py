"""Measuring a face detector: a labelled test set, recall and false positives, and speed.

Chapter 2 tunes :func:`fercourse.faces.detect_faces`'s parameters with these; ``benchmarks/
bench_faces.py`` prints the same figures for the default and the tuned parameters.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from .faces import box_iou, detect_faces
from .images import to_gray

__all__ = ["detection_testset", "benchmark_frame", "score_boxes", "time_detector", "evaluate_detector"]


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
            hits = int((box_iou(found_boxes, truth)[:, 0] >= min_iou).sum()) if len(found_boxes) else 0
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
