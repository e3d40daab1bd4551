"""Partial labels as data: targets and masks for a multi-task network, and datasets mixed.

No dataset labels everything FaceBehaviorNet predicts :cite:`kollias2021facebehaviornet`:
FER2013 has expressions only, CK+ expressions and AUs, others valence and arousal.  A network
trained on them together needs, for each face and each task, the label *and* whether it is
known.  Here that is data, in the form :func:`fercourse.train.fit` takes:

- ``x``: the images;
- ``y``: ``{"expression": (N,) int, "aus": (N, 17) 0/1, "va": (N, 2) in -1..1}``;
- ``w``: ``{task: (N,) float32}``, 1 where the label is known and 0 where it is missing (the
  value in ``y`` is then a placeholder, 0, which the loss never reads).

:func:`multitask_arrays` makes them from a :class:`~fercourse.datasets.FaceData`;
:func:`hide_labels` hides known labels at chosen rates (to *measure* what scarce labels do, on
faces whose labels are all known); :func:`mix` draws from several datasets in chosen
proportions into one set of arrays, whose shuffled batches then mix them in those proportions.
"""

from __future__ import annotations

import numpy as np

from . import config
from .labels import EMOTIONS
from .multitask import AUS, TASKS, au_presence

__all__ = ["multitask_arrays", "hide_labels", "mix", "label_counts"]


def _as_float_mask(valid, n):
    return np.asarray(valid, dtype=bool).reshape(n).astype(np.float32)


def multitask_arrays(data, split: str | None = None):
    """``(x, y, w)`` for a multi-task network from a FaceData: the labels it has, masked where absent.

    - expression: the data's labels mapped by class *name* onto :data:`fercourse.labels.EMOTIONS`;
      a class outside those seven (CK+'s contempt) or a negative label is missing;
    - aus: present when ``data.extras["aus"]`` exists (:func:`fercourse.multitask.au_presence`);
      a face whose AU row holds NaN is missing;
    - va: present when ``extras`` holds ``valence`` and ``arousal``; NaN is missing.

    ``split``: one split's faces (``"Training"``...), or all of them (None).
    """
    if split is not None:
        data = data.select(data.mask(split))
    n = len(data)
    lookup = np.array([EMOTIONS.index(c) if c in EMOTIONS else -1 for c in data.class_names])
    raw = np.asarray(data.labels)
    ok = (raw >= 0) & (raw < len(lookup))
    expression = np.where(ok, lookup[np.clip(raw, 0, len(lookup) - 1)], -1)
    y = {"expression": np.maximum(expression, 0).astype(np.int64),
         "aus": np.zeros((n, len(AUS)), np.float32), "va": np.zeros((n, 2), np.float32)}
    w = {"expression": _as_float_mask(expression >= 0, n), "aus": np.zeros(n, np.float32),
         "va": np.zeros(n, np.float32)}
    extras = data.extras or {}
    if "aus" in extras:
        a = np.asarray(extras["aus"], dtype=np.float32)
        known = ~np.isnan(a).any(axis=1)
        y["aus"] = au_presence(np.nan_to_num(a)) * known[:, None]
        w["aus"] = _as_float_mask(known, n)
    if "valence" in extras and "arousal" in extras:
        va = np.stack([np.asarray(extras["valence"], np.float32), np.asarray(extras["arousal"], np.float32)], 1)
        known = ~np.isnan(va).any(axis=1)
        y["va"] = np.nan_to_num(va) * known[:, None]
        w["va"] = _as_float_mask(known, n)
    return data.images, y, w


