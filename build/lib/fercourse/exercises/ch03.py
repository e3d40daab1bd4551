"""Checks for chapter 3's exercises (shallow vs deep CNNs)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_shallow_parameters", "check_top_k", "check_class_weights"]


def check_shallow_parameters(answer) -> Verdict:
    """Exercise: the number of parameters of Alizadeh & Fazel's shallow network, worked out by hand."""
    from ..models import alizadeh_fazel_shallow

    model = alizadeh_fazel_shallow(compile=False)
    truth = model.count_params()
    try:
        answer = int(answer)
    except (TypeError, ValueError):
        return wrong(f"give a whole number of parameters; got {answer!r}")
    if answer == truth:
        return correct(f"{truth:,} parameters, {model.get_layer('fc1').count_params() / truth:.1%} of them "
                       "in the dense layer after the flatten.")
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if answer == trainable:
        return wrong("that is the trainable count; batch norm also keeps a moving mean and variance "
                     "per channel, which count as (non-trainable) parameters.")
    fc = model.get_layer("fc1").count_params()
    if abs(answer - truth) < 0.01 * truth:
        return wrong(f"close ({answer:,} vs the right count): check the biases -- a convolution followed "
                     "by batch norm has none here, batch norm has 4 numbers per channel, and the "
                     "dense layers keep theirs.")
    if answer < fc:
        return wrong(f"too small: the dense layer alone holds {fc:,}. After the 2x2 pool the 48x48 maps "
                     "are 24x24, with 64 channels, all feeding 512 units.")
    return wrong("not yet: add up each layer -- k*k*c_in*c_out for a convolution, 4*c for batch norm, "
                 "(inputs + 1) * units for a dense layer.")


def check_top_k(top_k_accuracy) -> Verdict:
    """Exercise: write ``top_k_accuracy(y_true, probs, k)`` (mememoji's "second guess" for k=2)."""
    from ..evaluate import top_k_accuracy as reference

    rng = np.random.default_rng(3)
    cases = []
    for n, c in [(1, 2), (10, 3), (50, 7), (200, 6)]:
        probs = rng.dirichlet(np.ones(c), size=n)
        y = rng.integers(0, c, n)
        cases += [(y, probs, k) for k in range(1, c + 1)]
    for y, probs, k in cases:
        try:
            got = float(top_k_accuracy(y, probs, k))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} (n={len(y)}, classes={probs.shape[1]}, k={k})")
        want = reference(y, probs, k)
        if not np.isclose(got, want):
            hint = " With k equal to the number of classes it must be 1." if k == probs.shape[1] else ""
            return wrong(f"for {len(y)} faces, {probs.shape[1]} classes and k={k} you return {got:.4f}; "
                         f"expected {want:.4f}.{hint}")
    return correct(f"matches on {len(cases)} cases, from k=1 (plain accuracy) to k = number of classes (always 1).")


def check_class_weights(weights, counts) -> Verdict:
    """Exercise: balanced class weights ``n / (k * n_c)`` for the training counts ``counts``."""
    counts = np.asarray(counts, dtype=float)
    want = counts.sum() / (len(counts) * counts)
    weights = np.asarray(weights, dtype=float).ravel()
    if weights.shape != want.shape:
        return wrong(f"give one weight per class ({len(want)}); got {weights.size}")
    if np.allclose(weights, want, rtol=1e-3):
        i = int(np.argmax(want))
        return correct(f"the rarest class weighs {want[i]:.2f}, the commonest {want.min():.2f}: one rare "
                       f"face counts as much as {want[i] / want.min():.1f} common ones in the loss.")
    ratio = weights / want
    if np.allclose(ratio, ratio[0], rtol=1e-3):
        return wrong(f"right proportions, wrong scale (yours are {ratio[0]:.3g} times too large): "
                     "balanced weights average to 1 over the faces, n / (k * n_c).")
    if np.corrcoef(weights, counts)[0, 1] > 0:
        return wrong("your weights grow with the class size; rare classes need the large weights.")
    return wrong("not yet: weight class c by n / (k * n_c), n faces in all, k classes, n_c faces of class c.")
