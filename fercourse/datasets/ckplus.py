"""CK+ (Lucey et al., 2010): posed expressions filmed in a lab, from neutral to peak, FACS-coded.

Users get CK+ in one of two forms, and both are read:

* **the official distribution**, as its zips or unpacked (``extended-cohn-kanade-images.zip``
  or ``cohn-kanade-images.zip``, ``Emotion_labels.zip``, ``FACS_labels.zip``, ``Landmarks.zip``):

  - ``cohn-kanade-images/S005/001/S005_001_00000001.png``: 593 sequences of 123 subjects, each
    from a neutral face to the peak of one expression (640x490 or 640x480, a few in colour);
  - ``Emotion/S005/001/S005_001_00000011_emotion.txt``: one number, the sequence's emotion
    (``   3.0000000e+00``; 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy,
    6 sadness, 7 surprise), for the 327 sequences that fit a prototype;
  - ``FACS/S005/001/S005_001_00000011_facs.txt``: the peak frame's action units, one line
    ``AU intensity`` each (``   1.0000000e+00   2.0000000e+00``; intensity 0 where only
    presence was coded), for all 593 sequences.

  The last ``peak_frames`` frames of each sequence are its peak (3, as CK+48 takes them), and
  the first frame optionally its neutral face; every frame is cropped with the course's own
  crop (:func:`fercourse.faces.crop_face` with chapter 2's tuned Haar parameters).
* **CK+48**, the common redistribution: class folders of 48x48 crops of the last three frames
  of the 327 labelled sequences (read by :func:`~fercourse.datasets.load_image_folder`).

Labels use the course's class order (:data:`fercourse.labels.EMOTIONS_WITH_CONTEMPT`):
FER2013's seven classes, then contempt as class 7, which FER2013 lacks (18 CK+ sequences);
:func:`without_contempt` keeps the faces of FER2013's classes.  Decoded, cropped arrays are
cached (:mod:`fercourse.datasets.cache`), so only the first load pays for the face detection.

:func:`fercourse.datasets.make_posed_faces` (:mod:`fercourse.datasets.posed`) is the built-in
stand-in when CK+ is absent: synthetic faces that are frontal, evenly lit, at high intensity,
from few subjects, in CK+'s structure.

Why one module of about 700 lines, above the package's ~400: it is one dataset, read and put
in place.  Finding CK+'s trees in zips or folders, parsing its label files, loading and
fetching share the private tree and scan helpers -- :func:`fetch_ckplus` checks a download with
the very scan :func:`load_ckplus` reads it with -- so split, one format would be described in two
places.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shutil
import warnings
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .. import atomic, config, facs
from ..labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT
from . import cache
from .errors import DataFormatError, DataMissingError
from .facedata import FaceData
from .folders import CLASS_ALIASES, load_image_folder
from .imagefiles import IMAGE_SUFFIXES, decode_gray, iter_image_entries, read_member

__all__ = ["load_ckplus", "fetch_ckplus", "ckplus_path", "without_contempt",
           "CKPlusReport", "CKPLUS_EMOTIONS", "EMOTION_CODES", "UNLABELLED", "HOW_TO_GET"]

CKPLUS_EMOTIONS = ("neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")
"""CK+'s emotion codes 0..7, in CK+'s words (its README)."""

EMOTION_CODES = tuple(CLASS_ALIASES[name] for name in CKPLUS_EMOTIONS)
"""The course's class name of each CK+ emotion code 0..7 (anger -> angry, sadness -> sad)."""

UNLABELLED = -1
"""The label of the faces of a sequence without an emotion file (``all_sequences=True`` only)."""

TREES = {"images": "cohn-kanade-images", "emotion": "Emotion", "facs": "FACS"}
"""CK+'s folders, by what they hold (the landmarks are not read)."""

ZIP_NAMES = {
    "images": ("extended-cohn-kanade-images.zip", "cohn-kanade-images.zip"),
    "emotion": ("Emotion_labels.zip",),
    "facs": ("FACS_labels.zip",),
}
_ZIP_KIND = {name.lower(): kind for kind, names in ZIP_NAMES.items() for name in names}
"""The tree each of CK+'s zips holds, by the zip's name in lower case."""

OTHER_PARTS = ("Landmarks", "Landmarks.zip")
"""Parts of the distribution placed alongside by :func:`fetch_ckplus`, though not read."""