def hide_labels(weights: dict, known: dict, *, seed: int | None = None) -> dict:
    """Hide labels so that only a fraction of faces keeps each task's: new masks, the old untouched.

    ``known`` maps a task to the fraction of its labelled faces that stay labelled, e.g.
    ``{"aus": 0.1, "va": 0.3}`` (AUs known for 10 % of the faces that had them, valence/arousal for
    30 %); tasks not named keep their masks.  Exactly ``round(fraction * labelled)`` faces keep
    their label, drawn at random with ``seed`` (default :func:`fercourse.config.seed`), each task
    independently of the others.
    """
    unknown = set(known) - set(weights)
    if unknown:
        raise ValueError(f"hide_labels: no mask for {sorted(unknown)}; the masks are for {sorted(weights)}")
    rng = np.random.default_rng(config.seed() if seed is None else int(seed))
    out = {task: np.asarray(m, dtype=np.float32).copy() for task, m in weights.items()}
    for task in [t for t in TASKS if t in known] + sorted(set(known) - set(TASKS)):
        rate = known[task]
        if not (isinstance(rate, (int, float, np.floating)) and 0 <= rate <= 1):
            raise ValueError(f"hide_labels: the fraction kept for {task!r} must lie in 0..1; got {rate!r}")
        labelled = np.flatnonzero(out[task] > 0)
        keep = rng.permutation(labelled)[: int(round(rate * len(labelled)))]
        hidden = np.setdiff1d(labelled, keep)
        out[task][hidden] = 0.0
    return out


def mix(parts: dict, proportions: dict, n: int | None = None, *, seed: int | None = None):
    """Draw faces from several datasets in chosen proportions into one ``(x, y, w, source)``.

    Parameters
    ----------
    parts : ``{name: (x, y, w)}`` as :func:`multitask_arrays` returns them; every part must have
        the same image shape and the same tasks.
    proportions : ``{name: share}`` (normalised to sum to 1), e.g. ``{"synthetic": 0.5, "fer2013": 0.5}``.
    n : faces in all; default the most the parts allow without drawing any face twice.
    seed : the draw and the shuffle (default :func:`fercourse.config.seed`).

    Returns ``x``, ``y``, ``w`` (dicts of arrays) and ``source`` (N,), the name of the dataset
    each face came from (to score each task on each dataset).  The faces are shuffled, so the
    batches :func:`fercourse.train.fit` cuts from them mix the datasets in the chosen proportions.
    """
    if set(proportions) - set(parts):
        raise ValueError(f"mix: proportions name {sorted(set(proportions) - set(parts))}, which are not among "
                         f"the parts {sorted(parts)}")
    shares = {k: float(v) for k, v in proportions.items() if float(v) > 0}
    if not shares or any(v < 0 for v in proportions.values()):
        raise ValueError(f"mix: proportions must be >= 0 with at least one > 0; got {proportions!r}")
    total = sum(shares.values())
    shares = {k: v / total for k, v in shares.items()}
    sizes = {k: len(parts[k][0]) for k in shares}
    shapes = {k: np.asarray(parts[k][0]).shape[1:] for k in shares}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"mix: the parts' images differ in shape: {shapes}")
    tasks = {k: (tuple(sorted(parts[k][1])), tuple(sorted(parts[k][2]))) for k in shares}
    if len(set(tasks.values())) > 1:
        raise ValueError(f"mix: the parts have different tasks in y or w: {tasks}")
    most = int(min(sizes[k] / shares[k] for k in shares))
    n = most if n is None else int(n)
    counts = {k: int(round(n * s)) for k, s in shares.items()}
    for k, c in counts.items():
        if c > sizes[k]:
            raise ValueError(f"mix: {k} has {sizes[k]} faces but its share of {n} is {c}; lower n "
                             f"(at most {most} for these proportions) or its share")
    rng = np.random.default_rng(config.seed() if seed is None else int(seed))
    picks = {k: rng.choice(sizes[k], c, replace=False) for k, c in counts.items()}
    order = rng.permutation(sum(counts.values()))
    x = np.concatenate([np.asarray(parts[k][0])[i] for k, i in picks.items()])[order]
    first = next(iter(shares))
    y = {t: np.concatenate([np.asarray(parts[k][1][t])[i] for k, i in picks.items()])[order] for t in parts[first][1]}
    w = {t: np.concatenate([np.asarray(parts[k][2][t], np.float32)[i] for k, i in picks.items()])[order]
         for t in parts[first][2]}
    source = np.concatenate([np.full(len(i), k) for k, i in picks.items()])[order]
    return x, y, w, source


def label_counts(w: dict, source=None):
    """How many faces carry each task's label (per dataset when ``source`` is given): a DataFrame."""
    import pandas as pd

    frame = pd.DataFrame({t: np.asarray(m) > 0 for t, m in w.items()})
    if source is None:
        return frame.sum().to_frame("labelled").T
    frame["dataset"] = np.asarray(source)
    return frame.groupby("dataset").sum()
