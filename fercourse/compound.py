"""Compound expressions: synthetic faces of them, and recognising them zero- and few-shot.

Du, Tao & Martinez :cite:`du2014compound` found that people show *compound* emotions --
happily surprised, angrily disgusted... -- with faces of their own, each a consistent set of
action units (:data:`fercourse.facs.COMPOUNDS`).  FaceBehaviorNet :cite:`kollias2021facebehaviornet`
recognises them without having seen one:

- **zero-shot** (:func:`zero_shot_scores`): from the network's AU probabilities, the compound
  whose AU set is most probable, and from its expression probabilities, the compound whose two
  component emotions are; the table alone says what to look for;
- **few-shot** (:func:`few_shot`): a linear classifier (scikit-learn's logistic regression,
  :func:`fercourse.transfer.linear_probe`) on the network's frozen features, from 1, 5 or 10
  faces of each compound.

:func:`make_compound_faces` draws compound faces with the course's renderer, as
:func:`fercourse.datasets.make_faces` draws the basic ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import config, facs, render
from .datasets.facedata import FaceData
from .labels import EMOTIONS
from .multitask import AUS

__all__ = ["COMPOUND_APEX", "compound_names", "compound_templates", "sample_compound_aus",
           "make_compound_faces", "zero_shot_scores", "zero_shot_accuracy", "few_shot"]

COMPOUND_APEX = facs.FACS_GRADES["D"]
"""Apex intensity of a compound's AUs on a synthetic face (FACS grade D, "severe"), before the
face's own intensity scales it.  Du et al. photographed posed, fully recognisable expressions;
the value is this course's choice."""

_EXPRESSIVE = np.isin(facs.AUS, AUS)
"""The AUs a compound face may show (the AU head's 17: no eye closure or blink), over facs.AUS."""


def compound_names(compounds=None) -> tuple[str, ...]:
    """The compound categories (default: all of :data:`fercourse.facs.COMPOUNDS`), checked."""
    names = tuple(facs.COMPOUNDS) if compounds is None else tuple(compounds)
    unknown = [c for c in names if c not in facs.COMPOUNDS]
    if unknown or not names:
        raise ValueError(f"unknown compound(s) {unknown}; valid: {', '.join(facs.COMPOUNDS)}")
    return names


def compound_templates(compounds=None, aus=None) -> np.ndarray:
    """(K, A) 0/1 matrix: 1 where compound k shows AU a (columns: ``aus``, default the 17 of
    :data:`fercourse.multitask.AUS`)."""
    aus = AUS if aus is None else tuple(aus)
    names = compound_names(compounds)
    return np.array([[1.0 if au in facs.COMPOUNDS[c]["aus"] else 0.0 for au in aus] for c in names], np.float32)


def sample_compound_aus(compound: str, intensity: float, rng) -> np.ndarray:
    """AU intensities of one face showing ``compound``: a (len(facs.AUS),) vector.

    The rules of the basic synthetic faces (:func:`fercourse.datasets.synthetic.sample_aus`),
    with the compound's AU set in place of an emotion's: each of its AUs is present with
    :data:`fercourse.facs.PROTOTYPE_KEEP_RATE` at ``intensity * COMPOUND_APEX`` (jittered by
    +-25 %), and any other AU, weakly, with :data:`fercourse.facs.AU_BACKGROUND_RATE`.
    """
    (name,) = compound_names([compound])
    if not 0 <= intensity <= 1:
        raise ValueError(f"intensity must lie in 0..1; got {intensity!r}")
    tied = np.array([au in facs.COMPOUNDS[name]["aus"] for au in facs.AUS])
    u = rng.random((3, len(facs.AUS)))
    present = (u[0] < np.where(tied, facs.PROTOTYPE_KEEP_RATE, facs.AU_BACKGROUND_RATE)) & _EXPRESSIVE
    level = np.where(tied, intensity * COMPOUND_APEX * (0.75 + 0.5 * u[1]), 0.1 + 0.35 * u[2])
    return np.clip(present * level, 0, 1).astype(np.float32)


def make_compound_faces(n_per_class: int = 30, *, compounds=None, seed: int | None = None, size: int = 48,
                        intensity=(0.5, 1.0)) -> FaceData:
    """Synthetic faces of compound expressions, ``n_per_class`` of each, every face a new person.

    Returns a :class:`~fercourse.datasets.FaceData` named ``compound`` whose classes are the
    compounds, with no splits (``""``) and ``extras["aus"]`` (N, len(facs.AUS)) as
    :func:`fercourse.datasets.make_faces` gives.
    """
    names = compound_names(compounds)
    if int(n_per_class) != n_per_class or n_per_class < 1:
        raise ValueError(f"n_per_class must be a whole number >= 1; got {n_per_class!r}")
    lo, hi = intensity
    if not 0 <= lo <= hi <= 1:
        raise ValueError(f"intensity must be a range (low, high) with 0 <= low <= high <= 1; got {intensity!r}")
    seed = config.seed() if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(len(names)), int(n_per_class)))
    images = np.empty((len(labels), size, size), np.uint8)
    aus = np.empty((len(labels), len(facs.AUS)), np.float32)
    for i, k in enumerate(labels):
        aus[i] = sample_compound_aus(names[k], lo + (hi - lo) * rng.random(), rng)
        images[i] = render.render_face(aus[i], render.Identity.random(rng), render.Pose.random(rng),
                                       render.Lighting.random(rng), size, rng)
    return FaceData(images=images, labels=labels.astype(np.int64), splits=np.full(len(labels), ""),
                    class_names=names, name="compound", subjects=np.arange(len(labels)),
                    source=f"fercourse.compound.make_compound_faces(n_per_class={n_per_class}, seed={seed})",
                    extras={"aus": aus})


