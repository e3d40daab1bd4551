"""Hand-made features: Histograms of Oriented Gradients (HOG) for batches of faces.

HOG (Dalal & Triggs, 2005) describes an image by where its edges run:

1. gradients by the centred difference ``[-1, 0, 1]`` along rows and columns;
2. each pixel votes, with its gradient magnitude, for the orientation of its gradient
   (unsigned, 0-180 degrees, ``orientations`` bins) in the histogram of its *cell*
   (``pixels_per_cell``);
3. the histograms of each *block* of ``cells_per_block`` neighbouring cells are joined and
   normalised together (L2, clipped at 0.2, renormalised: "L2-Hys"), so that local contrast
   cancels out; blocks overlap, sliding one cell at a time.

The descriptor of an ``H x W`` image therefore holds
``(H/p - b + 1) * (W/p - b + 1) * b * b * orientations`` numbers (``p`` the cell side, ``b``
the block side in cells): 900 for a 48x48 face with the defaults below (:func:`hog_length`).

The defaults, for 48x48 faces: 9 orientations, 8x8-pixel cells, 2x2-cell blocks - Dalal &
Triggs's own choice for pedestrians.  A cell is then about the size of an eye or a mouth
corner, and the face is a 6x6 grid of cells.

Two implementations compute the same descriptor, laid out identically
(``block row, block column, cell row, cell column, orientation``, as scikit-image orders it):

``method="opencv"`` (the default): :class:`cv2.HOGDescriptor`.
    Many times faster than scikit-image.  It is also the closer of the two to Dalal & Triggs:
    votes are shared between neighbouring orientation bins and cells (trilinear interpolation)
    and weighted by a Gaussian window over each block.
``method="skimage"``: :func:`skimage.feature.hog`.
    Simpler: each pixel votes for one bin of one cell, with no window.

Because of those two differences the outputs are not equal number for number.  What the course
needs from them is equal *use*: a linear SVM on either reaches about the same accuracy.  Hence
the faster one, OpenCV's, is the default.  ``benchmarks/bench_hog.py`` measures all three
claims (speed of each, how far the descriptors agree, the SVM's accuracy on each); the book's
*Reference results* (``chapters/appendix_results.md``) records its figures on FER2013.

:func:`hog_image` draws the descriptor as orientation glyphs (scikit-image's picture).
"""

from __future__ import annotations

import numpy as np

__all__ = ["HOG_METHODS", "hog_features", "hog_length", "hog_image", "image_gradients"]

HOG_METHODS = ("opencv", "skimage")
"""The implementations :func:`hog_features` can use; the first is the default."""

DEFAULT_ORIENTATIONS = 9
DEFAULT_PIXELS_PER_CELL = (8, 8)
DEFAULT_CELLS_PER_BLOCK = (2, 2)


# --------------------------------------------------------------------------- argument checks
def _pair(value, name):
    """``8`` or ``(8, 8)`` -> ``(8, 8)``, positive integers, with a clear error otherwise."""
    try:
        pair = (int(value), int(value)) if np.ndim(value) == 0 else tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive integer or a pair (rows, columns); got {value!r}") from None
    if len(pair) != 2 or min(pair) < 1 or np.any(np.asarray(value, dtype=float) != np.asarray(pair, dtype=float)):
        raise ValueError(f"{name} must be a positive integer or a pair (rows, columns); got {value!r}")
    return pair


def _check_params(image_shape, orientations, pixels_per_cell, cells_per_block):
    if int(orientations) != orientations or orientations < 1:
        raise ValueError(f"orientations must be a positive integer; got {orientations!r}")
    ppc = _pair(pixels_per_cell, "pixels_per_cell")
    cpb = _pair(cells_per_block, "cells_per_block")
    h, w = image_shape
    for side, cell, block, axis in ((h, ppc[0], cpb[0], "height"), (w, ppc[1], cpb[1], "width")):
        if side % cell:
            raise ValueError(
                f"images of {h}x{w} do not split into cells of {ppc[0]}x{ppc[1]} pixels: the {axis} "
                f"{side} is not a multiple of {cell}; crop or resize the faces (48x48 with 8x8 cells "
                "is the default)"
            )
        if side < cell * block:
            raise ValueError(
                f"images of {h}x{w} are smaller than one block of {cpb[0]}x{cpb[1]} cells of "
                f"{ppc[0]}x{ppc[1]} pixels; use smaller cells or blocks"
            )
    return int(orientations), ppc, cpb


