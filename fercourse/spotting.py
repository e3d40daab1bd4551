"""Spotting: finding *when* an expression happens in a clip -- its onset, apex and offset.

A recogniser is usually handed the expression's interval; in a video nobody has marked it.  The
spotter here needs no training:

1. :func:`stabilise` -- every frame registered onto the first one (a rotation and shift found by
   OpenCV's ECC), so that a head turning or drifting does not look like a face changing;
2. :func:`expression_strength` -- how far each frame's CNN features have moved from the first
   frame's (the clip starts neutral): the *expression strength* curve, optionally as a feature
   *difference* against the frames ``k`` before and after, which ignores slow drifts;
3. :func:`spot` -- the apex is the curve's peak; onset and offset are where the curve, walking
   out from the apex, falls below a fraction of the peak; an interval shorter than half a
   second (:data:`~fercourse.datasets.sequences.MICRO_MAX_SECONDS`) is a micro-expression.

:func:`score` measures a spotter against clips whose timing is known (the synthetic ones): the
apex error in frames, the interval's intersection over union, micro/macro accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .datasets.sequences import MICRO_MAX_SECONDS

__all__ = ["Spotted", "stabilise", "expression_strength", "spot", "interval_iou", "score"]


@dataclass
class Spotted:
    """What :func:`spot` found: per clip, frame indices and the micro/macro call."""

    onset: np.ndarray
    apex: np.ndarray
    offset: np.ndarray
    micro: np.ndarray
    fps: float | np.ndarray

    @property
    def duration(self) -> np.ndarray:
        """Onset-to-offset duration in seconds (as :attr:`SequenceData.duration` counts it)."""
        return (self.offset - self.onset) / np.asarray(self.fps, dtype=float)


def stabilise(frames) -> np.ndarray:
    """Clips with every frame registered onto the clip's first frame (rotation and shift).

    ``frames``: one clip ``(T, H, W)`` or clips ``(N, T, H, W)`` uint8.  OpenCV's ECC
    (``cv2.findTransformECC``, Euclidean motion) finds each frame's transform; where it does not
    converge the frame is kept as it is.  An expression moves a few pixels of the face; a turning
    head moves all of them, so registering on the whole face removes the head's motion and keeps
    most of the expression's.
    """
    import cv2

    frames = np.asarray(frames)
    if frames.ndim == 4:
        return np.stack([stabilise(c) for c in frames]) if len(frames) else frames.copy()
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be a clip (T, H, W) or clips (N, T, H, W) of uint8; got "
                         f"{frames.shape} {frames.dtype}")
    h, w = frames.shape[1:]
    ref = frames[0].astype(np.float32)
    out = frames.copy()
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    for t in range(1, len(frames)):
        warp = np.eye(2, 3, dtype=np.float32)
        try:
            _, warp = cv2.findTransformECC(ref, frames[t].astype(np.float32), warp, cv2.MOTION_EUCLIDEAN,
                                           criteria, None, 3)
        except cv2.error:  # ECC did not converge (a blank or very different frame): keep it unmoved
            continue
        out[t] = cv2.warpAffine(frames[t], warp, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REPLICATE)
    return out


def expression_strength(features, *, contrast: int | None = None) -> np.ndarray:
    """Per-frame expression strength ``(N, T)`` from per-frame features ``(N, T, D)``.

    ``contrast=None``: the Euclidean distance of each frame's features from the first frame's.
    ``contrast=k``: the distance from the mean of the features ``k`` frames before and ``k``
    after (clamped at the clip's ends) -- a *feature difference*, which a slow drift (lighting, a
    head turning) barely moves but a brief expression does.
    """
    f = np.asarray(features, dtype=np.float32)
    if f.ndim == 2:
        return expression_strength(f[None], contrast=contrast)[0]
    if f.ndim != 3:
        raise ValueError(f"features must be (T, D) or (N, T, D); got shape {f.shape}")
    if contrast is None:
        return np.linalg.norm(f - f[:, :1], axis=2)
    k = int(contrast)
    if k < 1:
        raise ValueError(f"contrast must be a positive number of frames or None; got {contrast!r}")
    t = np.arange(f.shape[1])
    before, after = np.clip(t - k, 0, f.shape[1] - 1), np.clip(t + k, 0, f.shape[1] - 1)
    return np.linalg.norm(f - 0.5 * (f[:, before] + f[:, after]), axis=2)


def spot(strength, fps, *, threshold: float = 0.15, micro_max_seconds: float = MICRO_MAX_SECONDS) -> Spotted:
    """Onset, apex, offset and micro/macro of each clip from its strength curve ``(N, T)``.

    The apex is the curve's highest frame.  Walking from the apex outwards, the onset (offset) is
    the last frame before (after) it whose strength is still at least ``threshold`` times the
    peak's, measured above the curve's lowest value.  A spotted interval shorter than
    ``micro_max_seconds`` is a micro-expression.
    """
    s = np.asarray(strength, dtype=np.float64)
    if s.ndim == 1:
        s = s[None]
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"strength must be (T,) or (N, T); got shape {np.shape(strength)}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold is a fraction of the peak, in (0, 1); got {threshold!r}")
    fps_arr = np.broadcast_to(np.asarray(fps, dtype=float), (len(s),))
    if not np.all(fps_arr > 0):
        raise ValueError(f"fps must be positive; got {fps!r}")
    n, t = s.shape
    apex = s.argmax(axis=1)
    low = s.min(axis=1)
    level = low + threshold * (s[np.arange(n), apex] - low)
    onset, offset = apex.copy(), apex.copy()
    for i in range(n):
        above = s[i] >= level[i]
        while onset[i] > 0 and above[onset[i] - 1]:
            onset[i] -= 1
        while offset[i] < t - 1 and above[offset[i] + 1]:
            offset[i] += 1
    micro = (offset - onset) / fps_arr < micro_max_seconds
    return Spotted(onset=onset, apex=apex, offset=offset, micro=micro,
                   fps=float(fps) if np.ndim(fps) == 0 else fps_arr.copy())


def interval_iou(onset_a, offset_a, onset_b, offset_b) -> np.ndarray:
    """Intersection over union of frame intervals ``[onset, offset]`` (both ends included)."""
    a0, a1, b0, b1 = (np.asarray(v, dtype=np.int64) for v in (onset_a, offset_a, onset_b, offset_b))
    if np.any(a1 < a0) or np.any(b1 < b0):
        raise ValueError("every interval needs onset <= offset")
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0) + 1, 0, None)
    union = (a1 - a0 + 1) + (b1 - b0 + 1) - inter
    return inter / union


def score(spotted: Spotted, truth, *, tolerance: int = 2) -> dict:
    """How well ``spotted`` matches the known timing of ``truth`` (a :class:`SequenceData`).

    Returns ``apex_error`` (frames, per clip, signed), ``apex_within`` (share of clips whose apex
    is within ``tolerance`` frames), ``mean_abs_apex_error``, ``iou`` (per clip) and ``mean_iou``,
    ``micro_accuracy`` (share of clips called micro or macro rightly) and ``fps``.
    """
    n = len(truth)
    if len(spotted.apex) != n:
        raise ValueError(f"spotted holds {len(spotted.apex)} clips but truth has {n}")
    err = spotted.apex - truth.apex
    iou = interval_iou(spotted.onset, spotted.offset, truth.onset, truth.offset)
    return {"apex_error": err, "apex_within": float(np.mean(np.abs(err) <= tolerance)), "tolerance": tolerance,
            "mean_abs_apex_error": float(np.mean(np.abs(err))), "iou": iou, "mean_iou": float(np.mean(iou)),
            "micro_accuracy": float(np.mean(spotted.micro == truth.micro)), "fps": truth.fps}