# The names CK+ may have in the data home, in the order they are looked for.
CANDIDATE_NAMES = ("CK+", "ckplus", "ck+", "CK+48", "CK+48.zip")

PUBLISHED = {"sequences": 593, "subjects": 123, "emotion labels": 327, "FACS files": 593}
"""CK+'s own counts (the distribution's README and Lucey et al., 2010)."""

_IMAGE_STEM = re.compile(r"^(S\d+)_(\d+)_(\d+)$")
_LABEL_SUFFIX = {"emotion": "_emotion.txt", "facs": "_facs.txt"}
_N_AU = len(facs.AUS)
# CK+ codes intensity as 1..5 (FACS grades A..E), 0 where only presence was coded.
_GRADE = np.array([np.nan] + [facs.FACS_GRADES[g] for g in "ABCDE"], np.float32)
_ARRAYS = ("images", "labels", "subjects", "sequences", "frames", "neutral", "au_present", "aus")

HOW_TO_GET = """\
CK+ is not in the data home ({home}).
It cannot be redistributed; request it from its authors, who ask you to accept their licence
(Jeffrey Cohn's laboratory: www.jeffcohn.net, Resources, "CK+").  You receive four zips:

  extended-cohn-kanade-images.zip  (cohn-kanade-images/S005/001/S005_001_00000001.png ...)
  Emotion_labels.zip               (Emotion/S005/001/S005_001_00000011_emotion.txt ...)
  FACS_labels.zip                  (FACS/S005/001/S005_001_00000011_facs.txt ...)
  Landmarks.zip                    (not needed by the course)

Check them and put them in place with

  fercourse data fetch ck+ --from ~/Downloads        (the folder holding the zips)

or copy the zips (or their unpacked folders) yourself to {home}/CK+/.  The common 48x48
redistribution CK+48 (class folders anger/, contempt/, ... of PNGs) works too:
`fercourse data fetch ck+ --from CK+48` puts it at {home}/CK+48/.  To keep data elsewhere,
set FERCOURSE_DATA to that folder.  Until then chapter 6 uses a synthetic stand-in for CK+."""


# --------------------------------------------------------------------------- the report
@dataclass
class CKPlusReport:
    """What :func:`load_ckplus` read, and what it could not use.

    Attributes
    ----------
    source, layout : where CK+ came from, and in which form (``official`` or ``ck+48``).
    sequences, subjects : image sequences and subjects found.
    emotion_labels, facs_files : sequences with an emotion file, with a FACS file.
    frames : frames read (peak frames and, when asked, neutral first frames).
    no_face : frames in which the face detector found no face (left out of the data).
    lost_sequences : sequences none of whose chosen frames had a face.
    other_aus : AU codes of the FACS files outside the course's :data:`fercourse.facs.AUS`
        (dropped), with how many sequences carry each.
    """

    source: str
    layout: str
    sequences: int = 0
    subjects: int = 0
    emotion_labels: int = 0
    facs_files: int = 0
    frames: int = 0
    no_face: list = field(default_factory=list)
    lost_sequences: list = field(default_factory=list)
    other_aus: dict = field(default_factory=dict)

    def differences(self) -> list[str]:
        """How the counts differ from the complete official CK+ (:data:`PUBLISHED`); empty if none."""
        if self.layout != "official":
            return []
        got = {"sequences": self.sequences, "subjects": self.subjects,
               "emotion labels": self.emotion_labels, "FACS files": self.facs_files}
        return [f"{k}: {got[k]}, expected {v}" for k, v in PUBLISHED.items() if got[k] != v]

    def __str__(self) -> str:
        lines = [f"CK+ ({self.layout}) from {self.source}: {self.sequences} sequences of {self.subjects} "
                 f"subjects, {self.emotion_labels} with an emotion label"
                 + (f", {self.facs_files} with FACS codes" if self.layout == "official" else "")
                 + f"; {self.frames} frames read"]
        if self.no_face:
            shown = ", ".join(self.no_face[:5]) + (" ..." if len(self.no_face) > 5 else "")
            lines.append(f"  no face found in {len(self.no_face)} frame(s), left out: {shown}")
        if self.lost_sequences:
            shown = ", ".join(self.lost_sequences[:5]) + (" ..." if len(self.lost_sequences) > 5 else "")
            lines.append(f"  {len(self.lost_sequences)} sequence(s) lost all their frames: {shown}")
        if self.other_aus:
            codes = ", ".join(f"AU{au} ({n})" for au, n in sorted(self.other_aus.items()))
            lines.append(f"  AUs outside the course's {len(facs.AUS)}, dropped: {codes}")
        diff = self.differences()
        if diff:
            lines.append("  differs from the complete CK+: " + "; ".join(diff))
        return "\n".join(lines)