def zero_shot_scores(p_aus=None, p_expression=None, *, compounds=None, floor: float = 0.02) -> np.ndarray:
    """Log-scores ``(N, K)`` of each compound for each face, from the network's outputs alone.

    - from ``p_aus`` (N, 17), the AU head's probabilities: the log-probability that the face shows
      exactly the compound's AU set, each AU independent (present where the set has it, absent
      elsewhere), with probabilities clipped into ``[floor, 1 - floor]``;
    - from ``p_expression`` (N, 7): ``log p(e1) + log p(e2)`` of the compound's two emotions.

    Given both, the scores add (independent evidence).  ``argmax`` over the columns is the
    zero-shot prediction; no compound face was needed to make it.
    """
    names = compound_names(compounds)
    if p_aus is None and p_expression is None:
        raise ValueError("give the AU probabilities (p_aus), the expression probabilities (p_expression), or both")
    score = 0.0
    if p_aus is not None:
        p = np.asarray(p_aus, dtype=np.float64)
        t = compound_templates(names).astype(np.float64)
        if p.ndim != 2 or p.shape[1] != t.shape[1]:
            raise ValueError(f"p_aus must be (N, {t.shape[1]}) AU probabilities; got shape {p.shape}")
        p = np.clip(p, floor, 1 - floor)
        score = score + np.log(p) @ t.T + np.log(1 - p) @ (1 - t).T
    if p_expression is not None:
        q = np.asarray(p_expression, dtype=np.float64)
        if q.ndim != 2 or q.shape[1] != len(EMOTIONS):
            raise ValueError(f"p_expression must be (N, {len(EMOTIONS)}) probabilities; got shape {q.shape}")
        logq = np.log(np.clip(q, 1e-6, 1))
        pairs = np.array([[EMOTIONS.index(e) for e in facs.COMPOUNDS[c]["emotions"]] for c in names])
        expr = logq[:, pairs[:, 0]] + logq[:, pairs[:, 1]]
        if np.ndim(score) and len(score) != len(expr):
            raise ValueError(f"p_aus has {len(score)} rows but p_expression has {len(expr)}")
        score = score + expr
    return np.asarray(score)


def zero_shot_accuracy(labels, p_aus=None, p_expression=None, *, compounds=None) -> float:
    """Fraction of faces whose compound :func:`zero_shot_scores` ranks first."""
    scores = zero_shot_scores(p_aus, p_expression, compounds=compounds)
    labels = np.asarray(labels)
    if labels.shape != (len(scores),):
        raise ValueError(f"labels must be one per face ({len(scores)}); got shape {labels.shape}")
    return float(np.mean(scores.argmax(axis=1) == labels))


def few_shot(features, labels, shots=(1, 5, 10), *, draws: int = 10, seed: int | None = None) -> pd.DataFrame:
    """Few-shot accuracy of a linear probe on frozen features: ``shots`` faces per class, ``draws`` times.

    For each number of shots and each draw, ``shots`` faces of every class are drawn at random as
    the training faces of :func:`fercourse.transfer.linear_probe`, and the probe is scored on all
    the other faces.  Returns one row per (shots, draw): ``shots``, ``draw``, ``accuracy``,
    ``chance`` (one over the number of classes).
    """
    from .transfer import linear_probe, per_class_sample

    f = np.asarray(features, dtype=np.float32)
    y = np.asarray(labels)
    if f.ndim != 2 or y.shape != (len(f),):
        raise ValueError(f"features must be (N, D) with one label per row; got {f.shape} and {y.shape}")
    classes = np.unique(y)
    fewest = min(np.sum(y == c) for c in classes)
    seed = config.seed() if seed is None else int(seed)
    rows = []
    for k in shots:
        if int(k) != k or k < 1 or k >= fewest:
            raise ValueError(f"shots must be whole numbers from 1 to {fewest - 1} (the smallest class has "
                             f"{fewest} faces, and one must be left to test on); got {k!r}")
        for d in range(int(draws)):
            train = per_class_sample(y, int(k), seed=seed + 1000 * int(k) + d)
            test = np.setdiff1d(np.arange(len(y)), train)
            probe = linear_probe(f[train], y[train])
            rows.append({"shots": int(k), "draw": d, "accuracy": float(np.mean(probe.predict(f[test]) == y[test])),
                         "chance": 1.0 / len(classes)})
    return pd.DataFrame(rows)
