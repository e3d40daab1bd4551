"""Checks for chapter 1's exercises: faces, expressions and data.

- :func:`check_lower_face` -- an AU combination using only the lower face that reads as a
  given emotion;
- :func:`check_find_duplicates` -- a function that groups identical images by hashing;
- :func:`check_majority_baseline` -- the accuracy of always answering the commonest class.
"""

from __future__ import annotations

import numpy as np

from .. import facs
from . import Verdict, correct, wrong

LOWER_FACE = ("mouth", "chin", "jaw")
"""Regions of :data:`fercourse.facs.REGIONS` that count as the lower face."""


def check_lower_face(aus, emotion: str) -> Verdict:
    """Is ``aus`` a lower-face-only AU combination whose nearest prototype is ``emotion``?

    ``aus`` is a mapping ``{AU: intensity}`` as :func:`fercourse.facs.au_vector` reads it.
    """
    try:
        vec = facs.au_vector(aus)
    except ValueError as err:
        return wrong(str(err))
    if emotion not in facs.PROTOTYPES:
        return wrong(f"{emotion!r} is not an emotion of the course")
    upper = [f"AU{au}" for au, x in zip(facs.AUS, vec) if x > 0 and facs.AU_TABLE[au].region not in LOWER_FACE]
    if upper:
        return wrong(f"{', '.join(upper)} act on the upper face ({', '.join(sorted({facs.AU_TABLE[int(a[2:])].region for a in upper}))}); "
                     f"use only AUs of the {', '.join(LOWER_FACE)}")
    if not vec.any():
        return wrong("no AU is active: that is a neutral face")
    best, scores = facs.nearest_prototype(vec, return_scores=True)
    if best != emotion:
        return wrong(f"the nearest prototype is {best} (similarity {scores[best]:.2f}); "
                     f"{emotion} scores {scores.get(emotion, float('nan')):.2f}")
    return correct(f"The lower face alone reads as {emotion} (similarity {scores[best]:.2f}). "
                   "How sure would you be of it from the mouth alone, in a real photo?")


def _reference_duplicates(images) -> list[list[int]]:
    import hashlib

    groups: dict[bytes, list[int]] = {}
    for i, img in enumerate(np.asarray(images)):
        groups.setdefault(hashlib.sha1(np.ascontiguousarray(img).tobytes()).digest(), []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


def _duplicate_fixture(seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (40, 48, 48), dtype=np.uint8)
    images[7] = images[3]
    images[21] = images[3]
    images[30] = images[12]
    images[33] = 0
    images[35] = 0          # two blank images are duplicates of each other too
    images[38] = images[37]
    images[38, 0, 0] ^= 1   # one pixel off: not a duplicate
    return images


def check_find_duplicates(find_duplicates) -> Verdict:
    """Test a reader's ``find_duplicates(images) -> list of lists of indices``.

    Each inner list holds the indices of images that are identical pixel for pixel (groups
    of two or more); the order of groups and of indices does not matter.
    """
    images = _duplicate_fixture()
    expected = _reference_duplicates(images)
    try:
        got = find_duplicates(images.copy())
    except Exception as err:  # the reader's code: report whatever it raised
        return wrong(f"find_duplicates raised {type(err).__name__}: {err}")
    try:
        got = sorted(sorted(int(i) for i in g) for g in got)
    except TypeError:
        return wrong(f"find_duplicates must return a list of lists of indices; got {type(got).__name__}")
    if any(len(g) < 2 for g in got):
        return wrong("every group must hold at least two images; leave out images that have no twin")
    if got != expected:
        missing = [g for g in expected if g not in got]
        extra = [g for g in got if g not in expected]
        return wrong(f"on a test set with known duplicates, expected groups {expected}; "
                     f"missing {missing}, unexpected {extra}")
    return correct(f"Found all {len(expected)} groups of identical images in a test set "
                   "(including a near-twin that differs in one pixel, which is not a duplicate).")


def majority_baseline(data) -> float:
    """Accuracy on PrivateTest of always answering Training's commonest class."""
    train = data.labels[data.splits == "Training"]
    test = data.labels[data.splits == "PrivateTest"]
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"{data.name} needs Training and PrivateTest images for a majority baseline")
    return float(np.mean(test == np.bincount(train).argmax()))


def check_majority_baseline(data, answer: float) -> Verdict:
    """Is ``answer`` the PrivateTest accuracy of always predicting Training's commonest class?"""
    truth = majority_baseline(data)
    try:
        answer = float(answer)
    except (TypeError, ValueError):
        return wrong(f"answer must be a number (a fraction such as 0.25); got {answer!r}")
    if answer > 1.0 + 1e-9 and abs(answer / 100 - truth) < 1e-3:
        return wrong("give the accuracy as a fraction in 0..1, not a percentage")
    if abs(answer - truth) > 1e-3:
        return wrong(f"{answer:.4f} is not it. Count the Training labels, take the commonest class, "
                     "and score that one answer on every PrivateTest image.")
    cls = data.class_names[int(np.bincount(data.labels[data.splits == 'Training']).argmax())]
    return correct(f"Always answering '{cls}' scores {truth:.1%} on {data.name}'s PrivateTest: "
                   "the floor any classifier must clear.")