# --------------------------------------------------------------------------- where it is
def ckplus_path(data_home: str | os.PathLike | None = None) -> Path | None:
    """Where CK+ is in the data home (official form preferred over CK+48), or None."""
    home = Path(data_home) if data_home is not None else config.data_home()
    for name in CANDIDATE_NAMES:
        p = home / name
        if p.is_file() and zipfile.is_zipfile(p):
            return p
        if p.is_dir():
            try:
                _layout(p)
            except DataFormatError:
                continue
            return p
    return None


class _Tree:
    """One of CK+'s folder trees (images, Emotion or FACS), unpacked or inside a zip.

    ``files`` maps each file's path below the tree's folder (``S005/001/...``) to a function
    returning its bytes; ``where`` names the tree in messages.
    """

    def __init__(self, kind, where, files):
        self.kind, self.where, self.files = kind, where, files

    @classmethod
    def from_folder(cls, kind, folder: Path):
        files = {}
        for p in sorted(folder.rglob("*")):
            rel = PurePosixPath(p.relative_to(folder).as_posix())
            if p.is_file() and not _hidden(rel):
                files[rel] = p.read_bytes
        return cls(kind, str(folder), files)

    @classmethod
    def from_zip(cls, kind, zf: zipfile.ZipFile, archive: Path, prefix: tuple):
        files = {}
        for name in zf.namelist():
            parts = PurePosixPath(name).parts
            if name.endswith("/") or parts[:len(prefix)] != prefix or len(parts) == len(prefix):
                continue
            rel = PurePosixPath(*parts[len(prefix):])
            if not _hidden(rel):
                files[rel] = (lambda n=name: read_member(zf, n, archive))
        return cls(kind, f"{archive}: {'/'.join(prefix)}", dict(sorted(files.items())))


def _hidden(rel: PurePosixPath) -> bool:
    return any(part.startswith((".", "__MACOSX")) for part in rel.parts)


def _open_zip(path: Path, stack: contextlib.ExitStack) -> zipfile.ZipFile:
    try:
        return stack.enter_context(zipfile.ZipFile(path))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: a damaged zip archive ({exc}); download it again") from None


def _tree_prefix(names, folder: str):
    """The path inside a zip down to ``folder`` (``("cohn-kanade-images",)``...), or None."""
    for name in names:
        parts = PurePosixPath(name).parts
        if folder in parts[:-1] or (name.endswith("/") and folder in parts):
            return parts[:parts.index(folder) + 1]
    return None


def _zip_trees(path: Path, stack, known_name=None) -> dict[str, _Tree]:
    zf = _open_zip(path, stack)
    names = [n for n in zf.namelist() if not _hidden(PurePosixPath(n))]
    trees = {}
    for kind, folder in TREES.items():
        prefix = _tree_prefix(names, folder)
        if prefix is not None:
            trees[kind] = _Tree.from_zip(kind, zf, path, prefix)
    if known_name is not None and known_name not in trees:
        folder = TREES[known_name]
        raise DataFormatError(
            f"{path}: holds no {folder}/ folder; expected {folder}/<subject>/<sequence>/<files>, "
            f"as CK+'s {ZIP_NAMES[known_name][0]} holds them"
        )
    return trees


def _find_trees(path: Path, stack) -> dict[str, _Tree]:
    """CK+'s trees under a folder (unpacked, or as zips beside each other) or in one zip."""
    if path.is_file():
        return _zip_trees(path, stack)
    trees = {}
    for kind, folder in TREES.items():
        for candidate in (path / folder, *sorted(path.glob(f"*/{folder}"))):
            if candidate.is_dir():
                trees[kind] = _Tree.from_folder(kind, candidate)
                break
    for z in sorted(path.glob("*.zip")):
        if z.name.startswith("."):
            continue
        kind = _ZIP_KIND.get(z.name.lower())
        if kind is None and not zipfile.is_zipfile(z):
            continue
        found = _zip_trees(z, stack, known_name=kind)
        for k, tree in found.items():
            trees.setdefault(k, tree)  # an unpacked folder, read faster, wins over its zip
    return trees


