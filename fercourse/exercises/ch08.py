"""Checks for chapter 8's exercises (one network for expressions, AUs and affect)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_ccc", "DM_EXERCISE", "check_dm_target", "check_masked_au_loss"]


def _cases(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, 50)
    return [("a perfect prediction", x, x.copy()),
            ("a prediction shifted by 0.3", x, x + 0.3),
            ("a prediction at half the scale", x, 0.5 * x),
            ("a noisy prediction", x, 0.7 * x + rng.normal(0, 0.3, 50) - 0.1),
            ("a prediction of the opposite sign", x, -x)]


def check_ccc(ccc) -> Verdict:
    """Exercise: write ``ccc(x, y)``, Lin's concordance correlation coefficient, in NumPy."""
    from ..multitask import ccc as reference

    for what, x, y in _cases():
        try:
            got = float(ccc(x, y))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} (on {what})")
        want = reference(x, y)
        if np.isclose(got, want, atol=1e-6):
            continue
        if np.isclose(got, np.corrcoef(x, y)[0, 1], atol=1e-6):
            return wrong(f"on {what} you return Pearson's correlation ({got:.3f}); CCC is lower when the "
                         f"prediction is shifted or rescaled ({want:.3f}): add (mean x - mean y)^2 to the "
                         "denominator and use the variances, not their product.")
        n = len(x)
        sample = 2 * np.cov(x, y)[0, 1] / (x.var(ddof=1) + y.var(ddof=1) + (x.mean() - y.mean()) ** 2)
        if np.isclose(got, sample, atol=1e-6) and n > 1:
            return wrong(f"on {what}: close -- you divide the moments by n - 1; Lin's CCC uses the "
                         "population moments (divide by n), as numpy's var does by default.")
        return wrong(f"on {what} you return {got:.4f}; expected {want:.4f}.  "
                     "CCC = 2 cov(x, y) / (var x + var y + (mean x - mean y)^2).")
    return correct("1 for a perfect prediction, lower for a shift or a change of scale that "
                   "Pearson's correlation would forgive (it gives 1 to both).")


DM_EXERCISE = {"happy": 0.6, "surprise": 0.3, "neutral": 0.1}
"""The expression distribution of the distribution-matching exercise."""


def check_dm_target(answer, p_expression=None) -> Verdict:
    """Exercise: q(AU|x) for an expression distribution, with Du et al.'s table.

    ``answer``: a dict ``{AU: q}`` (AUs not named count as 0) or a vector of the 17 AUs in the
    order of :data:`fercourse.multitask.AUS`.  ``p_expression``: ``{emotion: probability}``
    (default :data:`DM_EXERCISE`).
    """
    from ..labels import EMOTIONS
    from ..multitask import AUS, expected_aus, relation_matrix

    p_expression = DM_EXERCISE if p_expression is None else p_expression
    p = np.zeros((1, len(EMOTIONS)), np.float32)
    for emotion, value in p_expression.items():
        p[0, EMOTIONS.index(emotion)] = value
    want = expected_aus(p, relation_matrix("du2014"))[0]
    try:
        if isinstance(answer, dict):
            got = np.zeros(len(AUS))
            for au, value in answer.items():
                number = int(str(au).upper().removeprefix("AU"))
                if number not in AUS:
                    return wrong(f"AU{number} is not one of the 17 AUs of the AU head: {', '.join(map(str, AUS))}")
                got[AUS.index(number)] = float(value)
        else:
            got = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        return wrong(f"give a dict {{AU: q}} or a vector of 17 numbers; could not read your answer ({err})")
    if got.shape != want.shape:
        return wrong(f"give one value per AU (17, in the order of multitask.AUS); got {got.size}")
    if np.allclose(got, want, atol=5e-3):
        top = sorted(((want[i], AUS[i]) for i in range(len(AUS)) if want[i] > 0), reverse=True)
        listed = ", ".join(f"AU{a} {v:.3f}" for v, a in top)
        return correct(f"q = {listed}; every other AU 0.  Neutral adds nothing: its row of the table is empty.")
    binary = expected_aus(p, relation_matrix("du2014", binary=True))[0]
    if np.allclose(got, binary, atol=5e-3):
        return wrong("you gave every related AU weight 1; keep Du et al.'s fractions for the observational "
                     "AUs (AU6 in happiness shows in 51 % of faces, AU5 in surprise in 66 %).")
    wrong_aus = [f"AU{AUS[i]} (yours {got[i]:.3f})" for i in range(len(AUS)) if not np.isclose(got[i], want[i], atol=5e-3)]
    return wrong("not yet for " + ", ".join(wrong_aus[:5]) + ".  q(AU) = sum over emotions of p(emotion) * w(AU | "
                 "emotion), w from facs.RELATIONS: 1 for a prototypical AU, the fraction for an observational one.")


def check_masked_au_loss(masked_au_loss) -> Verdict:
    """Exercise: ``masked_au_loss(y, p, w)`` in NumPy: binary cross-entropy averaged over the AUs,
    then a mean over the faces whose weight is not 0 (0 when there are none)."""
    import keras

    from ..multitask import au_loss

    rng = np.random.default_rng(5)
    cases = []
    for n, rate in [(8, 0.5), (20, 0.1), (5, 1.0), (6, 0.0)]:
        y = (rng.random((n, 17)) < 0.3).astype(np.float32)
        p = rng.uniform(0.05, 0.95, (n, 17)).astype(np.float32)
        w = (rng.random(n) < rate).astype(np.float32)
        if rate == 1.0:
            w[:] = 1
        cases.append((y, p, w))
    for y, p, w in cases:
        try:
            got = float(masked_au_loss(y.copy(), p.copy(), w.copy()))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} ({len(y)} faces, {int(w.sum())} labelled)")
        want = float(keras.ops.convert_to_numpy(au_loss(y, p, w)))
        if np.isclose(got, want, rtol=1e-3, atol=1e-5):
            continue
        if w.sum() == 0:
            return wrong(f"with no labelled face the loss must be 0 (nothing to learn from); you return {got:.4f}")
        per_face = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
        if np.isclose(got, float(np.sum(w * per_face) / len(w)), rtol=1e-3):
            return wrong("you divide by the batch size; divide by the number of labelled faces (the sum of the "
                         "weights), or a face with no label still changes the loss by being there.")
        if np.isclose(got, float(per_face.mean()), rtol=1e-3):
            return wrong("your loss counts the faces whose label is missing; weight each face's loss by w.")
        return wrong(f"for {len(y)} faces, {int(w.sum())} labelled, you return {got:.4f}; expected {want:.4f}")
    return correct("a face whose AU labels are missing changes neither the loss nor its gradient: the batch "
                   "scores exactly as it would without it.")