def _as_uint8(array, name, ndims, shape_hint):
    """Check an image array's type and shape; returns it as a C-contiguous uint8 array."""
    a = np.asarray(array)
    if a.dtype != np.uint8:
        hint = (" (scale floats in [0, 1] with np.clip(x * 255, 0, 255).astype(np.uint8))"
                if np.issubdtype(a.dtype, np.floating) else "")
        raise TypeError(f"{name} must be a uint8 array of pixel values 0..255, as FaceData holds "
                        f"them; got dtype {a.dtype}{hint}")
    if a.ndim == ndims + 1 and a.shape[-1] == 1:  # a Keras-style trailing channel axis
        a = a[..., 0]
    if a.ndim != ndims:
        raise ValueError(f"{name} must be {shape_hint} (grayscale); got an array of shape {a.shape}")
    return np.ascontiguousarray(a)


def hog_length(image_shape=(48, 48), *, orientations=DEFAULT_ORIENTATIONS,
               pixels_per_cell=DEFAULT_PIXELS_PER_CELL, cells_per_block=DEFAULT_CELLS_PER_BLOCK) -> int:
    """The length of the HOG descriptor of one image: 900 for a 48x48 face with the defaults.

    ``(H/p_r - b_r + 1) * (W/p_c - b_c + 1) * b_r * b_c * orientations``: the number of block
    positions (blocks slide one cell at a time) times the cells per block times the bins.
    """
    h, w = (int(s) for s in tuple(image_shape)[:2])
    n, ppc, cpb = _check_params((h, w), orientations, pixels_per_cell, cells_per_block)
    blocks_r = h // ppc[0] - cpb[0] + 1
    blocks_c = w // ppc[1] - cpb[1] + 1
    return blocks_r * blocks_c * cpb[0] * cpb[1] * n


# --------------------------------------------------------------------------- the descriptors
def _opencv_hog(images, n, ppc, cpb, out):
    import cv2

    h, w = images.shape[1:]
    descriptor = cv2.HOGDescriptor(
        (w, h),                                  # window: the whole face (OpenCV sizes are x, y)
        (cpb[1] * ppc[1], cpb[0] * ppc[0]),      # block
        (ppc[1], ppc[0]),                        # blocks slide one cell at a time
        (ppc[1], ppc[0]),                        # cell
        n,
    )
    blocks_r, blocks_c = h // ppc[0] - cpb[0] + 1, w // ppc[1] - cpb[1] + 1
    # OpenCV walks blocks and cells column by column; reorder to scikit-image's row-major layout
    # so both methods give the same numbers the same meaning.
    for i, img in enumerate(images):
        d = descriptor.compute(img).reshape(blocks_c, blocks_r, cpb[1], cpb[0], n)
        out[i] = d.transpose(1, 0, 3, 2, 4).ravel()


def _skimage_hog(images, n, ppc, cpb, out):
    from skimage.feature import hog

    for i, img in enumerate(images):
        out[i] = hog(img, orientations=n, pixels_per_cell=ppc, cells_per_block=cpb,
                     block_norm="L2-Hys", feature_vector=True)


