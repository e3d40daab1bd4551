"""Synthetic FACS faces: the built-in dataset every chapter can run on without a download.

Faces are drawn by :mod:`fercourse.render` from action-unit intensities sampled around
the emotion prototypes of :mod:`fercourse.facs`:

- each face gets an emotion and an overall *intensity*; each AU related to the emotion
  is present with the probability :func:`fercourse.facs.au_probabilities` gives (so a
  telling AU is sometimes missing and an unrelated one sometimes present), at an
  intensity around the prototype's, scaled by the face's intensity;
- neutral faces carry faint random AUs; any face may be caught mid-blink;
- identity (head shape, tones, hair, glasses) belongs to a *subject*; pose and lighting
  change with every image.

So weak expressions are genuinely ambiguous, as in real data: even a classifier that
sees the true AU vector is not perfect.  Unlike real data, every image comes with its
ground truth (emotion, AU intensities, valence/arousal, subject), which is what lets a
chapter *measure* whether a network's filter responds to AU12.

:func:`make_sequences` makes short clips going neutral -> onset -> apex -> offset ->
neutral, micro-expressions (short, subtle) and macro-expressions (longer, stronger).
"""

from __future__ import annotations

import numpy as np

from .. import config, facs, render
from ..labels import CONTEMPT, EMOTIONS, EMOTIONS_WITH_CONTEMPT, SPLITS
from .facedata import FaceData
from .sequences import SequenceData  # re-exported: it lived here first

__all__ = ["make_faces", "make_sequences", "SequenceData", "sample_aus"]

NEUTRAL_AU_RATE = 0.15
"""Probability of each faint AU on a neutral face (intensity up to :data:`NEUTRAL_AU_MAX`)."""
NEUTRAL_AU_MAX = 0.25
BLINK_RATE = 0.03
"""Probability that a still face is caught mid-blink."""
DEFAULT_RELATED_INTENSITY = 0.6
"""Apex intensity of an AU that the relationship table links to an emotion but its
EMFACS prototype lacks (e.g. AU24 in anger)."""

_N_AU = len(facs.AUS)
_BLINK = facs.AU_INDEX[45]
_EXPRESSIVE = np.isin(facs.AUS, facs.EXPRESSION_AUS)


def _apex_table(emotion: str) -> np.ndarray:
    """Per-side apex intensity of every AU for ``emotion`` (prototype, else related, else 0)."""
    sides = facs.prototype_sides(emotion)
    rel = facs.RELATIONS[emotion]
    for au in list(rel["prototypical"]) + list(rel["observational"]):
        j = facs.AU_INDEX[au]
        if sides[:, j].max() == 0:
            sides[:, j] = DEFAULT_RELATED_INTENSITY
    return sides


_APEX = {e: _apex_table(e) for e in EMOTIONS_WITH_CONTEMPT}
_PROB = {e: facs.au_probabilities(e) for e in EMOTIONS_WITH_CONTEMPT}


def sample_aus(emotion: str, intensity: float, rng) -> np.ndarray:
    """AU intensities of one face showing ``emotion``: a (2, len(AUS)) per-side array.

    Parameters
    ----------
    emotion : a name from :data:`fercourse.labels.EMOTIONS_WITH_CONTEMPT`.
    intensity : the expression's overall strength in 0..1 (ignored for neutral).
    rng : numpy Generator.
    """
    if emotion not in _APEX:
        raise ValueError(f"unknown emotion {emotion!r}; valid: {', '.join(EMOTIONS_WITH_CONTEMPT)}")
    u = rng.random((3, _N_AU))
    if emotion == "neutral":
        faint = (u[0] < NEUTRAL_AU_RATE) * u[1] * NEUTRAL_AU_MAX
        faint[~_EXPRESSIVE] = 0
        return np.stack([faint, faint]).astype(np.float32)
    apex = _APEX[emotion]
    present = u[0] < _PROB[emotion]
    jitter = 0.75 + 0.5 * u[1]
    peak = apex.max(axis=0)
    related = peak > 0
    # related AUs follow the face's intensity; unrelated ones appear weakly, independently of it
    level = np.where(related, intensity * jitter * peak, 0.1 + 0.35 * u[2])
    # which side moves: as the prototype says (contempt is one-sided), else both
    side = np.where(related, apex / np.where(related, peak, 1.0), 1.0)
    return np.clip(side * (present * level), 0, 1).astype(np.float32)


def _check_fraction_args(split_fractions, intensity):
    fr = np.asarray(split_fractions, dtype=float)
    if fr.shape != (3,) or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(
            f"split_fractions must be three non-negative numbers summing to 1 "
            f"(Training, PublicTest, PrivateTest); got {split_fractions!r}"
        )
    lo, hi = intensity
    if not (0 <= lo <= hi <= 1):
        raise ValueError(f"intensity must be a range (low, high) with 0 <= low <= high <= 1; got {intensity!r}")
    return fr


