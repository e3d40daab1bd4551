"""Choosing the course data (the chapters' one entry point): real FER2013 when present, else synthetic."""

from __future__ import annotations

from pathlib import Path

from .. import config
from .errors import DataMissingError
from .facedata import FaceData
from .ckplus import ckplus_path
from .casme2 import casme2_path
from .fer2013 import HOW_TO_GET, fer2013_path, load_fer2013
from .samm import samm_path


def available(data_home=None) -> dict[str, Path | None]:
    """The real datasets the data home holds: ``{"fer2013": path or None, ...}``."""
    home = Path(data_home) if data_home is not None else config.data_home()
    found = {"fer2013": fer2013_path(home), "ck+": ckplus_path(home)}
    found["casme2"], found["samm"] = casme2_path(home), samm_path(home)
    return found


def load_course_data(
    *,
    dataset: str | None = None,
    merge_disgust: bool = False,
    synthetic_n: int | None = None,
    verbose: bool = True,
) -> FaceData:
    """The data a chapter works on, chosen in this one place.

    Parameters
    ----------
    dataset : ``auto`` (FER2013 when the data home holds it, else synthetic), ``fer2013``
        or ``synthetic``.  Default: ``FERCOURSE_DATASET``, else ``auto``.
    merge_disgust : mememoji's six classes (disgust folded into angry).
    synthetic_n : how many synthetic faces to make (default by profile: 6,000 quick,
        35,887 full, FER2013's size).
    verbose : print one line saying which data was used and why.
    """
    choice = config.dataset_choice() if dataset is None else dataset
    if choice not in config.DATASET_CHOICES:
        raise ValueError(f"dataset={choice!r}: valid values are {', '.join(config.DATASET_CHOICES)}")

    path = fer2013_path() if choice != "synthetic" else None
    if choice == "fer2013" and path is None:
        raise DataMissingError(HOW_TO_GET.format(home=config.data_home()))
    if path is not None:
        data = load_fer2013(path, merge_disgust=merge_disgust)
        why = "found in the data home"
    else:
        from .synthetic import make_faces
        from ..labels import merge_disgust as merge

        n = synthetic_n or config.by_profile(quick=6000, full=35887)
        data = make_faces(n)
        if merge_disgust:
            from ..labels import EMOTIONS_MERGED

            data = data.replace(labels=merge(data.labels), class_names=EMOTIONS_MERGED)
        why = ("FERCOURSE_DATASET=synthetic" if choice == "synthetic"
               else f"FER2013 is not in the data home {config.data_home()} (see `fercourse data fetch fer2013`)")
    if verbose:
        print(f"Data: {data.name}, {len(data):,} images of {data.image_shape[0]}x{data.image_shape[1]}, "
              f"{len(data.class_names)} classes ({why}).")
    return data
