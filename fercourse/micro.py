"""Hand-made features of clips for micro-expressions: LBP-TOP, and the onset->apex change.

- :func:`lbp_top` -- local binary patterns on three orthogonal planes (Zhao & Pietikäinen, 2007):
  the texture of each frame (the XY planes) and how each row and each column of pixels changes
  over time (the XT and YT planes), as histograms per block of the face.  With a linear SVM
  (:func:`lbp_top_svm`) it is CASME II's own baseline (63.41 %, leave-one-subject-out).
  scikit-image computes each plane's patterns (:func:`skimage.feature.local_binary_pattern`).
- :func:`onset_apex_difference` and :func:`onset_apex_flow` -- what moved between the onset
  and the apex frame: the grey-level difference, or the optical flow (OpenCV's Farnebäck),
  the input of the small CNN :func:`fercourse.models.sequence.difference_cnn`.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["lbp_top", "lbp_top_features", "lbp_top_length", "lbp_top_svm", "onset_apex_difference",
           "onset_apex_flow"]


def _n_codes(points: int, method: str) -> int:
    if method == "uniform":
        return points + 2
    if method == "nri_uniform":
        return points * (points - 1) + 3
    raise ValueError(f"method must be 'uniform' (rotation-invariant, P + 2 codes) or 'nri_uniform' "
                     f"(P (P - 1) + 3 codes); got {method!r}")


@functools.lru_cache(maxsize=8)
def _code_table(points: int, method: str) -> np.ndarray:
    """Raw P-bit pattern -> histogram bin.  A pattern is *uniform* when its circle of bits changes
    at most twice; "uniform" bins uniform patterns by their count of ones (rotation-invariant),
    "nri_uniform" gives each uniform pattern its own bin; every other pattern shares the last bin.

    Mapping scikit-image's raw ("default") codes through a table is several times faster than
    asking it for the uniform codes, and LBP-TOP needs a hundred planes per clip.
    """
    n = _n_codes(points, method)
    codes = np.arange(2 ** points)
    bits = (codes[:, None] >> np.arange(points)) & 1
    uniform = np.sum(bits != np.roll(bits, 1, axis=1), axis=1) <= 2
    table = np.full(2 ** points, n - 1, np.int64)
    if method == "uniform":
        table[uniform] = bits[uniform].sum(axis=1)
    else:
        table[uniform] = np.arange(int(uniform.sum()))
    return table


def lbp_top_length(blocks=(4, 4), points: int = 8, method: str = "nri_uniform") -> int:
    """Length of :func:`lbp_top`'s vector: blocks x 3 planes x codes per histogram."""
    return int(blocks[0] * blocks[1] * 3 * _n_codes(points, method))


def lbp_top(clip, *, blocks=(4, 4), points: int = 8, radius: int = 1, method: str = "nri_uniform") -> np.ndarray:
    """LBP-TOP of one clip ``(T, H, W)``: a histogram of patterns per block and plane, concatenated.

    Every pixel of every frame gets three codes: its local binary pattern in its frame (XY), in
    the time-by-width slice through its row (XT) and in the time-by-height slice through its
    column (YT).  The face is cut into ``blocks`` (rows, columns); each block's codes of each
    plane make one histogram, normalised to sum 1.  Pixels within ``radius`` of the clip's border
    in space or time are left out: their circle of neighbours leaves the clip.

    Returns a float32 vector of :func:`lbp_top_length` values, ordered block by block (row-major),
    then plane (XY, XT, YT), then code.
    """
    from skimage.feature import local_binary_pattern

    clip = np.asarray(clip)
    if clip.ndim != 3:
        raise ValueError(f"clip must be (T, H, W) grey frames; got shape {clip.shape}")
    t, h, w = clip.shape
    by, bx = (int(b) for b in blocks)
    if min(t, h, w) <= 2 * radius or by < 1 or bx < 1 or h - 2 * radius < by or w - 2 * radius < bx:
        raise ValueError(f"a clip of {t}x{h}x{w} is too small for radius {radius} and {by}x{bx} blocks "
                         f"(it needs more than {2 * radius} frames and pixels each way)")
    n_codes = _n_codes(points, method)
    # Integer grey levels: scikit-image warns that float images make ties between neighbours fragile.
    clip = np.ascontiguousarray(clip.astype(np.uint8) if clip.dtype != np.uint8 else clip)

    table = _code_table(int(points), method)

    def codes(plane):
        raw = local_binary_pattern(np.ascontiguousarray(plane), points, radius, "default")
        return table[raw.astype(np.int64)]

    xy = np.stack([codes(clip[k]) for k in range(t)])                       # (T, H, W)
    xt = np.stack([codes(clip[:, y, :]) for y in range(h)], axis=1)          # (T, H, W)
    yt = np.stack([codes(clip[:, :, x]) for x in range(w)], axis=2)          # (T, H, W)
    r = radius
    rows = np.array_split(np.arange(r, h - r), by)
    cols = np.array_split(np.arange(r, w - r), bx)
    out = []
    for ry in rows:
        for cx in cols:
            for volume in (xy, xt, yt):
                part = volume[r:t - r, ry[0]:ry[-1] + 1, cx[0]:cx[-1] + 1]
                hist = np.bincount(part.astype(np.int64).ravel(), minlength=n_codes)[:n_codes]
                out.append(hist / max(hist.sum(), 1))
    return np.concatenate(out).astype(np.float32)


