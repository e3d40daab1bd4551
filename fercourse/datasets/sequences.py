"""Clips of faces: :class:`SequenceData` and the clip-level operations every reader needs.

A *clip* is a short run of frames that holds one expression: it starts near neutral, rises
to the expression's *onset*, peaks at its *apex* and fades by its *offset*.  Every source of
clips in the course -- the synthetic renderer (:func:`fercourse.datasets.make_sequences`),
CASME II (:mod:`~fercourse.datasets.casme2`), SAMM (:mod:`~fercourse.datasets.samm`) --
returns a :class:`SequenceData`: frames as one ``(N, T, H, W)`` uint8 array, so every clip
has the same number of frames ``T``, with the timing of each expression as frame indices.

Real clips come in many lengths (CASME II's last from 24 to over 100 frames at 200 frames/s),
so readers bring them to one length with the operations here:

- :func:`window_indices` -- ``T`` consecutive frames centred on an interval (onset..offset,
  or the apex), shifted to stay inside the clip;
- :func:`resample_positions` and :func:`interpolate` -- ``T`` frames spread evenly over a clip
  of any length, new frames drawn between the old ones by linear *temporal interpolation*
  (as the temporal interpolation model of the CASME II baseline does, in its simplest form);
- :meth:`SequenceData.window` and :meth:`SequenceData.resample` apply them to a whole
  dataset and keep onset, apex, offset and the frame rate right.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..labels import EMOTIONS

__all__ = [
    "SequenceData", "MICRO_MAX_SECONDS", "window_indices", "resample_positions", "interpolate",
    "resample", "map_index", "interval_index",
]

MICRO_MAX_SECONDS = 0.5
"""An expression shorter than this (onset to offset) is a micro-expression; longer, a macro one."""


# --------------------------------------------------------------------------- clip operations
def window_indices(n_frames: int, start: int, stop: int, length: int) -> np.ndarray:
    """Indices of ``length`` consecutive frames centred on the interval ``start..stop``.

    The window is shifted, not cut, where it would leave the clip, so it always holds
    ``length`` frames of the clip; a clip shorter than ``length`` has its first and last
    frames repeated (the window cannot be filled any other way).  ``start == stop`` centres
    the window on one frame (the apex, say).

    Returns an int64 array of shape ``(length,)``, non-decreasing.
    """
    n_frames, start, stop, length = int(n_frames), int(start), int(stop), int(length)
    if n_frames < 1 or length < 1:
        raise ValueError(f"n_frames and length must be positive; got n_frames={n_frames}, length={length}")
    if not 0 <= start <= stop < n_frames:
        raise ValueError(f"the interval {start}..{stop} must satisfy 0 <= start <= stop < n_frames={n_frames}")
    first = int(np.floor((start + stop) / 2 - (length - 1) / 2))
    first = min(max(first, 0), max(n_frames - length, 0))
    return np.clip(np.arange(first, first + length), 0, n_frames - 1).astype(np.int64)


def resample_positions(n_frames: int, length: int) -> np.ndarray:
    """``length`` evenly spread (fractional) frame positions from the first frame to the last."""
    n_frames, length = int(n_frames), int(length)
    if n_frames < 1 or length < 1:
        raise ValueError(f"n_frames and length must be positive; got n_frames={n_frames}, length={length}")
    if length == 1:
        return np.array([(n_frames - 1) / 2])
    return np.linspace(0.0, n_frames - 1, length)


def interpolate(frames, positions) -> np.ndarray:
    """Frames at fractional ``positions`` along axis 0, each a linear blend of its two neighbours.

    ``frames`` may be uint8 images ``(T, H, W)`` (the result is rounded back to uint8) or any
    float array whose first axis is time (per-frame AU intensities, features).
    """
    frames = np.asarray(frames)
    positions = np.asarray(positions, dtype=float)
    if frames.ndim < 1 or len(frames) == 0:
        raise ValueError(f"frames must have at least one frame along axis 0; got shape {frames.shape}")
    if positions.ndim != 1 or positions.min(initial=0) < 0 or positions.max(initial=0) > len(frames) - 1:
        raise ValueError(f"positions must be a 1-D array within 0..{len(frames) - 1}; "
                         f"got {positions.min(initial=0):.2f}..{positions.max(initial=0):.2f}")
    lo = np.floor(positions).astype(int)
    hi = np.minimum(lo + 1, len(frames) - 1)
    w = (positions - lo).reshape(-1, *([1] * (frames.ndim - 1)))
    out = (1 - w) * frames[lo].astype(np.float32) + w * frames[hi].astype(np.float32)
    if np.issubdtype(frames.dtype, np.integer):
        info = np.iinfo(frames.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(frames.dtype)
    return out.astype(frames.dtype if np.issubdtype(frames.dtype, np.floating) else np.float32)


def resample(frames, length: int, method: str = "linear") -> np.ndarray:
    """A clip (time on axis 0) brought to ``length`` frames spread evenly over it.

    ``method="linear"`` draws new frames between the old ones (temporal interpolation);
    ``"nearest"`` repeats or drops whole frames (no blending: every frame is a real one).
    """
    frames = np.asarray(frames)
    pos = resample_positions(len(frames), length)
    if method == "nearest":
        return frames[np.rint(pos).astype(int)]
    if method != "linear":
        raise ValueError(f"method must be 'linear' or 'nearest'; got {method!r}")
    return interpolate(frames, pos)


def map_index(index, n_frames: int, length: int) -> np.ndarray:
    """Where frame ``index`` of a clip of ``n_frames`` lands after :func:`resample` to ``length``."""
    index = np.asarray(index)
    if n_frames <= 1:
        return np.zeros_like(index, dtype=np.int64)
    return np.rint(index * (length - 1) / (n_frames - 1)).astype(np.int64)


def interval_index(index, start, stop, length: int) -> np.ndarray:
    """Where frame ``index`` lands when frames ``start..stop`` are brought to ``length`` frames.

    Arguments may be arrays, one value per clip; an interval of one frame counts as two long.
    The one rule for moving onset, apex and offset with a stretched interval, whether its frames
    were in memory (:meth:`SequenceData.interval`) or in files (the CASME II and SAMM readers).
    """
    span = np.maximum(np.asarray(stop) - start, 1)
    return np.rint((np.asarray(index) - start) / span * (length - 1)).astype(np.int64)


# --------------------------------------------------------------------------- the dataset
@dataclass
class SequenceData:
    """Clips of faces with the timing of their expression.

    Attributes
    ----------
    frames : (N, T, H, W) uint8.
    aus : AU intensities in the order of :data:`fercourse.facs.AUS`: (N, T, K) float32 per
        frame (the synthetic clips), or (N, K) per clip where a dataset codes AUs once per
        clip (CASME II, SAMM: 1.0 for a coded AU, or its FACS grade).
    emotion : (N,) int64 indexing ``class_names``.
    onset, apex, offset : (N,) int64 frame indices, ``0 <= onset <= apex <= offset < T``.
    micro : (N,) bool, True for a micro-expression (shorter than half a second, subtle).
    subjects : (N,) int64 subject ids.
    fps : frames per second: one number, or (N,) numbers when clips were resampled each by
        its own factor (a real clip of 60 frames brought to 30 plays at half its rate).
    class_names : emotion names (default FER2013's order).
    name : ``synthetic``, ``casme2``, ``samm``...
    clips : (N,) str clip identifiers (``sub01/EP02_01f``), or None.
    source : where the clips came from (a path, or how they were made).
    notes : what a reader did about irregular rows (skipped, or repaired), one line each,
        naming the row.
    """

    frames: np.ndarray
    aus: np.ndarray
    emotion: np.ndarray
    onset: np.ndarray
    apex: np.ndarray
    offset: np.ndarray
    micro: np.ndarray
    subjects: np.ndarray
    fps: float | np.ndarray
    class_names: tuple = EMOTIONS
    name: str = "synthetic"
    clips: np.ndarray | None = None
    source: str = ""
    notes: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if self.frames.ndim != 4 or self.frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, T, H, W) uint8; got {self.frames.shape} {self.frames.dtype}")
        n, t = self.frames.shape[:2]
        if self.aus.shape[:2] != (n, t) and (self.aus.ndim != 2 or len(self.aus) != n):
            raise ValueError(f"aus has shape {self.aus.shape} for {n} clips of {t} frames; "
                             "expected (N, T, K) per frame or (N, K) per clip")
        for name in ("emotion", "onset", "apex", "offset", "micro", "subjects"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} clips")
        if self.clips is not None and len(self.clips) != n:
            raise ValueError(f"clips has {len(self.clips)} entries for {n} clips")
        bad = np.flatnonzero(~((0 <= self.onset) & (self.onset <= self.apex) & (self.apex <= self.offset)
                               & (self.offset < t)))
        if len(bad):
            i = bad[0]
            raise ValueError(f"clip {self._label(i)}: onset {self.onset[i]}, apex {self.apex[i]}, offset "
                             f"{self.offset[i]} must satisfy 0 <= onset <= apex <= offset < {t}")
        fps = np.asarray(self.fps, dtype=float)
        if fps.shape not in ((), (n,)) or not np.all(fps > 0):
            raise ValueError(f"fps must be one positive number or one per clip ({n}); got {self.fps!r}")
        if n and len(self.emotion) and (self.emotion.min() < 0 or self.emotion.max() >= len(self.class_names)):
            raise ValueError(f"emotion holds labels outside 0..{len(self.class_names) - 1} ({self.class_names})")

    def _label(self, i) -> str:
        return str(self.clips[i]) if self.clips is not None else str(i)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def length(self) -> int:
        """Frames per clip, ``T``."""
        return self.frames.shape[1]

    @property
    def duration(self) -> np.ndarray:
        """Onset-to-offset duration of each expression, in seconds."""
        return (self.offset - self.onset) / np.asarray(self.fps, dtype=float)

    @property
    def clip_aus(self) -> np.ndarray:
        """(N, K) AU intensities per clip: the peak over frames, or the coded AUs as they are."""
        return self.aus.max(axis=1) if self.aus.ndim == 3 else self.aus

    def _replace(self, **changes) -> "SequenceData":
        return dataclasses.replace(self, **changes)

    def select(self, index) -> "SequenceData":
        """A new SequenceData holding the chosen clips (a boolean mask or an index array)."""
        idx = np.asarray(index)
        fps = self.fps if np.ndim(self.fps) == 0 else np.asarray(self.fps)[idx]
        return self._replace(
            frames=self.frames[idx], aus=self.aus[idx], emotion=self.emotion[idx], onset=self.onset[idx],
            apex=self.apex[idx], offset=self.offset[idx], micro=self.micro[idx], subjects=self.subjects[idx],
            fps=fps, clips=None if self.clips is None else self.clips[idx])

    def window(self, length: int, around: str = "interval") -> "SequenceData":
        """Every clip cut to ``length`` frames centred on its expression (:func:`window_indices`).

        ``around``: ``"interval"`` centres on onset..offset, ``"apex"`` on the apex frame.
        Onset and offset that fall outside the window are moved to its edges.
        """
        if around not in ("interval", "apex"):
            raise ValueError(f"around must be 'interval' or 'apex'; got {around!r}")
        t = self.length
        idx = np.stack([window_indices(t, *((a, a) if around == "apex" else (on, off)), length)
                        for on, a, off in zip(self.onset, self.apex, self.offset)]) if len(self) else \
            np.zeros((0, length), np.int64)
        rows = np.arange(len(self))[:, None]
        first = idx[:, :1]
        onset, apex, offset = (np.clip(v[:, None] - first, 0, length - 1)[:, 0]
                               for v in (self.onset, self.apex, self.offset))
        aus = self.aus[rows, idx] if self.aus.ndim == 3 else self.aus
        return self._replace(frames=self.frames[rows, idx], aus=aus, onset=onset, apex=apex, offset=offset)

    def resample(self, length: int, method: str = "linear") -> "SequenceData":
        """Every clip brought to ``length`` frames spread evenly over it (:func:`resample`).

        The timing moves with the frames and the frame rate changes by the same factor, so
        :attr:`duration` stays what it was (up to rounding to whole frames).
        """
        t = self.length
        frames = np.stack([resample(c, length, method) for c in self.frames]) if len(self) else \
            np.zeros((0, length, *self.frames.shape[2:]), np.uint8)
        aus = (np.stack([resample(a, length, method) for a in self.aus]) if len(self) else
               np.zeros((0, length, self.aus.shape[-1]), np.float32)) if self.aus.ndim == 3 else self.aus
        factor = (length - 1) / (t - 1) if t > 1 else 1.0
        fps = np.asarray(self.fps, dtype=float) * factor
        return self._replace(
            frames=frames, aus=aus, onset=map_index(self.onset, t, length), apex=map_index(self.apex, t, length),
            offset=map_index(self.offset, t, length), fps=float(fps) if fps.ndim == 0 else fps)

    def interval(self, length: int, context: int = 0, end: str = "offset") -> "SequenceData":
        """Each clip's expression alone -- onset..offset (or onset..apex, ``end="apex"``), widened by
        ``context`` frames each side as far as the clip allows -- brought to ``length`` frames by
        temporal interpolation.

        What a recogniser is given when the coders marked the interval (CASME II's readers do
        the same from the coding sheet).  Each clip is stretched by its own factor, so ``fps``
        becomes one number per clip.  With ``end="apex"`` the clips stop at the apex (the last
        frame), and the offset left in the data is the apex too.
        """
        if int(length) != length or length < 2:
            raise ValueError(f"length must be an integer >= 2; got {length!r}")
        if int(context) != context or context < 0:
            raise ValueError(f"context must be a whole number of frames >= 0; got {context!r}")
        if end not in ("offset", "apex"):
            raise ValueError(f"end must be 'offset' or 'apex'; got {end!r}")
        t = self.length
        last = self.offset if end == "offset" else self.apex
        start = np.maximum(self.onset - context, 0)
        stop = np.minimum(last + context, t - 1)
        frames, aus = [], []
        for i in range(len(self)):
            pos = np.linspace(start[i], stop[i], length)
            frames.append(interpolate(self.frames[i], pos))
            if self.aus.ndim == 3:
                aus.append(interpolate(self.aus[i], pos))
        span = np.maximum(stop - start, 1)

        def grid(index):
            return interval_index(index, start, stop, length)

        fps = np.broadcast_to(np.asarray(self.fps, dtype=float), (len(self),)) * (length - 1) / span
        return self._replace(
            frames=np.stack(frames) if frames else np.zeros((0, length, *self.frames.shape[2:]), np.uint8),
            aus=np.stack(aus) if self.aus.ndim == 3 and aus else (
                self.aus if self.aus.ndim == 2 else np.zeros((0, length, self.aus.shape[-1]), np.float32)),
            onset=grid(self.onset), apex=grid(self.apex), offset=np.minimum(grid(last), length - 1), fps=fps)

    def describe(self) -> str:
        """Clips per class, micro and macro, and what the reader skipped or repaired."""
        counts = np.bincount(self.emotion, minlength=len(self.class_names))
        width = max(len(c) for c in self.class_names)
        micro = np.bincount(self.emotion[self.micro], minlength=len(self.class_names))
        lines = [repr(self) + (f" from {self.source}" if self.source else ""),
                 f"  {'class':<{width}}  clips  micro"]
        lines += [f"  {c:<{width}}  {k:>5}  {m:>5}" for c, k, m in zip(self.class_names, counts, micro)]
        if self.notes:
            lines.append(f"  {len(self.notes)} note(s) on irregular rows:")
            lines += [f"    {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        n, t, h, w = self.frames.shape
        fps = np.asarray(self.fps, dtype=float)
        rate = (f"{float(fps.flat[0]):g} fps" if fps.size and fps.min() == fps.max() else
                f"{fps.min():.3g}-{fps.max():.3g} fps" if fps.size else "- fps")
        return (f"SequenceData(name={self.name!r}, n={n}, frames={t} at {rate}, size={h}x{w}, "
                f"micro={int(self.micro.sum())}, subjects={len(np.unique(self.subjects))})")