def _subject_splits(n_subjects, counts, fractions, rng):
    """Assign whole subjects to splits so that image counts follow ``fractions``."""
    order = rng.permutation(n_subjects)
    need = [i for i, f in enumerate(fractions) if f > 0]
    split_of = np.zeros(n_subjects, dtype=np.int64)
    total = counts.sum()
    bounds = np.cumsum(fractions) * total
    done = 0
    for s in order:
        mid = done + counts[s] / 2
        split_of[s] = min(int(np.searchsorted(bounds, mid, side="right")), 2)
        done += counts[s]
    # every split asked for gets at least one subject, when there are enough subjects
    for i in need:
        if not np.any(split_of == i) and n_subjects >= len(need):
            donor = max(need, key=lambda j: np.sum(split_of == j))
            split_of[order[::-1][np.flatnonzero(split_of[order[::-1]] == donor)[0]]] = i
    return split_of


def make_faces(
    n: int = 2000,
    *,
    seed: int | None = None,
    size: int = 48,
    contempt: bool = False,
    split_fractions=(0.8, 0.1, 0.1),
    n_subjects: int | None = None,
    intensity=(0.2, 1.0),
) -> FaceData:
    """Render ``n`` synthetic FACS faces with their ground truth.

    Parameters
    ----------
    n : number of images (classes are balanced: ``n // n_classes`` each, the rest spread).
    seed : seed of the generator; None uses :func:`fercourse.config.seed`.  The same seed
        gives identical arrays.
    size : image width and height in pixels.
    contempt : add contempt as class 7 (:data:`fercourse.labels.EMOTIONS_WITH_CONTEMPT`).
    split_fractions : shares of Training, PublicTest, PrivateTest, assigned by *subject*
        so that no person appears in two splits.
    n_subjects : number of identities (default ``max(10, n // 20)``).
    intensity : range of the expressions' overall intensity, drawn uniformly.

    Returns
    -------
    FaceData named ``synthetic`` with ``subjects`` and ``extras``: ``aus`` (N, len(facs.AUS))
    float32 in the order of :data:`fercourse.facs.AUS`; ``valence``, ``arousal`` and
    ``intensity`` (N,) float32.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    n = int(n)
    fractions = _check_fraction_args(split_fractions, intensity)
    n_subjects = max(10, n // 20) if n_subjects is None else int(n_subjects)
    if n_subjects < 1:
        raise ValueError(f"n_subjects must be at least 1; got {n_subjects}")
    n_subjects = min(n_subjects, n)
    seed = config.seed() if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    classes = EMOTIONS_WITH_CONTEMPT if contempt else EMOTIONS

    labels = rng.permutation(np.arange(n) % len(classes)).astype(np.int64)
    subjects = rng.permutation(np.arange(n) % n_subjects).astype(np.int64)
    identities = [render.Identity.random(rng) for _ in range(n_subjects)]
    split_of = _subject_splits(n_subjects, np.bincount(subjects, minlength=n_subjects), fractions, rng)
    splits = np.asarray(SPLITS, dtype=object)[split_of[subjects]].astype(str)

    images = np.empty((n, size, size), np.uint8)
    aus = np.empty((n, _N_AU), np.float32)
    strength = np.empty(n, np.float32)
    va = np.empty((n, 2), np.float32)
    lo, hi = intensity
    for i in range(n):
        emotion = classes[labels[i]]
        level = 0.0 if emotion == "neutral" else lo + (hi - lo) * rng.random()
        sides = sample_aus(emotion, level, rng)
        if rng.random() < BLINK_RATE:
            sides[:, _BLINK] = 0.5 + 0.5 * rng.random()
        images[i] = render.render_face(sides, identities[subjects[i]], render.Pose.random(rng),
                                       render.Lighting.random(rng), size, rng)
        aus[i] = sides.max(axis=0)
        strength[i] = level
        # raters disagree a little about affect
        va[i] = np.clip(np.array(facs.valence_arousal(emotion, level)) + rng.normal(0, 0.05, 2), -1, 1)
    return FaceData(
        images=images, labels=labels, splits=splits, class_names=tuple(classes), name="synthetic",
        source=f"fercourse.datasets.make_faces(n={n}, seed={seed}, size={size}, contempt={contempt})",
        subjects=subjects,
        extras={"aus": aus, "valence": va[:, 0].copy(), "arousal": va[:, 1].copy(), "intensity": strength},
    )


# --------------------------------------------------------------------------------------------
# sequences
# --------------------------------------------------------------------------------------------


MICRO_SECONDS = (0.2, 0.45)
"""Onset-to-offset duration of a micro-expression (under half a second)."""
MACRO_SECONDS = (0.6, 2.0)
MICRO_INTENSITY = (0.15, 0.45)
MACRO_INTENSITY = (0.5, 1.0)


def _profile(frames, onset, apex, offset):
    """Expression strength per frame: 0, smooth rise to exactly 1 at the apex, fall, 0."""
    t = np.arange(frames, dtype=np.float64)
    up = np.clip((t - onset) / max(apex - onset, 1), 0, 1)
    down = np.clip((offset - t) / max(offset - apex, 1), 0, 1)
    return (np.sin(0.5 * np.pi * np.minimum(up, down)) ** 2).astype(np.float32)


def make_sequences(
    n: int = 100,
    *,
    frames: int = 30,
    fps: float = 30,
    seed: int | None = None,
    size: int = 48,
    micro_fraction: float = 0.5,
    n_subjects: int | None = None,
    blinks: bool = True,
    head_motion: bool = True,
) -> SequenceData:
    """Render ``n`` clips neutral -> onset -> apex -> offset -> neutral.

    Parameters
    ----------
    n : number of clips; emotions are the six non-neutral FER2013 classes, balanced.
    frames, fps : clip length in frames and frame rate; the clip must last at least
        0.7 s so that a macro-expression (at least 0.6 s) fits.
    seed : None uses :func:`fercourse.config.seed`.
    micro_fraction : share of micro-expressions: 0.2-0.45 s long, peak intensity
        0.15-0.45.  The others are macro-expressions: 0.6-2 s (as the clip allows),
        peak intensity 0.5-1.
    n_subjects : number of identities (default ``max(4, n // 5)``).
    blinks, head_motion : distractors: blinks (AU45, 0.1-0.25 s) in about 60 % of clips, and
        a slow drift of roll, shift and yaw.
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    if fps <= 0:
        raise ValueError(f"fps must be positive; got {fps!r}")
    length = frames / fps
    if length < 0.7:
        raise ValueError(f"clips of {frames} frames at {fps} fps last {length:.2f} s; "
                         "at least 0.7 s is needed to fit a macro-expression")
    if not 0 <= micro_fraction <= 1:
        raise ValueError(f"micro_fraction must lie in 0..1; got {micro_fraction!r}")
    n = int(n)
    seed = config.seed() if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    n_subjects = min(n, max(4, n // 5) if n_subjects is None else int(n_subjects))
    expressive = [e for e in EMOTIONS if e != "neutral"]

    emotion_names = [expressive[i] for i in rng.permutation(np.arange(n) % len(expressive))]
    micro = np.zeros(n, bool)
    micro[rng.permutation(n)[: int(round(micro_fraction * n))]] = True
    subjects = rng.permutation(np.arange(n) % n_subjects).astype(np.int64)
    identities = [render.Identity.random(rng) for _ in range(n_subjects)]

    out = np.empty((n, frames, size, size), np.uint8)
    aus = np.zeros((n, frames, _N_AU), np.float32)
    onset = np.empty(n, np.int64)
    apex = np.empty(n, np.int64)
    offset = np.empty(n, np.int64)
    for i in range(n):
        lo_s, hi_s = MICRO_SECONDS if micro[i] else (MACRO_SECONDS[0], min(MACRO_SECONDS[1], 0.9 * length))
        dur = max(3, int(round((lo_s + (hi_s - lo_s) * rng.random()) * fps)))
        dur = min(dur, frames - 2)
        onset[i] = rng.integers(1, frames - dur)
        offset[i] = onset[i] + dur
        apex[i] = onset[i] + max(1, min(dur - 1, int(round(dur * (0.3 + 0.2 * rng.random())))))
        lo_i, hi_i = MICRO_INTENSITY if micro[i] else MACRO_INTENSITY
        peak = lo_i + (hi_i - lo_i) * rng.random()
        base = sample_aus(emotion_names[i], peak, rng)
        while not base.any():  # a clip must show something at its apex
            base = sample_aus(emotion_names[i], peak, rng)
        prof = _profile(frames, onset[i], apex[i], offset[i])
        per_frame = prof[:, None, None] * base[None]  # (T, 2, n_AU)
        if blinks and rng.random() < 0.6:
            start = rng.integers(0, frames)
            blen = max(2, int(round((0.1 + 0.15 * rng.random()) * fps)))
            t = np.arange(frames)
            blink = np.clip(1 - np.abs(t - start - blen / 2) / (blen / 2), 0, 1)
            per_frame[:, :, _BLINK] = np.maximum(per_frame[:, :, _BLINK], blink[:, None])
        pose0 = render.Pose.random(rng, amount=0.5)
        light = render.Lighting.random(rng)
        drift = rng.normal(0, 1, 4) if head_motion else np.zeros(4)
        phase = rng.random() * 2 * np.pi
        for t in range(frames):
            s = np.sin(2 * np.pi * t / frames * 0.7 + phase)
            pose = render.Pose(roll=pose0.roll + 2.0 * drift[0] * s, scale=pose0.scale,
                               shift_x=pose0.shift_x + 0.01 * drift[1] * s,
                               shift_y=pose0.shift_y + 0.01 * drift[2] * s, yaw=pose0.yaw + 0.05 * drift[3] * s)
            out[i, t] = render.render_face(per_frame[t], identities[subjects[i]], pose, light, size, rng)
        aus[i] = per_frame.max(axis=1)
    return SequenceData(
        frames=out, aus=aus, emotion=np.array([EMOTIONS.index(e) for e in emotion_names], np.int64),
        onset=onset, apex=apex, offset=offset, micro=micro, subjects=subjects, fps=float(fps),
    )