def lbp_top_features(clips, **kwargs) -> np.ndarray:
    """:func:`lbp_top` of every clip of ``(N, T, H, W)``: an ``(N, lbp_top_length)`` array."""
    clips = np.asarray(clips)
    if clips.ndim != 4:
        raise ValueError(f"clips must be (N, T, H, W); got shape {clips.shape}")
    return np.stack([lbp_top(c, **kwargs) for c in clips]) if len(clips) else np.zeros((0, 0), np.float32)


def lbp_top_svm(C: float = 0.1):
    """CASME II's baseline classifier on LBP-TOP vectors: standardise, then a linear SVM (scikit-learn)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    return make_pipeline(StandardScaler(), LinearSVC(C=C, max_iter=5000))


def _pairs(frames, onset, apex):
    frames = np.asarray(frames)
    if frames.ndim == 5 and frames.shape[-1] == 1:
        frames = frames[..., 0]
    if frames.ndim != 4:
        raise ValueError(f"frames must be clips (N, T, H, W); got shape {frames.shape}")
    onset, apex = np.asarray(onset, int), np.asarray(apex, int)
    if onset.shape != (len(frames),) or apex.shape != (len(frames),):
        raise ValueError(f"onset and apex need one frame index per clip ({len(frames)}); "
                         f"got shapes {onset.shape} and {apex.shape}")
    if np.any((onset < 0) | (apex >= frames.shape[1]) | (onset > apex)):
        raise ValueError(f"onset and apex must satisfy 0 <= onset <= apex < {frames.shape[1]}")
    rows = np.arange(len(frames))
    return frames[rows, onset], frames[rows, apex]


def _shrink(maps, size, scale_values):
    """Maps ``(N, H, W, C)`` resized to ``size`` x ``size`` (area averaging); flow vectors shrink with them."""
    if size is None:
        return maps
    import cv2

    factor = size / maps.shape[2]
    out = np.stack([cv2.resize(m, (size, size), interpolation=cv2.INTER_AREA).reshape(size, size, -1)
                    for m in maps]) if len(maps) else np.zeros((0, size, size, maps.shape[-1]), np.float32)
    return (out * factor if scale_values else out).astype(np.float32)


def onset_apex_difference(frames, onset, apex, *, size: int | None = None) -> np.ndarray:
    """Apex frame minus onset frame, in grey levels: ``(N, H, W, 1)`` float32 (-255..255).

    ``size``: resize the difference to ``size`` x ``size`` (a small CNN learns faster from fewer pixels).
    """
    first, peak = _pairs(frames, onset, apex)
    return _shrink((peak.astype(np.float32) - first.astype(np.float32))[..., None], size, False)


def onset_apex_flow(frames, onset, apex, *, levels: int = 3, window: int = 9, iterations: int = 3,
                    size: int | None = None) -> np.ndarray:
    """Dense optical flow from the onset to the apex frame: ``(N, H, W, 2)`` float32 (x, y pixels).

    OpenCV's Farnebäck method, with a pyramid of ``levels``, an averaging ``window`` and
    ``iterations`` per level sized for 48x48 faces, where a micro-expression moves a pixel or two.
    ``size``: resize the flow field to ``size`` x ``size``, its vectors scaled with it.
    """
    import cv2

    first, peak = _pairs(frames, onset, apex)
    out = np.empty((*first.shape, 2), np.float32)
    for i, (a, b) in enumerate(zip(first, peak)):
        out[i] = cv2.calcOpticalFlowFarneback(np.ascontiguousarray(a, np.uint8), np.ascontiguousarray(b, np.uint8),
                                              None, 0.5, levels, window, iterations, 5, 1.1, 0)
    return _shrink(out, size, True)