def _layout(path: Path) -> str:
    """``official`` or ``ck+48``; a :class:`DataFormatError` when ``path`` is neither."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DataFormatError(f"{path}: expected a folder or a .zip of CK+")
        with contextlib.ExitStack() as stack:
            names = [n for n in _open_zip(path, stack).namelist() if not _hidden(PurePosixPath(n))]
        if any(_tree_prefix(names, folder) for folder in TREES.values()):
            return "official"
        images = [PurePosixPath(n) for n in names if PurePosixPath(n).suffix.lower() in IMAGE_SUFFIXES]
    elif path.is_dir():
        # CK+'s folders, or its zips, at the top or one level down; else class folders of images
        tops = [p for p in (*path.iterdir(), *path.glob("*/*")) if not p.name.startswith(".")]
        if any((p.is_dir() and p.name in TREES.values()) or p.name.lower() in _ZIP_KIND for p in tops):
            return "official"
        images = [PurePosixPath(p.relative_to(path).as_posix()) for p in path.glob("*/*")
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
        images += [PurePosixPath(p.relative_to(path).as_posix()) for p in path.glob("*/*/*")
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    else:
        raise FileNotFoundError(f"{path}: no such file or folder")
    if images and all(len(p.parts) >= 2 and p.parts[-2].lower() in CLASS_ALIASES for p in images):
        return "ck+48"
    raise DataFormatError(
        f"{path}: holds neither CK+'s folders ({', '.join(f + '/' for f in TREES.values())}, or their zips "
        f"{', '.join(z[0] for z in ZIP_NAMES.values())}) nor CK+48's class folders (anger/, contempt/, ...)"
    )


# --------------------------------------------------------------------------- parsing
def _numbers(text: str, where: str) -> list[float]:
    values = []
    for token in text.split():
        try:
            values.append(float(token))
        except ValueError:
            raise DataFormatError(f"{where}: {token!r} is not a number") from None
    return values


def _parse_emotion(data: bytes, where: str) -> int:
    """The course's label of an emotion file (one number, a CK+ code 0..7)."""
    values = _numbers(data.decode("utf-8", "replace"), where)
    codes = ", ".join(f"{i} {e}" for i, e in enumerate(CKPLUS_EMOTIONS))
    if len(values) != 1:
        found = "no number" if not values else f"{len(values)} numbers"
        raise DataFormatError(f"{where}: {found}; expected one emotion code 0..7 ({codes}), "
                              "written like '   3.0000000e+00'")
    code = values[0]
    if not (math.isfinite(code) and code == int(code) and 0 <= code <= 7):
        raise DataFormatError(f"{where}: emotion code {code:g} is outside 0..7 ({codes})")
    return EMOTIONS_WITH_CONTEMPT.index(EMOTION_CODES[int(code)])


def _parse_facs(data: bytes, where: str, other: Counter) -> tuple[np.ndarray, np.ndarray]:
    """Presence (int8) and intensity (float32, NaN where not graded) of the course's AUs."""
    present = np.zeros(_N_AU, np.int8)
    intensity = np.zeros(_N_AU, np.float32)
    for line_no, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        here = f"{where}, line {line_no}"
        try:
            values = _numbers(line, here)
        except DataFormatError:
            values = []
        if len(values) != 2:
            raise DataFormatError(f"{here}: {line.strip()!r} is not two numbers; expected 'AU intensity', "
                                  "e.g. '   1.0000000e+00   2.0000000e+00'")
        au, grade = values
        if not (math.isfinite(au) and au == int(au) and au >= 1):
            raise DataFormatError(f"{here}: AU {au:g} is not an action-unit number (a whole number from 1)")
        if not (math.isfinite(grade) and grade == int(grade) and 0 <= grade <= 5):
            raise DataFormatError(f"{here}: intensity {grade:g} of AU{int(au)} is outside 0..5 "
                                  "(0 not graded, 1..5 the FACS grades A..E)")
        if int(au) not in facs.AU_INDEX:
            other[int(au)] += 1
            continue
        j = facs.AU_INDEX[int(au)]
        present[j] = 1
        intensity[j] = _GRADE[int(grade)]
    return present, intensity


