"""Checks for chapter 5's exercises (Grad-CAM by hand, the unit for AU4, the sanity check's statistic)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_grad_cam", "check_au_unit", "check_rank_correlation"]


def check_grad_cam(cam, model, face, class_index=None, layer=None) -> Verdict:
    """Exercise: Grad-CAM of one face, from the layer's activations and the score's gradient.

    ``cam``: your map, at the layer's resolution ``(h, w)`` or upsampled to the face's; it is
    compared with :func:`fercourse.explain.grad_cam` for the same ``class_index`` and ``layer``.
    """
    from .. import explain

    cam = np.asarray(cam, dtype=np.float64).squeeze()
    face = np.asarray(face)
    faces = face[None] if face.ndim in (2, 3) and face.shape[0] != 1 else face
    coarse = explain.grad_cam(model, faces, class_index, layer=layer, upsample=False)[0]
    if cam.shape == coarse.shape:
        want = coarse
    else:  # the upsampled map, computed only for a map that is not at the layer's resolution
        fine = explain.grad_cam(model, faces, class_index, layer=layer)[0]
        want = fine if cam.shape == fine.shape else None
    if want is None:
        return wrong(f"the map should have the layer's shape {coarse.shape} (or the face's {fine.shape}); "
                     f"got {cam.shape}")
    scale = max(np.abs(want).max(), 1e-12)
    if np.allclose(cam, want, rtol=1e-3, atol=1e-4 * scale):
        return correct("one weight per channel (its mean gradient), the weighted sum of the maps, "
                       "and a ReLU: where the evidence for the class lies, at the layer's resolution.")
    if cam.min() < -1e-6 * scale and np.allclose(np.maximum(cam, 0), want, rtol=1e-3, atol=1e-4 * scale):
        return wrong("the positive part is right; Grad-CAM ends with a ReLU, which keeps only the "
                     "places that speak *for* the class.")
    ratio = (cam * want).sum() / max((want * want).sum(), 1e-30)
    if abs(ratio - 1) > 1e-2 and np.allclose(cam, ratio * want, rtol=1e-3, atol=1e-4 * scale * abs(ratio)):
        return wrong(f"your map is {ratio:.4g} times Grad-CAM's: average the gradient over the map's "
                     "positions (a mean, not a sum) and do not normalise the result.")
    return wrong("the map differs from Grad-CAM's.  Weigh each channel k by alpha_k, the MEAN over "
                 "positions of d score / d A_k (one number per channel, not a gradient per pixel), "
                 "sum alpha_k A_k over channels, then apply a ReLU.  The score is the class's score "
                 "before the softmax (fercourse.explain.gradients.class_score_function).")


def check_au_unit(unit, model, layer, faces, au_intensity, au=4, pooling="mean") -> Verdict:
    """Exercise: the unit of ``layer`` whose pooled activation correlates best with ``au``.

    ``faces`` and ``au_intensity`` are the held-out synthetic faces and their ``extras["aus"]``.
    """
    from .. import au_units

    pooled = au_units.pooled_activations(model, faces, layer, pooling)
    r = au_units.correlations(pooled, au_units.au_columns(au_intensity, (au,)))[:, 0]
    best = int(np.argmax(r))
    try:
        unit = int(unit)
    except (TypeError, ValueError):
        return wrong(f"give the unit as one channel index of {layer!r} (0..{len(r) - 1}); got {unit!r}")
    if not 0 <= unit < len(r):
        return wrong(f"{layer!r} has units 0..{len(r) - 1}; got {unit}")
    if unit == best:
        return correct(f"unit {best} of {layer}: r = {r[best]:.2f} with AU{au}'s intensity.")
    if unit == int(np.argmin(r)):
        return wrong(f"unit {unit} has the most negative r ({r[unit]:.2f}): it fires *less* as AU{au} "
                     "grows.  Look for the largest positive r.")
    if unit == int(np.argmax(np.abs(r))):
        return wrong("that is the largest |r|; a unit *for* the AU fires more as the AU grows: "
                     "take the largest positive r.")
    return wrong(f"unit {unit} has r = {r[unit]:.2f}; another unit correlates better.  Pool each "
                 f"unit's map over space ({pooling}) and correlate it, over the faces, with AU{au}'s column.")


def check_rank_correlation(function) -> Verdict:
    """Exercise: ``function(a, b)`` -> Spearman's rank correlation of two maps of the same shape."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(5)
    cases = [rng.normal(size=(2, 6, 6)), rng.exponential(size=(2, 12)),
             np.stack([np.arange(16.0).reshape(4, 4), np.arange(16.0).reshape(4, 4) ** 3]),
             rng.integers(0, 4, (2, 5, 5)).astype(float)]           # many ties
    cases[1][1] = cases[1][0] ** 2 + 0.5 * rng.normal(size=12)
    for k, (a, b) in enumerate(cases):
        want = spearmanr(a.ravel(), b.ravel())[0]
        try:
            got = float(function(a, b))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} on maps of shape {a.shape}")
        if not np.isclose(got, want, atol=1e-9):
            if k == 3:
                return wrong(f"on maps with tied values you give {got:.4f}, Spearman's rho is {want:.4f}: "
                             "tied values share the mean of the ranks they span "
                             "(scipy.stats.rankdata does this).")
            if np.isclose(got, np.corrcoef(a.ravel(), b.ravel())[0, 1]):
                return wrong("that is Pearson's r of the values; Spearman's is Pearson's r of their ranks.")
            return wrong(f"for case {k + 1} you give {got:.4f}; Spearman's rho is {want:.4f}.")
    return correct("rank correlation ignores how the maps are scaled, which is why Adebayo et al. "
                   "use it to compare the maps of a trained and a randomised network.")
