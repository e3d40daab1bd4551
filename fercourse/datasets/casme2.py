"""CASME II (Yan et al., 2014): 255 spontaneous micro-expressions of 26 subjects at 200 frames/s.

As its users receive it::

    CASME2/
      CASME2-coding-20140508.xlsx          the coding sheet (any CASME2-coding-*.xlsx)
      CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...     whole frames, 640x480
      Cropped/sub01/EP02_01f/reg_img46.jpg ...             or faces already cut out

The sheet has a row per clip: ``Subject`` (1, 2, ...; folder ``sub01``), ``Filename``
(``EP02_01f``), ``OnsetFrame``, ``ApexFrame``, ``OffsetFrame`` (numbers as in the frame
names), ``Action Units`` (``4+7+L10``, ``R12``...), ``Estimated Emotion``.  Some frame cells
hold ``/`` and some offsets are 0 (unknown): see :mod:`.coded_clips` for what is done about
every irregular cell.  The standard tasks, leave-one-subject-out:

- ``task="5"``: happiness, disgust, repression, surprise, others (fear and sadness, too rare,
  left out) -- the dataset's own baseline, LBP-TOP + SVM, scores 63.41 %;
- ``task="3"``: MEGC's positive (happiness), negative (disgust, repression, fear, sadness) and
  surprise; ``others`` left out;
- ``task="all"``: the seven words as they are.

The dataset cannot be redistributed; its authors give it out on request.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import config
from . import coded_clips
from .errors import DataMissingError
from .sequences import SequenceData

__all__ = ["LAYOUT", "TASKS", "DEFAULT_LENGTH", "casme2_path", "scan_casme2", "load_casme2", "HOW_TO_GET"]

EMOTION_WORDS = ("happiness", "disgust", "repression", "surprise", "others", "sadness", "fear")

LAYOUT = coded_clips.Layout(
    name="casme2",
    columns={"subject": "Subject", "clip": "Filename", "onset": "OnsetFrame", "apex": "ApexFrame",
             "offset": "OffsetFrame", "aus": "Action Units", "emotion": "Estimated Emotion"},
    emotions={**{w: w for w in EMOTION_WORDS}, "other": "others"},
    fps=200.0,
    subject_folder=lambda s: f"sub{s:02d}",
    all_micro=True,
)

TASKS = {
    "5": {w: w for w in ("happiness", "disgust", "repression", "surprise", "others")},
    "3": {"disgust": "negative", "repression": "negative", "fear": "negative", "sadness": "negative",
          "happiness": "positive", "surprise": "surprise"},
    "all": {w: w for w in EMOTION_WORDS},
}
"""Task -> {emotion word kept: class name}; class order as written (3: negative, positive, surprise)."""

DEFAULT_LENGTH = 10
"""Frames per clip after resampling onset..offset (CASME II's clips last 24 to over 100 frames)."""

SHEET_PATTERN = "CASME2-coding-*.xlsx"
RAW_FOLDERS = ("CASME2_RAW_selected", "CASME2_RAW")
CROPPED_FOLDERS = ("Cropped", "CASME2_Cropped")
CANDIDATE_NAMES = ("CASME2", "casme2", "CASME II", "CASMEII", "CASME_II")

HOW_TO_GET = """\
CASME II is not in the data home ({home}).
It cannot be redistributed: ask its authors (Institute of Psychology, Chinese Academy of
Sciences) for it, signing their licence agreement.  Then unpack it as

  {home}/CASME2/CASME2-coding-*.xlsx
  {home}/CASME2/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg ...   (or Cropped/...)

and check it with `fercourse data info`.  Until then chapter 7 runs on the synthetic clips."""


def _classes(task):
    return coded_clips.task_classes(TASKS, task, "CASME II")


def casme2_path(data_home: str | os.PathLike | None = None) -> Path | None:
    """The CASME II folder in the data home (one holding a ``CASME2-coding-*.xlsx``), or None."""
    home = Path(data_home) if data_home is not None else config.data_home()
    return coded_clips.dataset_folder(home, CANDIDATE_NAMES, SHEET_PATTERN)


def _locate(path, frames):
    root, sheet = coded_clips.locate_sheet(path, CANDIDATE_NAMES, SHEET_PATTERN, HOW_TO_GET)
    if frames not in ("auto", "raw", "cropped"):
        raise ValueError(f"frames must be 'auto', 'raw' or 'cropped'; got {frames!r}")
    raw = coded_clips.find_folder(root, RAW_FOLDERS) if frames != "cropped" else None
    cropped = coded_clips.find_folder(root, CROPPED_FOLDERS) if frames != "raw" and raw is None else None
    folder = raw or cropped
    if folder is None:
        wanted = {"auto": RAW_FOLDERS + CROPPED_FOLDERS, "raw": RAW_FOLDERS, "cropped": CROPPED_FOLDERS}[frames]
        raise DataMissingError(f"{root}: no frame folder ({', '.join(wanted)}) in it or the two levels below")
    return sheet, folder, raw is not None


def scan_casme2(path=None, *, task: str = "5", frames: str = "auto", on_problem: str = "skip"):
    """The coding sheet checked against the frame folders, no image decoded: a :class:`.coded_clips.Scan`."""
    mapping, _ = _classes(task)
    sheet, folder, _ = _locate(path, frames)
    return coded_clips.scan(LAYOUT, sheet, folder, classes=mapping, on_problem=on_problem)


def load_casme2(path=None, *, task: str = "5", length: int = DEFAULT_LENGTH, size: int = 48,
                frames: str = "auto", context: float = 0.0, on_problem: str = "skip",
                verbose: bool = True) -> SequenceData:
    """CASME II's clips of one task as a :class:`SequenceData` of ``length`` frames each.

    Parameters
    ----------
    path : the CASME II folder (default: found in the data home by :func:`casme2_path`).
    task : ``"5"``, ``"3"`` or ``"all"`` (see the module's notes).
    length : frames per clip: onset..offset (with ``context``) resampled to this many.
    size : side of the square face crops.
    frames : ``"raw"`` (whole frames, cut with the course's crop: one box per clip, from the
        onset frame), ``"cropped"`` (the dataset's own face crops, resized), or ``"auto"``
        (raw when present).
    context : seconds of frames kept before the onset and after the offset, where the folder
        has them (neutral context, for spotting).
    on_problem : ``"skip"`` (skip an unreadable row, noted) or ``"error"``.
    verbose : print one line per dataset and the number of notes.
    """
    mapping, class_names = _classes(task)
    sheet, folder, is_raw = _locate(path, frames)
    found = coded_clips.scan(LAYOUT, sheet, folder, classes=mapping, on_problem=on_problem)
    data = coded_clips.load(LAYOUT, found, class_names=class_names, length=length, size=size, crop=is_raw,
                            context=context, on_problem=on_problem, source=f"{folder} + {sheet.name}")
    if verbose:
        print(f"CASME II ({task} classes): {len(data)} clips of {len(set(data.subjects.tolist()))} "
              f"subjects from {folder.name}; {len(data.notes)} note(s) (data.describe() lists them).")
    return data
