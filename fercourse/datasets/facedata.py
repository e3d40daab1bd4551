"""`FaceData`: what every dataset loader returns.

Plain NumPy arrays plus a small record of what was loaded.  No framework types, so the
same object feeds scikit-learn, Keras on any backend, or a plot.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..labels import SPLITS


@dataclass
class FaceData:
    """Face images with their labels and splits.

    Attributes
    ----------
    images : (N, H, W) uint8 array, grayscale.
    labels : (N,) int64 array indexing ``class_names``.
    splits : (N,) str array, one of ``Training``, ``PublicTest``, ``PrivateTest``
        (an empty string where a dataset has no official split, as CK+).
    class_names : the classes in label order.
    name : short dataset name (``fer2013``, ``synthetic``, ``ck+``...).
    source : where it came from (a path, or how it was made).
    subjects : (N,) int or str array of subject ids, or None when unknown.
    extras : further per-image arrays (``aus``, ``valence``, ``arousal``...), each of length N.
    """

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    class_names: tuple[str, ...]
    name: str
    source: str
    subjects: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.images)
        if self.images.ndim != 3 or self.images.dtype != np.uint8:
            raise ValueError(
                f"{self.name}: images must be an (N, H, W) uint8 array; "
                f"got shape {self.images.shape} and dtype {self.images.dtype}"
            )
        arrays = {"labels": self.labels, "splits": self.splits, **self.extras}
        if self.subjects is not None:
            arrays["subjects"] = self.subjects
        for key, arr in arrays.items():
            if len(arr) != n:
                raise ValueError(f"{self.name}: {key} has {len(arr)} entries for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:3])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Images and labels of one split: ``x, y = data.split("Training")``."""
        mask = self.mask(name)
        return self.images[mask], self.labels[mask]

    def mask(self, name: str) -> np.ndarray:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; valid splits: {', '.join(SPLITS)}")
        return self.splits == name

    def replace(self, **changes) -> "FaceData":
        """A copy with some fields changed, checked like a new one: ``data.replace(labels=y)``.

        Arrays not named are shared with ``self``, not copied.
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(f"FaceData has no field(s) {', '.join(unknown)}; its fields are "
                            f"{', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)

    def downscale(self, size: int) -> "FaceData":
        """The same faces at ``size`` x ``size``: each block of pixels averaged, rounded to uint8.

        The side must divide by ``size`` (48 -> 24, 16, 12, ...): an integer factor keeps every
        pixel's share equal, where an interpolating resize would blur unevenly.
        """
        h, w = self.image_shape
        if int(size) != size or size < 1 or h % size or w % size:
            raise ValueError(f"downscale: size must be a whole divisor of the image side ({h}x{w}); got {size!r}")
        if size == h == w:
            return self
        fy, fx = h // size, w // size
        blocks = self.images.reshape(len(self), size, fy, size, fx)
        return self.replace(images=blocks.mean(axis=(2, 4)).round().astype(np.uint8))

    def select(self, mask_or_index) -> "FaceData":
        """A new FaceData holding the chosen images (a boolean mask or an index array)."""
        idx = np.asarray(mask_or_index)
        return self.replace(
            images=self.images[idx],
            labels=self.labels[idx],
            splits=self.splits[idx],
            subjects=None if self.subjects is None else self.subjects[idx],
            extras={k: v[idx] for k, v in self.extras.items()},
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class: ``{"Training": {"angry": 3995, ...}, ...}``."""
        out = {}
        for split in [s for s in SPLITS if np.any(self.splits == s)] or [""]:
            labels = self.labels[self.splits == split]
            bins = np.bincount(labels, minlength=len(self.class_names))
            out[split or "all"] = {c: int(k) for c, k in zip(self.class_names, bins)}
        return out

    def describe(self) -> str:
        """A short text table: counts per split and class."""
        counts = self.counts()
        width = max(len(c) for c in self.class_names)
        head = f"{self.name}: {len(self)} images of {self.image_shape[0]}x{self.image_shape[1]} from {self.source}"
        lines = [head, " " * (width + 2) + "".join(f"{s:>13}" for s in counts)]
        for c in self.class_names:
            lines.append(f"  {c:<{width}}" + "".join(f"{counts[s][c]:>13,}" for s in counts))
        lines.append(f"  {'total':<{width}}" + "".join(f"{sum(counts[s].values()):>13,}" for s in counts))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"FaceData(name={self.name!r}, n={len(self)}, shape={self.image_shape}, "
            f"classes={len(self.class_names)}, extras={sorted(self.extras)})"
        )