def _sequence_files(tree: _Tree) -> dict[tuple[str, str], list[tuple[int, PurePosixPath]]]:
    """Image frames of each sequence ``(subject, sequence)``, sorted by frame number."""
    out: dict = {}
    for rel in tree.files:
        if rel.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        m = _IMAGE_STEM.match(rel.stem)
        if len(rel.parts) != 3 or m is None or m.group(1) != rel.parts[0] or m.group(2) != rel.parts[1]:
            raise DataFormatError(
                f"{tree.where}/{rel}: expected {TREES['images']}/<subject>/<sequence>/"
                "<subject>_<sequence>_<frame>.png, e.g. S005/001/S005_001_00000001.png"
            )
        out.setdefault((rel.parts[0], rel.parts[1]), []).append((int(m.group(3)), rel))
    for frames in out.values():
        frames.sort()
    return dict(sorted(out.items()))


def _label_files(tree: _Tree, sequences) -> dict[tuple[str, str], tuple[PurePosixPath, int]]:
    """Each sequence's label file (emotion or FACS) and the frame it names."""
    suffix, out = _LABEL_SUFFIX[tree.kind], {}
    for rel in tree.files:
        if not rel.name.endswith(suffix):
            continue  # a README or similar beside the labels
        where = f"{tree.where}/{rel}"
        m = _IMAGE_STEM.match(rel.name[: -len(suffix)])
        if len(rel.parts) != 3 or m is None or m.group(1) != rel.parts[0] or m.group(2) != rel.parts[1]:
            raise DataFormatError(f"{where}: expected {TREES[tree.kind]}/<subject>/<sequence>/"
                                  f"<subject>_<sequence>_<frame>{suffix}, e.g. S005/001/S005_001_00000011{suffix}")
        key = (rel.parts[0], rel.parts[1])
        if key in out:
            raise DataFormatError(f"{where}: a second {tree.kind} file for sequence {'/'.join(key)} "
                                  f"(the first is {out[key][0].name})")
        if key not in sequences:
            raise DataFormatError(f"{where}: its image sequence {TREES['images']}/{key[0]}/{key[1]}/ is missing")
        frame = int(m.group(3))
        if frame not in {f for f, _ in sequences[key]}:
            have = [f for f, _ in sequences[key]]
            raise DataFormatError(f"{where}: names frame {frame}, which its image sequence "
                                  f"{'/'.join(key)} lacks (frames {have[0]}..{have[-1]})")
        out[key] = (rel, frame)
    return out


def _scan(path: Path, stack, report: CKPlusReport):
    """Read and check everything but the images; returns the trees and per-sequence records."""
    trees = _find_trees(path, stack)
    for kind in ("images", "emotion"):
        if kind not in trees:
            raise DataFormatError(
                f"{path}: no {TREES[kind]}/ folder found, unpacked or in a zip; expected "
                f"{TREES[kind]}/ or {ZIP_NAMES[kind][0]} there"
            )
    sequences = _sequence_files(trees["images"])
    if not sequences:
        raise DataFormatError(f"{trees['images'].where}: no image sequences found; expected "
                              "<subject>/<sequence>/<subject>_<sequence>_<frame>.png")
    emotion_files = _label_files(trees["emotion"], sequences)
    facs_files = _label_files(trees["facs"], sequences) if "facs" in trees else {}
    emotions = {key: _parse_emotion(trees["emotion"].files[rel](), f"{trees['emotion'].where}/{rel}")
                for key, (rel, _) in emotion_files.items()}
    other: Counter = Counter()
    codes = {key: _parse_facs(trees["facs"].files[rel](), f"{trees['facs'].where}/{rel}", other)
             for key, (rel, _) in facs_files.items()}
    report.sequences = len(sequences)
    report.subjects = len({s for s, _ in sequences})
    report.emotion_labels, report.facs_files = len(emotions), len(codes)
    report.other_aus = dict(sorted(other.items()))
    return trees, sequences, emotions, codes


# --------------------------------------------------------------------------- loading
def _check_args(peak_frames, size):
    if int(peak_frames) != peak_frames or peak_frames < 1:
        raise ValueError(f"peak_frames must be a whole number of at least 1; got {peak_frames!r}")
    if int(size) != size or size < 16:
        raise ValueError(f"size must be a whole number of pixels, at least 16; got {size!r}")


