"""SAMM (Davison et al., 2018): spontaneous micro-movements of 32 subjects at 200 frames/s.

As its users receive it::

    SAMM/
      SAMM_Micro_FACS_Codes_v2.xlsx        the coding sheet (any SAMM_Micro_FACS_Codes*.xlsx)
      006/006_1_2/006_05562.jpg ...        a folder per subject and per clip, numbered frames

The sheet starts with rows of notes (13 in v2); the header row below them names the columns
``Subject`` (6 or ``006``), ``Filename`` (``006_1_2``), ``Onset Frame``, ``Apex Frame``,
``Offset Frame``, ``Duration``, ``Micro``, ``Action Units`` (``R14A``, ``4+7``...),
``Estimated Emotion`` and more.  The header is found wherever it sits among the first rows; a
sheet without it is an error that says what was expected.  The ``Micro`` column, when the sheet
has it, says which clips are micro-expressions; otherwise the duration does (under half a
second).  See :mod:`.coded_clips` for what is done about every irregular cell.  Tasks:

- ``task="all"``: anger, contempt, disgust, fear, happiness, sadness, surprise, other;
- ``task="5"``: anger, contempt, happiness, surprise, other (the classes with ten clips or more);
- ``task="3"``: MEGC's positive (happiness), negative (anger, contempt, disgust, fear,
  sadness) and surprise; ``other`` left out.

The dataset cannot be redistributed; its authors give it out on request.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .. import config
from . import coded_clips
from .errors import DataMissingError
from .sequences import SequenceData

__all__ = ["LAYOUT", "TASKS", "DEFAULT_LENGTH", "samm_path", "scan_samm", "load_samm", "HOW_TO_GET"]

EMOTION_WORDS = ("anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise", "other")

LAYOUT = coded_clips.Layout(
    name="samm",
    columns={"subject": "Subject", "clip": "Filename", "onset": "Onset Frame", "apex": "Apex Frame",
             "offset": "Offset Frame", "aus": "Action Units", "emotion": "Estimated Emotion",
             "micro": "Micro"},
    emotions={**{w: w for w in EMOTION_WORDS}, "others": "other", "happy": "happiness", "angry": "anger",
              "sad": "sadness"},
    fps=200.0,
    subject_folder=lambda s: f"{s:03d}",
)

TASKS = {
    "all": {w: w for w in EMOTION_WORDS},
    "5": {w: w for w in ("anger", "contempt", "happiness", "surprise", "other")},
    "3": {"anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
          "sadness": "negative", "happiness": "positive", "surprise": "surprise"},
}
"""Task -> {emotion word kept: class name}; class order as written (3: negative, positive, surprise)."""

DEFAULT_LENGTH = 10
"""Frames per clip after resampling onset..offset."""

SHEET_PATTERN = "SAMM_Micro_FACS_Codes*.xlsx"
CANDIDATE_NAMES = ("SAMM", "samm")
_SUBJECT_FOLDER = re.compile(r"^\d{3}$")

HOW_TO_GET = """\
SAMM is not in the data home ({home}).
It cannot be redistributed: ask its authors (Manchester Metropolitan University) for it,
signing their licence agreement.  Then unpack it as

  {home}/SAMM/SAMM_Micro_FACS_Codes_v2.xlsx
  {home}/SAMM/006/006_1_2/006_05562.jpg ...

and check it with `fercourse data info`.  Until then chapter 7 runs on the synthetic clips."""


def _classes(task):
    return coded_clips.task_classes(TASKS, task, "SAMM")


def samm_path(data_home: str | os.PathLike | None = None) -> Path | None:
    """The SAMM folder in the data home (one holding a ``SAMM_Micro_FACS_Codes*.xlsx``), or None."""
    home = Path(data_home) if data_home is not None else config.data_home()
    return coded_clips.dataset_folder(home, CANDIDATE_NAMES, SHEET_PATTERN)


def _frames_root(root: Path) -> Path | None:
    """The folder whose children are the subjects' folders (``006``...): ``root`` or one below it."""
    for folder in [root, *sorted(p for p in root.glob("*") if p.is_dir()),
                   *sorted(p for p in root.glob("*/*") if p.is_dir())]:
        if any(_SUBJECT_FOLDER.match(c.name) and c.is_dir() for c in folder.iterdir()):
            return folder
    return None


def _locate(path):
    root, sheet = coded_clips.locate_sheet(path, CANDIDATE_NAMES, SHEET_PATTERN, HOW_TO_GET)
    folder = _frames_root(root)
    if folder is None:
        raise DataMissingError(f"{root}: no subject folders (006, 007, ...) in it or the two levels below")
    return sheet, folder


def scan_samm(path=None, *, task: str = "all", on_problem: str = "skip"):
    """The coding sheet checked against the frame folders, no image decoded: a :class:`.coded_clips.Scan`."""
    mapping, _ = _classes(task)
    sheet, folder = _locate(path)
    return coded_clips.scan(LAYOUT, sheet, folder, classes=mapping, on_problem=on_problem)


def load_samm(path=None, *, task: str = "all", length: int = DEFAULT_LENGTH, size: int = 48, crop: bool = True,
              context: float = 0.0, on_problem: str = "skip", verbose: bool = True) -> SequenceData:
    """SAMM's clips of one task as a :class:`SequenceData` of ``length`` frames each.

    Parameters are those of :func:`fercourse.datasets.casme2.load_casme2`; ``crop=False`` takes
    whole frames (resized) instead of the course's crop (one box per clip, from the onset frame).
    """
    mapping, class_names = _classes(task)
    sheet, folder = _locate(path)
    found = coded_clips.scan(LAYOUT, sheet, folder, classes=mapping, on_problem=on_problem)
    data = coded_clips.load(LAYOUT, found, class_names=class_names, length=length, size=size, crop=crop,
                            context=context, on_problem=on_problem, source=f"{folder} + {sheet.name}")
    if verbose:
        print(f"SAMM ({task} classes): {len(data)} clips of {len(set(data.subjects.tolist()))} subjects, "
              f"{int(data.micro.sum())} micro; {len(data.notes)} note(s) (data.describe() lists them).")
    return data
