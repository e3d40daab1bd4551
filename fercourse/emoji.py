"""Emoji and probability bars, drawn by the course itself with OpenCV's vector primitives.

mememoji's demo pasted an emoji over each face.  Emoji fonts and image sets come with
licences of their own, so the course draws its own: a disc, eyes, brows and a mouth in a few
anti-aliased OpenCV calls, one design per expression (:data:`DESIGNS`).  Drawing one costs a
fraction of a millisecond, so it fits in a live frame's budget.

Images are RGB uint8 arrays (the course's convention, see :mod:`fercourse.faces`), drawn on
in place.  Geometry is given in units of the emoji's radius, x to the right and y down, and
turned into OpenCV's fixed-point pixels in one place (:func:`_pt`), so an emoji looks the
same at 12 pixels and at 200.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["DESIGNS", "EMOTION_COLORS", "draw_emoji", "emoji_image", "draw_probability_bars",
           "draw_label", "abbreviation"]

_SHIFT = 4                   # OpenCV fixed-point bits: 1/16-pixel positions keep small emoji round
_ONE = 1 << _SHIFT
_AA = cv2.LINE_AA
_INK = (60, 38, 20)          # outlines, eyes and mouths: a dark brown, as emoji fonts use
_WHITE = (250, 250, 250)

_YELLOW = (255, 205, 60)
DESIGNS = {
    # name: face colour, eyes, brows, mouth (see _eyes, _brows, _mouth for what each word draws)
    "angry": dict(face=(236, 92, 52), eyes="dots", brows="frown", mouth="frown_flat"),
    "disgust": dict(face=(150, 196, 90), eyes="squint", brows="one_up", mouth="wavy"),
    "fear": dict(face=(176, 204, 238), eyes="wide", brows="worried", mouth="grimace"),
    "happy": dict(face=_YELLOW, eyes="smiling", brows=None, mouth="grin"),
    "sad": dict(face=_YELLOW, eyes="dots", brows="worried", mouth="frown", tear=True),
    "surprise": dict(face=_YELLOW, eyes="wide", brows="raised", mouth="o"),
    "neutral": dict(face=_YELLOW, eyes="dots", brows=None, mouth="line"),
    "contempt": dict(face=_YELLOW, eyes="half", brows="one_up", mouth="smirk"),
}
"""How each expression's emoji is drawn; a class name not listed gets a plain disc with its initial."""

EMOTION_COLORS = {
    "angry": (214, 39, 40), "disgust": (44, 160, 44), "fear": (148, 103, 189), "happy": (255, 170, 0),
    "sad": (31, 119, 180), "surprise": (23, 190, 207), "neutral": (127, 127, 127),
    "contempt": (140, 86, 75),
}
"""One RGB colour per expression, for probability bars (matplotlib's tab10 hues)."""


def _pt(center, radius, x, y):
    """A point given in radius units about ``center``, as OpenCV fixed-point pixels."""
    return (int(round((center[0] + x * radius) * _ONE)), int(round((center[1] + y * radius) * _ONE)))


def _poly(image, center, radius, points, color, thickness):
    pts = np.array([_pt(center, radius, x, y) for x, y in points], np.int32)
    cv2.polylines(image, [pts], False, color, thickness, _AA, _SHIFT)


def _fill(image, center, radius, points, color):
    pts = np.array([_pt(center, radius, x, y) for x, y in points], np.int32)
    cv2.fillPoly(image, [pts], color, _AA, _SHIFT)


def _ellipse(image, center, radius, cx, cy, ax, ay, color, thickness=-1, start=0, end=360, angle=0):
    axes = (max(1, int(round(ax * radius * _ONE))), max(1, int(round(ay * radius * _ONE))))
    cv2.ellipse(image, _pt(center, radius, cx, cy), axes, angle, start, end, color, thickness, _AA, _SHIFT)


def _arc(x0, x1, y_ends, bulge, n=9):
    """Points of a curve from x0 to x1, bowed by ``bulge`` (positive: downwards) in the middle."""
    t = np.linspace(0.0, 1.0, n)
    return np.stack([x0 + (x1 - x0) * t, y_ends + bulge * np.sin(np.pi * t)], 1)