def hog_features(images, *, orientations=DEFAULT_ORIENTATIONS, pixels_per_cell=DEFAULT_PIXELS_PER_CELL,
                 cells_per_block=DEFAULT_CELLS_PER_BLOCK, method="opencv", n_jobs=1) -> np.ndarray:
    """HOG descriptors of a batch of grayscale faces.

    Parameters
    ----------
    images : (N, H, W) or (N, H, W, 1) uint8 array, pixel values 0..255 (``FaceData.images``).
        H and W must be multiples of the cell size.
    orientations : number of unsigned orientation bins over 0-180 degrees (default 9, 20
        degrees each; bin ``k`` is centred on ``(k + 0.5) * 180 / orientations`` degrees, the
        angle of the *gradient*: a vertical edge has a horizontal gradient, 0 degrees).
    pixels_per_cell : cell size in pixels, an int or (rows, columns) (default 8x8).
    cells_per_block : block size in cells (default 2x2); blocks overlap, sliding by one cell,
        and are normalised with L2-Hys.
    method : ``"opencv"`` (default; about ten times faster, with Dalal & Triggs's interpolation
        and block window) or ``"skimage"`` (hard binning); see the module's notes for how
        their outputs compare.
    n_jobs : threads to split the batch over (both libraries release Python's lock while they
        compute); 1 by default, as the course's machines are small and shared.

    Returns
    -------
    (N, D) float32 array, ``D = hog_length((H, W), ...)``, each row laid out as
    ``(block row, block column, cell row, cell column, orientation)``.
    """
    if method not in HOG_METHODS:
        raise ValueError(f"method={method!r} is not known; valid methods: {', '.join(HOG_METHODS)}")
    images = _as_uint8(images, "images", 3, "a batch of images (N, H, W) or (N, H, W, 1); for one face "
                                            "pass face[None]")
    n, ppc, cpb = _check_params(images.shape[1:], orientations, pixels_per_cell, cells_per_block)
    dim = hog_length(images.shape[1:], orientations=n, pixels_per_cell=ppc, cells_per_block=cpb)
    out = np.empty((len(images), dim), np.float32)
    compute = _opencv_hog if method == "opencv" else _skimage_hog
    n_jobs = max(1, int(n_jobs))
    if n_jobs == 1 or len(images) < 2 * n_jobs:
        compute(images, n, ppc, cpb, out)
    else:
        from concurrent.futures import ThreadPoolExecutor

        bounds = np.linspace(0, len(images), n_jobs + 1).astype(int)
        with ThreadPoolExecutor(n_jobs) as pool:
            jobs = [pool.submit(compute, images[a:b], n, ppc, cpb, out[a:b])
                    for a, b in zip(bounds[:-1], bounds[1:])]
            for job in jobs:
                job.result()
    return out


# --------------------------------------------------------------------------- pictures
def hog_image(face, *, orientations=DEFAULT_ORIENTATIONS, pixels_per_cell=DEFAULT_PIXELS_PER_CELL) -> np.ndarray:
    """The HOG picture of one face: in each cell, a star of line glyphs, one per orientation bin.

    Each glyph is drawn *along the edge* (perpendicular to the gradient it counts), as bright
    as that bin's share of the cell's gradient energy, so the picture looks like a sketch of
    the face's edges.  Drawn by :func:`skimage.feature.hog` (``visualize=True``) from the
    cells' histograms before block normalisation.

    Parameters
    ----------
    face : (H, W) or (H, W, 1) uint8 array.

    Returns
    -------
    (H, W) float32 array (non-negative; scale it for display).
    """
    from skimage.feature import hog

    face = _as_uint8(face, "face", 2, "one image (H, W) or (H, W, 1); for a batch, loop over it")
    n, ppc, _ = _check_params(face.shape, orientations, pixels_per_cell, (1, 1))
    _, picture = hog(face, orientations=n, pixels_per_cell=ppc, cells_per_block=(1, 1),
                     block_norm="L2-Hys", visualize=True, feature_vector=True)
    return picture.astype(np.float32)


def image_gradients(face):
    """The gradients HOG starts from: centred differences ``[-1, 0, 1]``, as in HOG.

    Parameters
    ----------
    face : (H, W) or (H, W, 1) uint8 array.

    Returns
    -------
    gx, gy, magnitude, orientation : (H, W) float32 arrays; ``gx`` along columns (to the
    right), ``gy`` along rows (downwards), ``orientation`` the unsigned gradient angle in
    degrees, 0 <= angle < 180.  The outermost pixels, which lack a neighbour, get 0 (as in
    scikit-image).
    """
    face = _as_uint8(face, "face", 2, "one image (H, W) or (H, W, 1)").astype(np.float32)
    gx = np.zeros_like(face)
    gy = np.zeros_like(face)
    gx[:, 1:-1] = face[:, 2:] - face[:, :-2]
    gy[1:-1, :] = face[2:, :] - face[:-2, :]
    magnitude = np.hypot(gx, gy)
    orientation = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    return gx, gy, magnitude, orientation.astype(np.float32)