def load_ckplus(
    path: str | os.PathLike | None = None,
    *,
    peak_frames: int = 3,
    include_neutral: bool = False,
    size: int = 48,
    all_sequences: bool = False,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    return_report: bool = False,
):
    """Load CK+ as NumPy arrays: cropped faces, emotions, subjects, sequences and action units.

    Parameters
    ----------
    path : the official distribution (a folder holding ``cohn-kanade-images/``, ``Emotion/``
        and ``FACS/``, or their zips, or one zip holding them all) or CK+48 (a folder or zip
        of class folders).  Default: found in the data home (:func:`ckplus_path`).
    peak_frames : how many of each sequence's last frames count as its peak (CK+48 keeps 3).
    include_neutral : also take each sequence's first frame, labelled *neutral* (CK+'s
        sequences start from a neutral face); its action units are all absent.
    size : side of the square face crops.
    all_sequences : also keep the sequences without an emotion label (266 of CK+'s 593, all
        FACS-coded: for action-unit work); their faces get the label :data:`UNLABELLED` (-1),
        so select ``data.labels >= 0`` before counting classes.  Their neutral frames, when
        taken, are labelled neutral.
    cache_dir, use_cache : where decoded crops are cached, and whether to use the cache.
    return_report : also return the :class:`CKPlusReport` (counts, frames without a face,
        dropped AUs).  Frames without a face are left out and reported in a warning either way.

    Returns
    -------
    FaceData named ``ck+`` (``ck+48`` for that layout) with labels in
    :data:`fercourse.labels.EMOTIONS_WITH_CONTEMPT` order, ``splits`` all empty (CK+ has no
    official split: use subject-independent folds), ``subjects`` (``"S005"``...), and
    ``extras``:

    - ``sequences``: ``"S005_001"``..., one per face; ``frames``: the frame number;
      ``neutral``: True for a sequence's first frame taken as its neutral face;
    - (official layout only) ``au_present`` (N, len(facs.AUS)) int8: 1 where the FACS file
      codes the AU, 0 where it does not, -1 where the sequence has no FACS file; and
      ``aus`` (N, len(facs.AUS)) float32 intensities in the course's 0..1 scale (FACS grades
      A..E as :data:`fercourse.facs.FACS_GRADES`), 0 where absent, NaN where coded without a
      grade or not coded at all.  Columns follow :data:`fercourse.facs.AUS` (the 17 AUs of
      FaceBehaviorNet, then 43 and 45), as the synthetic faces' ``aus`` do; CK+'s other AUs
      are dropped and counted in the report.  The peak frames all carry the FACS codes of
      the sequence's last frame, as they all carry its emotion.
    """
    _check_args(peak_frames, size)
    if path is None:
        path = ckplus_path()
        if path is None:
            raise DataMissingError(HOW_TO_GET.format(home=config.data_home()))
    path = Path(path).expanduser()
    if not path.exists():
        raise DataMissingError(f"{path}: no such file or folder.\n\n" + HOW_TO_GET.format(home=config.data_home()))
    layout = _layout(path)

    arrays = None
    key = f"ckplus_{layout.replace('+', 'p')}_k{int(peak_frames)}_n{int(include_neutral)}_s{int(size)}" \
          f"_{'all' if all_sequences else 'labelled'}"
    if use_cache:
        cpath = cache.cache_path(key, path, cache_dir)
        arrays = cache.load(cpath, names=_ARRAYS[:6] + ("report",))
    if arrays is None:
        read = _read_official if layout == "official" else _read_ckplus48
        arrays = read(path, int(peak_frames), bool(include_neutral), int(size), bool(all_sequences))
        if use_cache:
            cache.save(cpath, arrays)
    report = CKPlusReport(**json.loads(str(arrays["report"])))
    report.other_aus = {int(k): v for k, v in report.other_aus.items()}
    if report.no_face:
        warnings.warn(str(report), stacklevel=2)
    data = _face_data(arrays, "ck+" if layout == "official" else "ck+48", str(path))
    return (data, report) if return_report else data


def _face_data(arrays, name, source) -> FaceData:
    """CK+'s arrays (read, cached, or the stand-in's) as the :class:`FaceData` every caller gets."""
    extras = {k: arrays[k] for k in ("sequences", "frames", "neutral", "au_present", "aus") if k in arrays}
    extras["sequences"] = extras["sequences"].astype(str)
    extras["neutral"] = extras["neutral"].astype(bool)
    return FaceData(
        images=arrays["images"],
        labels=arrays["labels"].astype(np.int64),
        splits=np.full(len(arrays["images"]), "", dtype="<U11"),
        class_names=EMOTIONS_WITH_CONTEMPT,
        name=name,
        source=source,
        subjects=arrays["subjects"].astype(str),
        extras=extras,
    )


