"""Reading FACS-coded clip datasets: a coding sheet of rows plus a folder of frames per clip.

CASME II and SAMM (:mod:`.casme2`, :mod:`.samm`) share one shape: an Excel sheet with a row
per clip (subject, clip folder, onset / apex / offset frame numbers, an AU string such as
``4+7+L10``, an emotion word) and a folder of numbered frames per clip.  What differs -- the
column names, the rows of notes above the header, how a subject's folder is named, the
emotion words -- is a :class:`Layout`; the reading is done here, once.

Rows are read as coders wrote them, and real sheets are irregular.  Every irregular cell gets
one of two answers, always naming the sheet row and the clip:

- **a problem** (the row cannot be read: an unknown emotion word, a non-numeric frame cell, an
  unknown onset, frames out of order, a missing frame folder or missing onset / offset frames,
  no face found): an error (``on_problem="error"``) or the row skipped with a note
  (``on_problem="skip"``, the default);
- **a repair**, noted: an offset given as ``/`` or ``0`` (unknown) becomes the folder's last
  frame; an unknown apex becomes the middle of onset..offset; AU codes outside the course's
  AUs are left out of the AU vector; a row whose emotion is not one of the task's classes is
  left out (that is the task, not an error).

The notes travel with the data (:attr:`SequenceData.notes`) and :meth:`SequenceData.describe`
prints them.  Nothing is dropped silently.

Why one module of about 530 lines, above the package's ~400: it is one reading, of a coding
sheet and its frame folders.  Parsing the sheet, scanning the rows against the folders and
loading the faces share :class:`ClipRow`, :class:`Scan` and the notes every irregular cell gets;
CASME II and SAMM each add only a :class:`Layout`, where their files lie and their tasks'
classes, so split, the rules for an irregular row would be spread over files that each dataset
module would have to assemble again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .. import config, facs
from .errors import DataFormatError, DataMissingError
from .imagefiles import IMAGE_SUFFIXES
from .sequences import MICRO_MAX_SECONDS, SequenceData, interval_index

__all__ = ["Layout", "ClipRow", "Scan", "parse_au_codes", "read_sheet", "scan", "load", "find_file",
           "find_folder", "locate_sheet"]

HEADER_SEARCH_ROWS = 40
"""How many rows from the top the header row is looked for in (SAMM puts 13 rows of notes first)."""

_AU_TOKEN = re.compile(r"^(?P<side>[LR])?(?:AU)?(?P<number>\d+)(?P<grade>[A-E])?$", re.IGNORECASE)
_FRAME_NUMBER = re.compile(r"(\d+)$")
_UNKNOWN_CELLS = {"/", "-", "?", "", "nan", "none", "n/a", "na"}


@dataclass(frozen=True)
class Layout:
    """What one dataset's sheet and folders look like.

    Attributes
    ----------
    name : ``casme2``, ``samm``.
    columns : role -> header text, for the roles ``subject``, ``clip``, ``onset``, ``apex``,
        ``offset``, ``aus``, ``emotion`` (required) and ``micro`` (optional).
    emotions : every emotion word the dataset uses (lower case) -> its canonical name.
    fps : the camera's frame rate.
    subject_folder : a subject cell (int) -> its folder name (``1`` -> ``sub01``).
    all_micro : every clip is a micro-expression (CASME II); else the ``micro`` column, or the
        duration, says.
    """

    name: str
    columns: dict
    emotions: dict
    fps: float
    subject_folder: Callable[[int], str]
    all_micro: bool = False


@dataclass
class ClipRow:
    """One readable row of a coding sheet, before its frames are read."""

    row: int
    subject: int
    clip: str
    folder: Path
    onset: int
    apex: int
    offset: int
    emotion: str
    aus: np.ndarray
    micro: bool
    frame_numbers: np.ndarray
    frame_files: list

    @property
    def label(self) -> str:
        return f"row {self.row} ({self.clip})"


@dataclass
class Scan:
    """A coding sheet checked against the frame folders, no frame decoded yet."""

    sheet: Path
    rows: list
    notes: list = field(default_factory=list)
    skipped: int = 0

    def describe(self, max_notes: int = 5) -> str:
        """Readable clips per class and subject count, rows skipped, and the first notes."""
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.emotion] = counts.get(r.emotion, 0) + 1
        lines = [f"{self.sheet.name}: {len(self.rows)} readable clip(s) of {len({r.subject for r in self.rows})} "
                 f"subject(s), {sum(r.micro for r in self.rows)} micro; {self.skipped} row(s) skipped",
                 "  " + ", ".join(f"{c} {k}" for c, k in counts.items())]
        lines += [f"  {note}" for note in self.notes[:max_notes]]
        if len(self.notes) > max_notes:
            lines.append(f"  ... and {len(self.notes) - max_notes} more note(s)")
        return "\n".join(lines)


# --------------------------------------------------------------------------- cells
def _is_unknown(cell) -> bool:
    if cell is None:
        return True
    if isinstance(cell, float) and np.isnan(cell):
        return True
    return str(cell).strip().lower() in _UNKNOWN_CELLS


def _frame_cell(cell, what: str, where: str):
    """A frame-number cell as an int, or None for an unknown one (``/``); else a ValueError."""
    if _is_unknown(cell):
        return None
    if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        return int(cell)
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return int(cell)
    text = str(cell).strip()
    if text.isdigit():
        return int(text)
    raise ValueError(f"{where}: the {what} frame cell holds {cell!r}; expected a frame number "
                     "(or '/' where it is unknown)")


def _subject_cell(cell, where: str) -> int:
    text = str(cell).strip().lower()
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        return int(cell)
    digits = text[3:] if text.startswith("sub") else text
    if not digits.isdigit():
        raise ValueError(f"{where}: the subject cell holds {cell!r}; expected a subject number such as 1 or 'sub01'")
    return int(digits)


def parse_au_codes(cell) -> tuple[np.ndarray, list[str], list[str]]:
    """An AU cell (``4+7+L10``, ``R12``, ``1+2``, ``12B``, ``14``) as the course's AU vector.

    Each code is an AU number with an optional side (``L``/``R``, the person's left or right:
    :func:`fercourse.facs.parse_au`) and an optional FACS grade ``A``..``E``
    (:data:`fercourse.facs.FACS_GRADES`); a code without a grade counts as present (1.0).

    Returns ``(vector, unknown, unreadable)``: the (len(AUS),) float32 vector in the order of
    :data:`fercourse.facs.AUS`, the codes of AUs outside the course's set (``"AU18"``), and the
    pieces that are not AU codes at all -- both left out of the vector, for the caller to report.
    """
    vector = np.zeros(len(facs.AUS), np.float32)
    unknown, unreadable = [], []
    if _is_unknown(cell):
        return vector, unknown, unreadable
    if isinstance(cell, (float, np.floating)) and float(cell).is_integer():
        cell = int(cell)
    for token in re.split(r"[+,;&]", str(cell)):
        token = re.sub(r"\s+", "", token)
        if not token:
            continue
        m = _AU_TOKEN.match(token)
        if m is None:
            unreadable.append(token)
            continue
        side, number, grade = (m.group("side") or "").upper(), int(m.group("number")), m.group("grade")
        if number not in facs.AU_INDEX:
            unknown.append(f"AU{number}")
            continue
        number, _ = facs.parse_au(f"{side}{number}")  # the one reader of sides and numbers
        level = facs.FACS_GRADES[grade.upper()] if grade else 1.0
        j = facs.AU_INDEX[number]
        vector[j] = max(vector[j], level)
    return vector, unknown, unreadable


# --------------------------------------------------------------------------- sheets and folders
def _norm(text) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().lower()


def read_sheet(path, columns: dict, optional=("micro",)):
    """The coding sheet's rows as a DataFrame with columns named by role, and each row's sheet number.

    The header row is the first row, among the top :data:`HEADER_SEARCH_ROWS`, that holds every
    required column (names compared without case and extra spaces), so rows of notes above it
    (SAMM has 13) are passed over.  Returns ``(frame, sheet_rows)``; ``sheet_rows[i]`` is the
    1-based row number a spreadsheet program shows for data row ``i``.

    Raises
    ------
    DataFormatError
        naming the file, the columns expected and the header row found, when no row holds them.
    """
    import pandas as pd

    path = Path(path)
    try:
        raw = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise DataFormatError(f"{path}: not an .xlsx sheet openpyxl can read ({type(exc).__name__}: {exc})") from None
    required = {role: _norm(name) for role, name in columns.items() if role not in optional}
    best, best_hits = None, -1
    for i in range(min(HEADER_SEARCH_ROWS, len(raw))):
        cells = [_norm(c) for c in raw.iloc[i].tolist() if not _is_unknown(c)]
        hits = sum(name in cells for name in required.values())
        if hits == len(required):
            header = [_norm(c) if not _is_unknown(c) else "" for c in raw.iloc[i].tolist()]
            body = raw.iloc[i + 1:]
            out = pd.DataFrame(index=body.index)
            for role, name in columns.items():
                if _norm(name) in header:
                    out[role] = body.iloc[:, header.index(_norm(name))].tolist()
            # Rows wholly empty (a sheet's trailing rows) are not clips.
            keep = ~body.apply(lambda r: all(_is_unknown(c) for c in r), axis=1)
            return out[keep.values].reset_index(drop=True), (np.flatnonzero(keep.values) + i + 2).tolist()
        if hits > best_hits:
            best, best_hits = i, hits
    found = [str(c) for c in raw.iloc[best].tolist() if not _is_unknown(c)] if best is not None else []
    missing = [columns[r] for r, n in required.items() if best is None or n not in
               [_norm(c) for c in raw.iloc[best].tolist()]]
    raise DataFormatError(
        f"{path}: no header row with the columns {', '.join(repr(columns[r]) for r in required)} in its first "
        f"{HEADER_SEARCH_ROWS} rows; the closest, row {best + 1 if best is not None else '-'}, lacks "
        f"{', '.join(map(repr, missing))} (it holds {', '.join(map(repr, found[:12]))})")


def frame_files(folder: Path) -> tuple[np.ndarray, list]:
    """The numbered image files of a clip folder, sorted by the number at the end of the name."""
    numbers, files = [], []
    for p in folder.iterdir():
        if p.suffix.lower() in IMAGE_SUFFIXES:
            m = _FRAME_NUMBER.search(p.stem)
            if m:
                numbers.append(int(m.group(1)))
                files.append(p)
    order = np.argsort(numbers, kind="stable")
    return np.asarray(numbers, np.int64)[order], [files[i] for i in order]


def task_classes(tasks: dict, task: str, dataset: str):
    """``(label -> class mapping, class names)`` of one of a dataset's ``tasks``.

    The 3-class task (MEGC's positive / negative / surprise) lists its classes sorted; the
    others in the mapping's own order.
    """
    if task not in tasks:
        raise ValueError(f"task={task!r}: {dataset}'s tasks are {', '.join(map(repr, tasks))}")
    mapping = tasks[task]
    values = sorted(set(mapping.values())) if task == "3" else mapping.values()
    return mapping, tuple(dict.fromkeys(values))


def dataset_folder(home: Path, names, sheet_pattern: str) -> Path | None:
    """The first folder ``home/<name>`` (``name`` in ``names``) that holds a coding sheet."""
    for name in names:
        root = home / name
        if root.is_dir() and find_file(root, sheet_pattern) is not None:
            return root
    return None


def locate_sheet(path, names, sheet_pattern: str, how_to_get: str) -> tuple[Path, Path]:
    """A dataset's folder and its coding sheet: ``path``, else the first of ``names`` in the data home.

    Raises
    ------
    DataMissingError
        ``how_to_get`` (formatted with ``home=`` the data home) when no ``path`` was given and
        the data home holds none of ``names``; else naming the folder and what it lacks.
    """
    if path is not None:
        root = Path(path)
        if not root.is_dir():
            raise DataMissingError(f"{path}: no such folder")
    else:
        home = config.data_home()
        root = dataset_folder(home, names, sheet_pattern)
        if root is None:
            raise DataMissingError(how_to_get.format(home=home))
    sheet = find_file(root, sheet_pattern)
    if sheet is None:
        raise DataMissingError(f"{root}: no coding sheet {sheet_pattern} in it or the two folder levels below")
    return root, sheet


def find_file(root: Path, pattern: str, depth: int = 2) -> Path | None:
    """The first file matching ``pattern`` at most ``depth`` folders below ``root`` (sorted, so stable)."""
    for level in range(depth + 1):
        hits = sorted(root.glob("/".join(["*"] * level + [pattern])))
        hits = [h for h in hits if h.is_file() and not h.name.startswith("~$")]  # Excel's lock files
        if hits:
            return hits[0]
    return None


def find_folder(root: Path, names, depth: int = 2) -> Path | None:
    """The first folder named one of ``names`` at most ``depth`` levels below ``root`` (or ``root`` itself)."""
    if root.name in names:
        return root
    for level in range(depth):
        for name in names:
            hits = sorted(p for p in root.glob("/".join(["*"] * level + [name])) if p.is_dir())
            if hits:
                return hits[0]
    return None


# --------------------------------------------------------------------------- scanning
def _micro_cell(cell):
    if _is_unknown(cell):
        return None
    text = str(cell).strip().lower()
    if "micro" in text or text in ("1", "1.0", "yes", "true", "y"):
        return True
    if "macro" in text or text in ("0", "0.0", "no", "false", "n"):
        return False
    return None


def scan(layout: Layout, sheet: Path, frames_root: Path, *, classes: dict, on_problem: str = "skip") -> Scan:
    """Check every row of ``sheet`` against the folders under ``frames_root``; decode no image.

    ``classes`` maps the canonical emotion names a task keeps to its class names
    (``{"happiness": "positive", ...}``); rows of other emotions are left out, noted.
    """
    if on_problem not in ("skip", "error"):
        raise ValueError(f"on_problem must be 'skip' or 'error'; got {on_problem!r}")
    sheet, frames_root = Path(sheet), Path(frames_root)
    table, sheet_rows = read_sheet(sheet, layout.columns)
    out = Scan(sheet=sheet, rows=[])
    unknown_aus: dict[str, list] = {}
    outside: dict[str, int] = {}

    def problem(message):
        if on_problem == "error":
            raise DataFormatError(message)
        out.notes.append(f"skipped {message}")
        out.skipped += 1

    for k, rec in enumerate(table.to_dict("records")):
        row = sheet_rows[k]
        where = f"{sheet.name} row {row} ({rec.get('clip')!s})"
        try:
            subject = _subject_cell(rec["subject"], where)
            clip = str(rec["clip"]).strip()
            if _is_unknown(rec["clip"]):
                raise ValueError(f"{where}: the clip cell is empty; expected a folder name such as EP02_01f")
            onset, apex, offset = (_frame_cell(rec[r], r, where) for r in ("onset", "apex", "offset"))
            word = _norm(rec["emotion"])
            if word not in layout.emotions:
                raise ValueError(f"{where}: unknown emotion {rec['emotion']!r}; {layout.name} uses "
                                 f"{', '.join(sorted(set(layout.emotions)))}")
        except ValueError as exc:
            problem(str(exc))
            continue
        emotion = layout.emotions[word]
        if emotion not in classes:
            outside[emotion] = outside.get(emotion, 0) + 1
            continue
        folder = frames_root / layout.subject_folder(subject) / clip
        if not folder.is_dir():
            problem(f"{where}: its frame folder {folder} does not exist")
            continue
        numbers, files = frame_files(folder)
        if len(numbers) < 2:
            problem(f"{where}: its frame folder {folder} holds {len(numbers)} numbered frame(s); a clip needs two or more")
            continue
        if onset is None:
            problem(f"{where}: the onset frame is unknown ({rec['onset']!r}); a clip cannot be placed without it")
            continue
        if offset is None or offset == 0:
            out.notes.append(f"{where}: offset {rec['offset']!r} (unknown): the folder's last frame, "
                             f"{numbers[-1]}, taken as the offset")
            offset = int(numbers[-1])
        if apex is None:
            apex = (onset + offset) // 2
            out.notes.append(f"{where}: apex {rec['apex']!r} (unknown): the middle frame {apex} taken as the apex")
        if not onset <= apex <= offset:
            problem(f"{where}: onset {onset}, apex {apex}, offset {offset} are out of order")
            continue
        missing = [f for f in (onset, offset) if f not in numbers]
        if missing:
            problem(f"{where}: frame(s) {', '.join(map(str, missing))} missing from {folder} "
                    f"(it holds frames {numbers[0]}..{numbers[-1]}, {len(numbers)} files)")
            continue
        inside = int(np.sum((numbers >= onset) & (numbers <= offset)))
        if inside < offset - onset + 1:
            out.notes.append(f"{where}: {offset - onset + 1 - inside} frame(s) missing inside {onset}..{offset}; "
                             "their neighbours are blended in their place")
        aus, unknown, unreadable = parse_au_codes(rec["aus"])
        for code in unknown:
            unknown_aus.setdefault(code, []).append(row)
        if unreadable:
            out.notes.append(f"{where}: AU cell {rec['aus']!r}: {', '.join(map(repr, unreadable))} not read "
                             "(not an AU code)")
        if layout.all_micro:
            micro = True
        else:
            micro = _micro_cell(rec.get("micro"))
            if micro is None:
                micro = (offset - onset) / layout.fps < MICRO_MAX_SECONDS
        out.rows.append(ClipRow(row=row, subject=subject, clip=f"{layout.subject_folder(subject)}/{clip}",
                                folder=folder, onset=onset, apex=apex, offset=offset, emotion=classes[emotion],
                                aus=aus, micro=bool(micro), frame_numbers=numbers, frame_files=files))
    for code, rows in sorted(unknown_aus.items(), key=lambda kv: int(kv[0][2:])):
        shown = ", ".join(map(str, rows[:8])) + (f" and {len(rows) - 8} more" if len(rows) > 8 else "")
        out.notes.append(f"{code} is not among the course's AUs ({', '.join(map(str, facs.AUS))}): left out of "
                         f"the AU vector in {len(rows)} row(s): {shown}")
    for emotion, count in sorted(outside.items()):
        out.notes.append(f"{count} row(s) of {emotion!r} left out: not one of the task's classes")
    return out


# --------------------------------------------------------------------------- loading
def _gray(path: Path) -> np.ndarray:
    from ..images import load_image, to_gray

    return to_gray(load_image(path), name=str(path))


def _clip_box(row: ClipRow, gray: Callable[[int], np.ndarray]):
    """The face box of a clip: from its onset frame, else its apex frame; None when neither has a face.

    ``gray(j)`` decodes the clip's ``j``-th file; the apex frame is decoded only when the onset
    frame shows no face.
    """
    from ..faces import detect_faces

    for number in dict.fromkeys((row.onset, row.apex)):
        image = gray(int(np.searchsorted(row.frame_numbers, number)))
        boxes = detect_faces(image, min_size=max(24, min(image.shape) // 5))
        if len(boxes):
            return boxes[0]
    return None


def load(layout: Layout, found: Scan, *, class_names, length: int, size: int = 48, crop: bool = True,
         context: float = 0.0, on_problem: str = "skip", source: str = "") -> SequenceData:
    """Decode the clips of a :class:`Scan` into a :class:`SequenceData` of ``length`` frames each.

    Each clip runs from ``context`` seconds before its onset to as long after its offset (as far
    as the folder has frames), brought to ``length`` frames evenly spread over that span, new
    frames blended from their two neighbours (:func:`fercourse.datasets.sequences.interpolate`).
    With ``crop``, one face box is found in the onset frame (the course's cascade,
    :func:`fercourse.faces.detect_faces`) and every frame is cut with it
    (:func:`fercourse.faces.crop_faces`), so the crop does not jitter from frame to frame;
    without, whole frames are resized (frames that are faces already, such as CASME II's
    ``Cropped`` set).
    """
    import cv2

    from ..faces import crop_faces

    if int(length) != length or length < 2:
        raise ValueError(f"length must be an integer >= 2 (frames per clip); got {length!r}")
    if context < 0:
        raise ValueError(f"context must be >= 0 seconds; got {context!r}")
    notes = list(found.notes)
    pad = int(round(context * layout.fps))
    frames, kept = [], []
    spans = []
    for row in found.rows:
        nums = row.frame_numbers
        start, stop = max(row.onset - pad, int(nums[0])), min(row.offset + pad, int(nums[-1]))
        targets = np.linspace(start, stop, length)
        hi = np.clip(np.searchsorted(nums, targets, side="left"), 0, len(nums) - 1)
        lo = np.clip(np.where(nums[hi] > targets, hi - 1, hi), 0, len(nums) - 1)
        span = np.maximum(nums[hi] - nums[lo], 1)
        w = np.where(hi == lo, 0.0, (targets - nums[lo]) / span)
        decoded: dict[int, np.ndarray] = {}
        faces: dict[int, np.ndarray] = {}

        def gray(j):  # a frame decoded for the face box is kept for the clip: no file is read twice
            if j not in decoded:
                decoded[j] = _gray(row.frame_files[j])
            return decoded[j]

        def face(j):
            if j not in faces:
                image = decoded.pop(j) if j in decoded else _gray(row.frame_files[j])
                faces[j] = (crop_faces(image, [box], size=size)[0] if crop else
                            cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)).astype(np.float32)
            return faces[j]

        try:
            box = _clip_box(row, gray) if crop else None
            if crop and box is None:
                raise ValueError(f"{found.sheet.name} {row.label}: no face found in its onset or apex frame")
            clip = np.stack([(1 - wk) * face(int(a)) + wk * face(int(b)) for a, b, wk in zip(lo, hi, w)])
        except (ValueError, OSError) as exc:
            message = str(exc) if found.sheet.name in str(exc) else f"{found.sheet.name} {row.label}: {exc}"
            if on_problem == "error":
                raise DataFormatError(message) from None
            notes.append(f"skipped {message}")
            continue
        frames.append(np.clip(np.rint(clip), 0, 255).astype(np.uint8))
        kept.append(row)
        spans.append((start, stop))
    if not kept:
        raise DataMissingError(f"{found.sheet}: no clip could be read ({len(found.rows)} row(s) of the task's "
                               f"classes, {found.skipped} skipped). Notes:\n  " + "\n  ".join(notes[-10:]))
    start, stop = np.array(spans).T

    def grid(frame_number):
        return interval_index(frame_number, start, stop, length)

    return SequenceData(
        frames=np.stack(frames), aus=np.stack([r.aus for r in kept]),
        emotion=np.array([list(class_names).index(r.emotion) for r in kept], np.int64),
        onset=grid([r.onset for r in kept]), apex=grid([r.apex for r in kept]), offset=grid([r.offset for r in kept]),
        micro=np.array([r.micro for r in kept]), subjects=np.array([r.subject for r in kept], np.int64),
        fps=layout.fps * (length - 1) / np.maximum(stop - start, 1), class_names=tuple(class_names),
        name=layout.name, clips=np.array([r.clip for r in kept]), source=source, notes=tuple(notes))
