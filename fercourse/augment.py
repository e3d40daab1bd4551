"""Augmentation: new views of the training faces, drawn batch by batch.

A flipped, slightly turned, shifted or zoomed face is still a face with the same expression, so
these views cost no labels.  The course does them in NumPy and OpenCV rather than with Keras's
preprocessing layers, for two reasons: the layers, run eagerly batch by batch, take tens of times
longer than one OpenCV warp per face (enough to starve a GPU; the course measured it under JAX),
and they draw from their own random state, which a resumed run cannot replay.  Here every draw
comes from the ``rng`` the caller passes (the input pipeline derives it from the seed, the epoch
and the batch), so a run resumed after a kill sees exactly the faces it would have seen.
"""

from __future__ import annotations

import numpy as np

__all__ = ["augmentation", "RandomAffine", "KINDS"]

KINDS = ("standard", "affine", "light", "flip", "none")


class RandomAffine:
    """Flip, rotate, shift and zoom each face of a batch at random: one OpenCV warp per face.

    Each face gets its own rotation (up to ``rotation`` degrees either way), zoom (a factor
    within ``1 +- zoom``), shift (up to ``shift`` of the side, each axis) and, with ``flip``, a
    mirror with probability 1/2.  The geometric parts are composed into one affine matrix, so a
    face is resampled once; pixels drawn in from outside repeat the border, so no black wedges
    appear that a network could learn.  ``erase`` is the chance that a face also loses a random
    rectangle (a tenth to two fifths of each side) to its mean grey -- random erasing.

    Batches are grey images ``(N, H, W)`` / ``(N, H, W, 1)`` or clips ``(N, T, H, W, 1)``; every
    frame of a clip gets its clip's transform, so motion is kept.
    """

    def __init__(self, rotation=10.0, shift=0.1, zoom=0.1, flip=True, erase=0.0):
        for name, value in (("rotation", rotation), ("shift", shift), ("zoom", zoom)):
            if not value >= 0:
                raise ValueError(f"RandomAffine: {name} must be >= 0; got {value!r}")
        if zoom >= 1:
            raise ValueError(f"RandomAffine: zoom must be below 1 (a factor within 1 +- zoom); got {zoom!r}")
        if not 0 <= erase <= 1:
            raise ValueError(f"RandomAffine: erase is a probability in [0, 1]; got {erase!r}")
        self.rotation, self.shift, self.zoom = float(rotation), float(shift), float(zoom)
        self.flip, self.erase = bool(flip), float(erase)

    def __repr__(self) -> str:
        return (f"RandomAffine(rotation={self.rotation}, shift={self.shift}, zoom={self.zoom}, "
                f"flip={self.flip}, erase={self.erase})")

    @property
    def geometric(self) -> bool:
        return bool(self.rotation or self.shift or self.zoom)

    def __call__(self, batch, rng=None, training=True):
        batch = np.asarray(batch)
        if not training:
            return batch
        rng = np.random.default_rng() if rng is None else rng
        # Grey images (N, H, W) or (N, H, W, 1), grey clips (N, T, H, W, 1): a 4-D batch ending in
        # anything but 1 would be colour images or clips without a channel axis -- ambiguous.
        if not (batch.ndim == 3 or (batch.ndim in (4, 5) and batch.shape[-1] == 1)):
            raise ValueError("RandomAffine takes grey images (N, H, W[, 1]) or clips (N, T, H, W, 1); "
                             f"got shape {batch.shape}")
        squeeze = batch.ndim in (4, 5)
        core = batch[..., 0] if squeeze else batch
        clips = core if core.ndim == 4 else core[:, None]
        out = self._clips(clips, rng)
        out = out if core.ndim == 4 else out[:, 0]
        if np.issubdtype(batch.dtype, np.integer):  # round, not truncate, back to whole grey levels
            info = np.iinfo(batch.dtype)
            out = np.clip(np.rint(out), info.min, info.max)
        out = out.astype(batch.dtype, copy=False)
        return out[..., None] if squeeze else out

    def _clips(self, clips, rng):
        import cv2

        n, t, h, w = clips.shape
        mirror = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        if not self.geometric:
            out = clips.astype(np.float32)
            out[mirror] = out[mirror, :, :, ::-1]
        else:
            angles = rng.uniform(-self.rotation, self.rotation, n)
            scales = rng.uniform(1 - self.zoom, 1 + self.zoom, n)
            shifts = rng.uniform(-self.shift, self.shift, (n, 2)) * (w, h)
            # OpenCV warps float32 and uint8 alike; float64 would be slower for no gain.
            src = clips.astype(np.float32, copy=False)
            out = np.empty((n, t, h, w), np.float32)
            centre = ((w - 1) / 2, (h - 1) / 2)
            for i in range(n):
                m = cv2.getRotationMatrix2D(centre, angles[i], scales[i])
                m[:, 2] += shifts[i]
                for j in range(t):
                    out[i, j] = cv2.warpAffine(src[i, j], m, (w, h), flags=cv2.INTER_LINEAR,
                                               borderMode=cv2.BORDER_REPLICATE)
            out[mirror] = out[mirror, :, :, ::-1]
        # No draw at all without erasing, so runs without it keep their random stream.
        for i in (np.flatnonzero(rng.random(n) < self.erase) if self.erase else ()):
            eh, ew = (rng.uniform(0.1, 0.4, 2) * (h, w)).astype(int) + 1
            top, left = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
            out[i, :, top:top + eh, left:left + ew] = out[i].mean()
        return out


def augmentation(kind="standard"):
    """The augmentation a training run uses, by name; None for none.

    ``"standard"`` (or True, or ``"affine"``): mirror, rotation up to +-10 degrees, shift up to
    10 % and zoom up to 10 % -- faces stay faces.  ``"light"``: mirror and shift.  ``"flip"``: the
    mirror alone, nearly free -- for short runs, where the network still underfits and geometric
    jitter slows learning more than it helps.  ``"none"`` / False / None: no augmentation.
    A :class:`RandomAffine` or any callable ``f(batch, rng) -> batch`` is returned as it is.
    """
    if kind is None or kind is False or kind == "none":
        return None
    if callable(kind) and not isinstance(kind, str):
        return kind
    if kind is True or kind in ("standard", "affine"):
        return RandomAffine()
    if kind == "light":
        return RandomAffine(rotation=0, zoom=0)
    if kind == "flip":
        return RandomAffine(rotation=0, shift=0, zoom=0)
    raise ValueError(f"augment={kind!r} is not known; use one of {', '.join(KINDS)}, True/False, "
                     "or a callable f(batch, rng)")