def _chosen_frames(frames, peak_frames, include_neutral):
    """``[(frame, rel, is_neutral)]``: the last ``peak_frames`` frames, and the first one."""
    first = 1 if include_neutral and len(frames) > 1 else 0
    peaks = frames[max(first, len(frames) - peak_frames):]
    chosen = [(f, rel, False) for f, rel in peaks]
    if first:
        chosen.insert(0, (frames[0][0], frames[0][1], True))
    return chosen


def _read_official(path, peak_frames, include_neutral, size, all_sequences) -> dict[str, np.ndarray]:
    from .. import faces

    report = CKPlusReport(source=str(path), layout="official")
    with contextlib.ExitStack() as stack:
        trees, sequences, emotions, codes = _scan(path, stack, report)
        rows = []
        for key, frames in sequences.items():
            if key not in emotions and not all_sequences:
                continue
            label = emotions.get(key, UNLABELLED)
            present, intensity = codes.get(key, (np.full(_N_AU, -1, np.int8), np.full(_N_AU, np.nan, np.float32)))
            kept = 0
            for frame, rel, is_neutral in _chosen_frames(frames, peak_frames, include_neutral):
                where = f"{trees['images'].where}/{rel}"
                image = decode_gray(trees["images"].files[rel](), where)
                crop = faces.crop_face(image, size=size, **faces.TUNED_PARAMS)
                report.frames += 1
                if crop is None:
                    report.no_face.append(f"{TREES['images']}/{rel}")
                    continue
                kept += 1
                rows.append((crop, EMOTIONS.index("neutral") if is_neutral else label, key, frame, is_neutral,
                             np.zeros(_N_AU, np.int8) if is_neutral else present,
                             np.zeros(_N_AU, np.float32) if is_neutral else intensity))
            if not kept:
                report.lost_sequences.append("_".join(key))
    if not rows:
        raise DataFormatError(f"{path}: no face found in any frame read ({report.frames}); "
                              "expected photographs of frontal faces")
    return _arrays(rows, size, report)


def _arrays(rows, size, report) -> dict[str, np.ndarray]:
    crops, labels, keys, frames, neutral, present, intensity = zip(*rows)
    return {
        "images": np.stack(crops).astype(np.uint8).reshape(-1, size, size),
        "labels": np.array(labels, np.int64),
        "subjects": np.array([s for s, _ in keys]),
        "sequences": np.array([f"{s}_{q}" for s, q in keys]),
        "frames": np.array(frames, np.int64),
        "neutral": np.array(neutral, bool),
        "au_present": np.stack(present).astype(np.int8),
        "aus": np.stack(intensity).astype(np.float32),
        "report": np.array(json.dumps(asdict(report))),
    }


def _read_ckplus48(path, peak_frames, include_neutral, size, all_sequences) -> dict[str, np.ndarray]:
    import cv2

    if include_neutral:
        warnings.warn(f"{path}: CK+48 holds only peak frames; include_neutral needs the official "
                      "distribution, so no neutral faces are added", stacklevel=3)
    data = load_image_folder(path, name="ck+48")
    # load_image_folder reads the entries in this same sorted order: each face's file name.
    names = [rel.stem for rel, _ in iter_image_entries(path)]
    parsed = [_IMAGE_STEM.match(n) for n in names]
    if data.subjects is None or not all(parsed):
        bad = names[[m is None for m in parsed].index(True)] if not all(parsed) else names[0]
        raise DataFormatError(f"{path}: {bad}: CK+48 file names must carry subject, sequence and frame, "
                              "like S010_004_00000019.png; without them no subject-independent split is possible")
    keys = [(m.group(1), m.group(2)) for m in parsed]
    frames = np.array([int(m.group(3)) for m in parsed], np.int64)
    # faces in order of sequence and frame; the last peak_frames of each sequence are kept
    by_sequence = sorted(range(len(keys)), key=lambda i: (keys[i], frames[i]))
    order = [i for _, sequence in itertools.groupby(by_sequence, key=keys.__getitem__)
             for i in list(sequence)[-peak_frames:]]
    images = data.images[order]
    if size != images.shape[1]:
        images = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA if size < images.shape[1]
                                      else cv2.INTER_LINEAR) for im in images])
    report = CKPlusReport(source=str(path), layout="ck+48", sequences=len(set(keys)),
                          subjects=len({s for s, _ in keys}), emotion_labels=len(set(keys)), frames=len(order))
    return {
        "images": images,
        "labels": data.labels[order],
        "subjects": np.array([keys[i][0] for i in order]),
        "sequences": np.array(["_".join(keys[i]) for i in order]),
        "frames": frames[order],
        "neutral": np.zeros(len(order), bool),
        "report": np.array(json.dumps(asdict(report))),
    }


