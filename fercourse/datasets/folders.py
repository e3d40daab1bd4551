"""Class-per-folder datasets such as the common CK+48 redistribution of CK+.

CK+48 holds seven class folders (``anger``, ``contempt``, ``disgust``, ``fear``, ``happy``,
``sadness``, ``surprise``) of 48x48 PNGs: the last frames of 327 sequences from 118 subjects,
with file names that start with the subject (``S010_004_00000019.png``).  Several frames of
one sequence, and several sequences of one subject, are near copies of each other, so any
split must keep each subject on one side: :func:`subject_kfold`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..labels import EMOTIONS_WITH_CONTEMPT
from .errors import DataFormatError
from .facedata import FaceData
from .imagefiles import decode_gray, iter_image_entries

# Folder names used by common redistributions, mapped onto the course's class names.
CLASS_ALIASES = {
    "anger": "angry", "angry": "angry",
    "contempt": "contempt",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happy": "happy", "happiness": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral",
}

SUBJECT_PATTERN = re.compile(r"^(S\d+)_")


def load_image_folder(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    size: tuple[int, int] | None = (48, 48),
    class_names: tuple[str, ...] = EMOTIONS_WITH_CONTEMPT,
) -> FaceData:
    """Read a folder (or zip) of class folders of face images, such as CK+48.

    Parameters
    ----------
    path : the folder holding one sub-folder per class (or a zip of it; a single top folder
        inside is fine).
    name : the dataset's name in the result (default: the folder's name, lower-case).
    size : required image size ``(h, w)``; an image of another size is an error naming it.
        None accepts any size as long as all images share it.
    class_names : the label space.  Folder names are mapped onto it through
        :data:`CLASS_ALIASES` (``anger`` -> ``angry``, ``sadness`` -> ``sad``...), so labels
        agree with FER2013's for the classes both have.

    Returns
    -------
    FaceData with ``splits`` all empty (no official split) and ``subjects`` parsed from file
    names like ``S010_004_00000019.png`` (None when no file name carries a subject).
    """
    path = Path(path).expanduser()
    images, labels, subjects, names = [], [], [], []
    for rel, read in iter_image_entries(path):
        where = f"{path}: {rel}"
        if len(rel.parts) < 2:
            raise DataFormatError(f"{where}: image outside a class folder; expected <class>/<file>")
        folder = rel.parts[-2]
        cls = CLASS_ALIASES.get(folder.lower())
        if cls is None or cls not in class_names:
            raise DataFormatError(
                f"{where}: unknown class folder {folder!r}; expected one of {', '.join(class_names)} "
                f"(or an alias: {', '.join(sorted(k for k, v in CLASS_ALIASES.items() if v in class_names and k != v))})"
            )
        img = decode_gray(read(), where, size)
        if size is None and images and img.shape != images[0].shape:
            raise DataFormatError(f"{where}: image is {img.shape[1]}x{img.shape[0]}, unlike the first ({images[0].shape[1]}x{images[0].shape[0]})")
        images.append(img)
        labels.append(class_names.index(cls))
        m = SUBJECT_PATTERN.match(rel.name)
        subjects.append(m.group(1) if m else None)
        names.append(rel)
    if not images:
        raise DataFormatError(f"{path}: no images found; expected one sub-folder of images per class")
    have = [s is not None for s in subjects]
    if any(have) and not all(have):
        odd = names[have.index(False)]
        named = names[have.index(True)]
        raise DataFormatError(
            f"{path}: {odd}: no subject in its file name, while others have one (e.g. {named.name}); "
            "expected names like S010_004_00000019.png throughout, or none with a subject"
        )
    return FaceData(
        images=np.stack(images),
        labels=np.array(labels, np.int64),
        splits=np.full(len(images), "", dtype="<U11"),
        class_names=tuple(class_names),
        name=name or path.stem.lower(),
        source=str(path),
        subjects=np.array(subjects) if all(have) else None,
    )


def subject_kfold(subjects, n_splits: int = 10, seed: int | None = None):
    """Subject-independent k-fold splits: no subject has images on both sides.

    Parameters
    ----------
    subjects : (N,) array of subject ids, one per image.
    n_splits : number of folds (at most the number of subjects).
    seed : shuffles which subjects share a fold (default: the course seed).

    Returns
    -------
    list of ``(train_index, test_index)`` pairs of integer arrays.
    """
    from sklearn.model_selection import GroupKFold

    from .. import config

    subjects = np.asarray(subjects)
    if subjects.ndim != 1 or len(subjects) == 0:
        raise ValueError(f"subjects must be a non-empty 1-D array, one id per image; got shape {subjects.shape}")
    n_subjects = len(np.unique(subjects))
    if not 2 <= n_splits <= n_subjects:
        raise ValueError(f"n_splits={n_splits}: expected 2..{n_subjects} (the number of distinct subjects)")
    seed = config.seed() if seed is None else seed
    folds = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in folds.split(np.zeros(len(subjects)), groups=subjects)]