def _eyes(image, c, r, kind, face, line):
    for side in (-1, 1):
        x = 0.34 * side
        if kind == "dots":
            _ellipse(image, c, r, x, -0.2, 0.09, 0.15, _INK)
        elif kind == "wide":
            _ellipse(image, c, r, x, -0.2, 0.17, 0.2, _WHITE)
            _ellipse(image, c, r, x, -0.2, 0.17, 0.2, _INK, line)
            _ellipse(image, c, r, x, -0.18, 0.07, 0.08, _INK)
        elif kind == "smiling":  # closed, curved upwards
            _poly(image, c, r, _arc(x - 0.14, x + 0.14, -0.16, -0.12), _INK, 2 * line)
        elif kind == "squint":
            _poly(image, c, r, [(x - 0.14, -0.22 - 0.06 * side), (x + 0.14, -0.22 + 0.06 * side)], _INK, 2 * line)
        elif kind == "half":  # lids lowered: the upper half of each eye covered
            _ellipse(image, c, r, x, -0.2, 0.12, 0.13, _WHITE)
            _ellipse(image, c, r, x, -0.17, 0.06, 0.08, _INK)
            _ellipse(image, c, r, x, -0.2, 0.14, 0.14, face, -1, 180, 360)
            _poly(image, c, r, [(x - 0.14, -0.2), (x + 0.14, -0.2)], _INK, line)


def _brows(image, c, r, kind, line):
    if kind is None:
        return
    for side in (-1, 1):
        inner, outer = 0.12 * side, 0.5 * side
        if kind == "frown":        # inner ends pulled down: AU4
            pts = [(inner, -0.38), (outer, -0.56)]
        elif kind == "worried":    # inner ends raised: AU1
            pts = [(inner, -0.56), (outer, -0.44)]
        elif kind == "raised":     # both ends high and arched: AU1 + AU2
            pts = _arc(inner, outer, -0.58, -0.08, 5)
        elif kind == "one_up":     # one brow raised, the other level
            pts = [(inner, -0.48 - 0.1 * (side > 0)), (outer, -0.5 - 0.14 * (side > 0))]
        else:
            raise ValueError(f"unknown brow design {kind!r}")
        _poly(image, c, r, pts, _INK, 2 * line)


def _mouth(image, c, r, kind, line):
    if kind == "grin":             # open smile: the lower half of an ellipse, filled
        _ellipse(image, c, r, 0, 0.22, 0.48, 0.36, _INK, -1, 0, 180)
        _ellipse(image, c, r, 0, 0.3, 0.3, 0.18, (230, 90, 90), -1, 20, 160)
    elif kind == "frown":
        _poly(image, c, r, _arc(-0.32, 0.32, 0.52, -0.2), _INK, 2 * line)
    elif kind == "frown_flat":
        _poly(image, c, r, _arc(-0.3, 0.3, 0.5, -0.1), _INK, 2 * line)
    elif kind == "line":
        _poly(image, c, r, [(-0.3, 0.42), (0.3, 0.42)], _INK, 2 * line)
    elif kind == "o":
        _ellipse(image, c, r, 0, 0.45, 0.17, 0.22, _INK)
    elif kind == "grimace":        # stretched, open, teeth showing: AU20 + AU25
        _ellipse(image, c, r, 0, 0.42, 0.42, 0.16, _INK)
        _ellipse(image, c, r, 0, 0.42, 0.34, 0.08, _WHITE)
    elif kind == "wavy":           # upper lip raised on one side
        x = np.linspace(-0.34, 0.34, 13)
        _poly(image, c, r, np.stack([x, 0.44 + 0.06 * np.sin(x * 14)], 1), _INK, 2 * line)
    elif kind == "smirk":          # one lip corner tightened and raised: AU14 on one side
        _poly(image, c, r, [(-0.3, 0.44), (0.15, 0.44), (0.34, 0.3)], _INK, 2 * line)
    else:
        raise ValueError(f"unknown mouth design {kind!r}")