def without_contempt(data: FaceData) -> FaceData:
    """The faces of FER2013's seven classes, labelled in :data:`~fercourse.labels.EMOTIONS` order.

    FER2013 has no contempt; CK+ has 18 contempt sequences.  Dropping them gives CK+ (or its
    stand-in) the label space of FER2013 and of the course's networks (labels 0..6 keep their
    meaning: :data:`EMOTIONS_WITH_CONTEMPT` is :data:`EMOTIONS` plus contempt at the end).
    Unlabelled faces are dropped too.
    """
    if tuple(data.class_names) != EMOTIONS_WITH_CONTEMPT:
        raise ValueError(f"{data.name}: expected classes {EMOTIONS_WITH_CONTEMPT}; got {tuple(data.class_names)}")
    keep = (data.labels >= 0) & (data.labels < len(EMOTIONS))
    return data.select(keep).replace(class_names=EMOTIONS)


# --------------------------------------------------------------------------- putting it in place
def fetch_ckplus(source: str | os.PathLike | None = None, *, data_home=None, force: bool = False) -> Path:
    """Check a CK+ download and put it in the data home.

    ``source`` is the folder holding the official zips (or their unpacked folders), one zip
    holding all of them, or CK+48 (a folder or zip of class folders).  Every label and FACS
    file is parsed and checked against the images first (the faces are cropped later, by the
    first :func:`load_ckplus`); only then are the parts of CK+ copied -- the zips or folders
    named in :data:`TREES`, :data:`ZIP_NAMES` and :data:`OTHER_PARTS`, nothing else the
    source folder holds -- under a temporary name renamed into place.  The official form goes
    to ``<data home>/CK+/``, CK+48 to ``<data home>/CK+48/`` (or ``CK+48.zip``).

    With no ``source``, raises :class:`DataMissingError` saying what to request and where to
    put it.  Returns the placed path.
    """
    home = Path(data_home) if data_home is not None else config.data_home(create=True)
    if source is None:
        raise DataMissingError(HOW_TO_GET.format(home=home))
    source = Path(source).expanduser()
    if not source.exists():
        raise DataMissingError(f"{source}: no such file or folder.\n\n" + HOW_TO_GET.format(home=home))
    layout = _layout(source)
    if layout == "official":
        with contextlib.ExitStack() as stack:
            _scan(source, stack, CKPlusReport(source=str(source), layout=layout))
        target = home / "CK+"
        parts = [source] if source.is_file() else [
            p for p in sorted(source.iterdir())
            if p.name in TREES.values() or p.name in OTHER_PARTS
            or p.name.lower() in _ZIP_KIND]
        if not source.is_file() and not any(p.name in TREES.values() or p.suffix == ".zip" for p in parts):
            # CK+'s folders one level down (an unpacked copy inside its own folder)
            parts = [p for p in sorted(source.glob("*/*")) if p.name in TREES.values() or p.name in OTHER_PARTS]
    else:
        load_image_folder(source, name="ck+48")
        target = home / ("CK+48.zip" if source.is_file() else "CK+48")
        parts = None
    if target.exists() and not force:
        if target.resolve() == source.resolve():
            return target
        raise FileExistsError(f"{target} already exists; pass force=True (--force) to replace it with {source}")
    if parts is None:
        _copy(source, target)
    else:
        with atomic.replacing_dir(target) as tmp:
            for p in parts:
                _copy(p, tmp / p.name)
    return target


def _copy(src: Path, dst: Path) -> None:
    if src.is_dir():
        with atomic.replacing_dir(dst) as tmp:
            shutil.copytree(src, tmp, dirs_exist_ok=True)
    else:
        with atomic.replacing(dst) as tmp:
            shutil.copyfile(src, tmp)
