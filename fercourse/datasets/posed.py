"""CK+'s stand-in: synthetic posed faces, for when CK+ is not in the data home.

CK+ cannot be redistributed, so chapter 6 runs on :func:`make_posed_faces` until the reader
has it: faces drawn by :mod:`fercourse.render` that are frontal, evenly lit, at high intensity
and from few subjects, each posing several sequences -- CK+'s structure, returned as
:func:`fercourse.datasets.load_ckplus` returns CK+ (the same extras, packed by the same code).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import config, facs
from ..labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT
# CK+'s own argument checks and packing: the stand-in's data are load_ckplus's to the letter.
from .ckplus import CKPlusReport, _arrays, _check_args, _face_data
from .facedata import FaceData

__all__ = ["make_posed_faces"]


def make_posed_faces(
    n_subjects: int = 30,
    *,
    sequences_per_subject: int = 4,
    peak_frames: int = 3,
    include_neutral: bool = True,
    contempt: bool = True,
    intensity=(0.8, 1.0),
    size: int = 48,
    seed: int | None = None,
) -> FaceData:
    """A built-in stand-in for CK+: posed, lab-like synthetic faces in CK+'s structure.

    Like CK+, and unlike the course's in-the-wild synthetic faces
    (:func:`~fercourse.datasets.make_faces`): every face is **frontal** (no yaw, roll within
    a degree), **evenly lit** (a faint light gradient, normal contrast, little noise), at
    **high intensity** (``intensity``), from **few subjects**, each posing several emotions
    (``sequences_per_subject``, each a different emotion).  Each sequence gives
    ``peak_frames`` near-copies of its peak (intensity rising to the apex over the last frames,
    a little sensor noise) and, with ``include_neutral``, its neutral first frame -- so faces
    of one sequence are as alike as CK+'s, which is what makes random splits leak.

    Action units are sampled per sequence as the synthetic faces' are
    (:func:`fercourse.datasets.synthetic.sample_aus`: a telling AU sometimes missing, an
    unrelated one sometimes present), so ``extras`` match :func:`load_ckplus`'s: ``sequences``,
    ``frames``, ``neutral``, ``au_present`` (intensity at least FACS's trace grade A) and
    ``aus`` (intensities, never NaN).  Subjects are named ``S001``...; labels follow
    :data:`~fercourse.labels.EMOTIONS_WITH_CONTEMPT` (``contempt=False``: no contempt sequences).

    What it cannot show: real faces' texture, real people's ways of posing, the label noise of
    a real dataset -- it shows the *structure* of CK+ (posed, frontal, strong, few people,
    near-duplicate frames), and what that structure does to measurements.
    """
    from .. import render
    from .synthetic import sample_aus

    _check_args(peak_frames, size)
    if int(n_subjects) != n_subjects or n_subjects < 2:
        raise ValueError(f"n_subjects must be a whole number of at least 2; got {n_subjects!r}")
    classes = [e for e in EMOTIONS_WITH_CONTEMPT if e != "neutral" and (contempt or e != "contempt")]
    if not 1 <= sequences_per_subject <= len(classes):
        raise ValueError(f"sequences_per_subject must lie in 1..{len(classes)} (one emotion each); "
                         f"got {sequences_per_subject!r}")
    lo, hi = intensity
    if not 0 < lo <= hi <= 1:
        raise ValueError(f"intensity must be a range (low, high) with 0 < low <= high <= 1; got {intensity!r}")
    seed = config.seed() if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    threshold = facs.FACS_GRADES["A"]

    # Each sequence has n_frames; the last peak_frames are taken (and the first, neutral, one).
    n_frames = peak_frames + 8
    chosen = ([0] if include_neutral else []) + list(range(n_frames - peak_frames, n_frames))
    rows = []
    # Emotions go round so that every class gets (nearly) the same number of sequences.
    turn = rng.permutation(len(classes))
    k = 0
    for s in range(int(n_subjects)):
        identity = dataclasses.replace(render.Identity.random(rng), glasses=False)
        for q in range(int(sequences_per_subject)):
            emotion = classes[turn[k % len(classes)]]
            k += 1
            level = lo + (hi - lo) * rng.random()
            sides = sample_aus(emotion, level, rng)
            pose = render.Pose(roll=float(rng.uniform(-1, 1)), scale=1.0 + 0.02 * float(rng.uniform(-1, 1)))
            light = render.Lighting(direction=float(rng.uniform(0, 360)), strength=0.05,
                                    contrast=1.0, brightness=0.0, gamma=1.0, noise=1.5, blur=0.0)
            key = (f"S{s + 1:03d}", f"{q + 1:03d}")
            for frame in chosen:
                neutral = frame == 0
                # the last frames close in on the apex, as a posed expression settles
                scale = 0.0 if neutral else 1.0 - 0.05 * (n_frames - 1 - frame)
                frame_sides = sides * np.float32(scale)
                image = render.render_face(frame_sides, identity, pose, light, size, rng)
                aus = frame_sides.max(axis=0)
                rows.append((image, EMOTIONS.index("neutral") if neutral else EMOTIONS_WITH_CONTEMPT.index(emotion),
                             key, frame + 1, neutral, (aus >= threshold).astype(np.int8), aus.astype(np.float32)))
    arrays = _arrays(rows, size, CKPlusReport(source="make_posed_faces", layout="synthetic"))
    return _face_data(arrays, "posed-synthetic",
                      f"fercourse.datasets.make_posed_faces(n_subjects={n_subjects}, sequences_per_subject="
                      f"{sequences_per_subject}, peak_frames={peak_frames}, seed={seed})")