def draw_emoji(image, center, radius, emotion: str) -> np.ndarray:
    """Draw the emoji of ``emotion`` on ``image`` (RGB uint8, in place) and return the image.

    ``center`` is (x, y) in pixels (floats allowed), ``radius`` in pixels.  A class name that
    :data:`DESIGNS` does not know gets a grey disc with the name's initial.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"draw_emoji draws on an (H, W, 3) uint8 RGB image; got {image.dtype} {image.shape}")
    radius = float(radius)
    if not radius > 0:
        raise ValueError(f"radius must be positive; got {radius}")
    c = (float(center[0]), float(center[1]))
    line = max(1, int(round(radius / 14)))
    design = DESIGNS.get(emotion)
    face = design["face"] if design else (200, 200, 200)
    _ellipse(image, c, radius, 0, 0, 1, 1, face)
    _ellipse(image, c, radius, 0, 0, 1, 1, _INK, line)
    if design is None:
        text = str(emotion)[:1].upper() or "?"
        scale = radius / 22
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2 * line)
        cv2.putText(image, text, (int(c[0] - w / 2), int(c[1] + h / 2)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    _INK, 2 * line, _AA)
        return image
    _eyes(image, c, radius, design["eyes"], face, line)
    _brows(image, c, radius, design["brows"], line)
    _mouth(image, c, radius, design["mouth"], line)
    if design.get("tear"):
        _fill(image, c, radius, [(0.36, -0.05), (0.3, 0.12), (0.36, 0.2), (0.42, 0.12)], (90, 160, 235))
    return image


def emoji_image(emotion: str, size: int = 64, background=(255, 255, 255)) -> np.ndarray:
    """A ``size`` x ``size`` RGB picture of one emoji, for legends and figures."""
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer of at least 8 pixels; got {size!r}")
    image = np.empty((int(size), int(size), 3), np.uint8)
    image[:] = background
    return draw_emoji(image, ((size - 1) / 2, (size - 1) / 2), 0.46 * size, emotion)


def abbreviation(name: str) -> str:
    """The three-letter tag a probability bar shows for a class (``surprise`` -> ``sur``)."""
    return str(name)[:3]


def draw_probability_bars(image, origin, probs, class_names, *, width: int = 72, row: int = 8,
                          alpha: float = 0.6) -> np.ndarray:
    """A small panel of horizontal bars, one per class, on ``image`` (in place); returns it.

    ``origin`` is the panel's top-left corner (x, y) in pixels; the panel is ``width`` pixels
    wide and ``row`` pixels per class tall, clipped to the image.  Each row shows the class's
    three-letter tag and a bar as long as its probability, in :data:`EMOTION_COLORS`; the most
    likely class is written in white, the others in grey.  The panel's dark backing is blended
    with weight ``alpha`` so the frame stays visible behind it.
    """
    probs = np.asarray(probs, dtype=float).ravel()
    if len(probs) != len(class_names):
        raise ValueError(f"{len(probs)} probabilities for {len(class_names)} class names")
    height, img_w = image.shape[:2]
    x0, y0 = int(origin[0]), int(origin[1])
    x0 = min(max(0, x0), max(0, img_w - width))
    y0 = min(max(0, y0), max(0, height - row * len(probs)))
    x1, y1 = min(img_w, x0 + width), min(height, y0 + row * len(probs))
    if x1 <= x0 or y1 <= y0:
        return image
    patch = image[y0:y1, x0:x1]
    patch[:] = (patch * (1 - alpha)).astype(np.uint8)   # darken in place: one pass, no copy of the frame
    tag_w = int(round(row * 2.4))
    scale = row / 26
    best = int(np.argmax(probs)) if len(probs) else -1
    for i, (name, p) in enumerate(zip(class_names, probs)):
        top = y0 + i * row
        if top + row > y1:
            break
        colour = EMOTION_COLORS.get(name, (200, 200, 200))
        bar = int(round((width - tag_w - 2) * min(max(p, 0.0), 1.0)))
        if bar > 0:
            cv2.rectangle(image, (x0 + tag_w, top + 1), (x0 + tag_w + bar, top + row - 2), colour, -1)
        cv2.putText(image, abbreviation(name), (x0 + 1, top + row - 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    _WHITE if i == best else (170, 170, 170), 1, _AA)
    return image


def draw_label(image, text: str, origin, *, color=(255, 255, 255), scale: float = 0.45) -> np.ndarray:
    """Write ``text`` at ``origin`` (its baseline's left end) with a dark outline, readable on any frame."""
    x, y = int(origin[0]), int(origin[1])
    thick = max(1, int(math.ceil(scale * 2)))
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, _AA)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, _AA)
    return image
