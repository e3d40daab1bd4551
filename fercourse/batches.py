"""The input pipeline: shuffled, augmented batches from NumPy arrays, for ``model.fit``.

Images stay ``uint8`` in memory (35,887 FER2013 faces are 83 MB so, 330 MB as float32) and
become ``float32`` batch by batch.  Inputs and targets may be single arrays or dicts of arrays
(several inputs: pixels and HOG; several outputs: expression, AUs, valence/arousal), with
per-output sample weights, where weight 0 marks a missing label.

Everything random is a function of ``(seed, epoch, batch)``: the order of an epoch comes from
``seed + epoch``, the augmentation of a batch from ``(seed, epoch, batch)``.  So a run resumed at
epoch k draws exactly what the uninterrupted run drew -- the reason this is a
:class:`keras.utils.PyDataset` of the course's own and not ``model.fit(x, y, shuffle=True)``,
whose order comes from Python's global random state.
"""

from __future__ import annotations

import math

import keras
import numpy as np

__all__ = ["ArrayBatches", "as_images", "lengths"]


def as_images(x, name="x"):
    """Images ``(N, H, W)`` as ``(N, H, W, 1)``; anything else of 4 or 5 dimensions as it is."""
    x = np.asarray(x)
    if x.ndim == 3:
        return x[..., None]
    if x.ndim not in (2, 4, 5):
        raise ValueError(f"{name} must be images (N, H, W[, C]), clips (N, T, H, W[, C]) or "
                         f"vectors (N, D); got shape {x.shape}")
    return x


def _is_image(a) -> bool:
    """Images or clips of whole grey levels: what augmentation applies to (not HOG vectors)."""
    return a.ndim in (4, 5) and a.shape[-1] == 1


def lengths(tree, name) -> int:
    """The one number of samples every array of ``tree`` (an array or a dict) has."""
    items = tree.items() if isinstance(tree, dict) else [(None, tree)]
    sizes = {f"{name}[{k!r}]" if k is not None else name: len(v) for k, v in items if v is not None}
    if len(set(sizes.values())) > 1:
        raise ValueError("arrays of different lengths: " + ", ".join(f"{k} has {n}" for k, n in sizes.items()))
    return next(iter(sizes.values()), 0)


def _take(tree, idx):
    if tree is None:
        return None
    if isinstance(tree, dict):
        return {k: v[idx] for k, v in tree.items()}
    return tree[idx]


class ArrayBatches(keras.utils.PyDataset):
    """Batches of ``x`` (and ``y``, ``sample_weight``) for ``model.fit`` / ``predict``.

    Parameters
    ----------
    x : an array, or a dict ``{input name: array}``; images ``(N, H, W)`` get a channel axis.
    y : targets, an array or a dict ``{output name: array}``; None for prediction.
    sample_weight : None, an ``(N,)`` array, or a dict ``{output name: (N,) array}``.
    augment : None or a callable ``f(batch, rng)`` (see :mod:`fercourse.augment`), applied to
        every image or clip input.
    seed, start_epoch : the random draws are functions of ``(seed, epoch, batch index)``.
    """

    def __init__(self, x, y=None, batch_size=128, *, sample_weight=None, shuffle=True, augment=None,
                 seed=0, start_epoch=0):
        super().__init__(workers=1, use_multiprocessing=False)
        self.x = ({k: as_images(v, f"x[{k!r}]") for k, v in x.items()} if isinstance(x, dict)
                  else as_images(x))
        self.y, self.sample_weight = y, sample_weight
        sizes = {"x": lengths(self.x, "x")}
        if y is not None:
            sizes["y"] = lengths(y, "y")
        if sample_weight is not None:
            sizes["sample_weight"] = lengths(sample_weight, "sample_weight")
        if len(set(sizes.values())) > 1:
            raise ValueError("x, y and sample_weight must hold as many samples each; got "
                             + ", ".join(f"{k}: {n}" for k, n in sizes.items()))
        self.n = sizes["x"]
        if self.n == 0:
            raise ValueError("no samples to make batches of")
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be positive; got {batch_size}")
        self.shuffle, self.augment, self.seed = shuffle, augment, int(seed)
        self.set_epoch(start_epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.order = (np.random.default_rng(self.seed + self.epoch).permutation(self.n)
                      if self.shuffle else np.arange(self.n))

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, i):
        idx = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])
        rng = np.random.default_rng([self.seed, self.epoch, i])
        x = self._inputs(_take(self.x, idx), rng)
        if self.y is None:
            return (x,)
        y = _take(self.y, idx)
        if self.sample_weight is None:
            return x, y
        return x, y, _take(self.sample_weight, idx)

    def _inputs(self, x, rng):
        def one(a):
            if self.augment is not None and _is_image(a):
                a = self.augment(a, rng)
            return a.astype("float32", copy=False)

        return {k: one(v) for k, v in x.items()} if isinstance(x, dict) else one(x)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)
