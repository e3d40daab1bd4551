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

__all__ = ["ArrayBatches", "as_images", "lengths", "for_fit"]


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
    until_epoch : None, or the run's last epoch (exclusive): then one pass holds every epoch from
        the current one up to it -- index ``i`` is batch ``i % len(self)`` of epoch
        ``epoch + i // len(self)``, and :attr:`num_batches` counts them all.  For ``model.fit(...,
        steps_per_epoch=len(batches))``, which then reads one iterator through the whole run
        instead of starting one per epoch (50-70 ms each with TensorFlow on a 2-core CPU: more than
        a small head's whole epoch takes).
    """

    def __init__(self, x, y=None, batch_size=128, *, sample_weight=None, shuffle=True, augment=None,
                 seed=0, start_epoch=0, until_epoch=None):
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
        self.until_epoch = None if until_epoch is None else int(until_epoch)
        self._last_order = (None, None)  # (epoch, its order): a pass reads one epoch after another
        self.set_epoch(start_epoch)

    def set_epoch(self, epoch: int) -> None:
        """Start at ``epoch``: its order and draws (a stream's index 0 becomes its first batch)."""
        self.epoch = int(epoch)

    def _order(self, epoch):
        """The order of the faces in ``epoch``, a function of the seed and the epoch."""
        if not self.shuffle:
            return np.arange(self.n)
        last_epoch, order = self._last_order
        if last_epoch != epoch:
            order = np.random.default_rng(self.seed + epoch).permutation(self.n)
            self._last_order = (epoch, order)
        return order

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def stream(self) -> bool:
        """Whether one pass holds every epoch up to ``until_epoch``."""
        return self.until_epoch is not None

    @property
    def num_batches(self):
        return len(self) * max(self.until_epoch - self.epoch, 0) if self.stream else len(self)

    def __getitem__(self, i):
        epoch, i = (self.epoch + i // len(self), i % len(self)) if self.stream else (self.epoch, i)
        idx = np.sort(self._order(epoch)[i * self.batch_size:(i + 1) * self.batch_size])
        rng = np.random.default_rng([self.seed, epoch, i])
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
        if not self.stream:  # a stream's index says the epoch itself
            self.set_epoch(self.epoch + 1)


def for_fit(batches):
    """An :class:`ArrayBatches` as ``model.fit`` should read it: itself, or a tf.data pipeline under TensorFlow.

    Keras reads a PyDataset through a tf.data pipeline with its autotuner on, and on a 2-core CPU
    tearing such a pipeline down stalls now and then for 4-15 s (measured: at the end of a run, or
    of every epoch where an iterator is made per epoch) -- more than many of the course's networks
    take to train.  The pipeline made here reads the same batches, in order, one batch ahead, with
    the autotuner off.  Other backends read the PyDataset as it is.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return batches
    import tensorflow as tf

    n = batches.num_batches
    spec = tf.nest.map_structure(
        lambda a: tf.TensorSpec((None, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype)), batches[0])
    dataset = tf.data.Dataset.from_generator(lambda: (batches[i] for i in range(n)), output_signature=spec)
    # Its length told, so that Keras does not learn it by running out (and warning each time).
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n))
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(1).with_options(options)
