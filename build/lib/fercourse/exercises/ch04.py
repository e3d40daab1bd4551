"""Checks for chapter 4's exercises (HOG, HOG + SVM and the CNN+HOG hybrid)."""

from __future__ import annotations

import numpy as np

from . import Verdict, correct, wrong

__all__ = ["check_hog_length", "check_interpolated_histograms", "interpolated_histograms_reference"]


def check_hog_length(hog_length) -> Verdict:
    """Exercise: ``hog_length(image_shape, orientations, pixels_per_cell, cells_per_block)``.

    ``pixels_per_cell`` and ``cells_per_block`` are ``(rows, columns)`` pairs; the answer is
    compared with :func:`fercourse.features.hog_length` on square and non-square cases.
    """
    from ..features import hog_length as reference

    cases = [((48, 48), 9, (8, 8), (2, 2)), ((48, 48), 9, (6, 6), (3, 3)), ((48, 48), 12, (4, 4), (2, 2)),
             ((64, 128), 9, (8, 8), (2, 2)), ((32, 48), 6, (8, 4), (1, 2)), ((48, 48), 9, (8, 8), (1, 1))]
    for shape, n, ppc, cpb in cases:
        want = reference(shape, orientations=n, pixels_per_cell=ppc, cells_per_block=cpb)
        try:
            got = int(hog_length(shape, n, ppc, cpb))
        except Exception as err:  # a reader's function may fail in any way: say how
            return wrong(f"your function raised {type(err).__name__}: {err} for image {shape}, "
                         f"{n} orientations, cells {ppc}, blocks {cpb}")
        if got != want:
            cells = (shape[0] // ppc[0], shape[1] // ppc[1])
            hint = ""
            if got == cells[0] * cells[1] * n:
                hint = " That counts every cell once; blocks overlap, so most cells are counted several times."
            elif got == (cells[0] // cpb[0]) * (cells[1] // cpb[1]) * cpb[0] * cpb[1] * n:
                hint = " Blocks slide by one cell, not by a whole block."
            return wrong(f"for image {shape}, {n} orientations, cells {ppc} and blocks {cpb} you give "
                         f"{got}; expected {want}.{hint}")
    return correct("block positions x cells per block x bins: "
                   "(H/p - b + 1)(W/p - b + 1) b^2 n, 900 for a 48x48 face with the defaults.")


def interpolated_histograms_reference(face, cell=8, bins=9):
    """Cell histograms with each vote shared linearly between the two nearest orientation bins.

    Bin ``k`` is centred on ``(k + 0.5) * 180 / bins`` degrees; the bins wrap around (a vote
    at 179 degrees is shared between the last bin and the first).  Gradients as
    :func:`fercourse.features.image_gradients`.  Returns ``(rows, columns, bins)``.
    """
    from ..features import image_gradients

    _, _, mag, ang = image_gradients(face)
    position = ang / (180 / bins) - 0.5              # in units of bins, from the first centre
    low = np.floor(position).astype(int)
    upper_share = position - low
    rows, cols = face.shape[0] // cell, face.shape[1] // cell
    hist = np.zeros((rows, cols, bins))
    for r in range(rows):
        for c in range(cols):
            sl = np.s_[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell]
            m, lo, w = mag[sl].ravel(), low[sl].ravel(), upper_share[sl].ravel()
            hist[r, c] += np.bincount(lo % bins, weights=m * (1 - w), minlength=bins)
            hist[r, c] += np.bincount((lo + 1) % bins, weights=m * w, minlength=bins)
    return hist


def check_interpolated_histograms(function) -> Verdict:
    """Exercise: cell histograms whose votes are shared between the two nearest bins.

    ``function(face, cell=8, bins=9)`` must return an array ``(rows, columns, bins)``, as
    :func:`interpolated_histograms_reference` does.
    """
    from ..datasets import make_faces

    faces = make_faces(8, seed=4).images
    edge = np.zeros((48, 48), np.uint8)
    edge[:, 24:] = 200
    for i, face in enumerate([edge, *faces]):
        for cell, bins in [(8, 9), (6, 12)]:
            want = interpolated_histograms_reference(face, cell, bins)
            try:
                got = np.asarray(function(face, cell=cell, bins=bins), dtype=float)
            except Exception as err:
                return wrong(f"your function raised {type(err).__name__}: {err} (cell={cell}, bins={bins})")
            if got.shape != want.shape:
                return wrong(f"the result should have shape {want.shape} (rows, columns, bins) for "
                             f"cell={cell}, bins={bins}; got {got.shape}")
            if not np.allclose(got, want, rtol=1e-4, atol=1e-3):
                if np.allclose(got.sum(-1), want.sum(-1), rtol=1e-4, atol=1e-3):
                    what = ("the vertical step edge" if i == 0 else f"synthetic face {i - 1}")
                    hint = (" Each cell's total is right, so the votes go to the wrong bins: bin k is centred "
                            "on (k + 0.5) * 180 / bins degrees, and the shares must wrap around from the "
                            "last bin to the first (an edge at 0 degrees splits half and half between "
                            "them).")
                    return wrong(f"the histograms differ for {what} (cell={cell}, bins={bins}).{hint}")
                return wrong("the cells' total votes differ: every pixel should vote with its whole gradient "
                             "magnitude, split between two bins (the shares add up to 1).")
    return correct("votes shared between neighbouring bins make the descriptor change smoothly as an "
                   "edge turns, which is what OpenCV's HOG (and Dalal & Triggs's) does.")
