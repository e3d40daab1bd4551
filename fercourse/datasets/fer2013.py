"""FER2013 (Goodfellow et al., 2013): 35,887 faces of 48x48 pixels in seven classes.

Kaggle hands it out in two forms, and both are read:

* the challenge's ``fer2013.csv`` with columns ``emotion,pixels,Usage`` (one row per face,
  2,304 space-separated pixel values);
* the image-folder archive (``train/<class>/*.jpg`` and ``test/<class>/*.jpg``), read straight
  from the ``.zip`` or unpacked; the split comes from the file-name prefixes ``Training_``,
  ``PublicTest_`` and ``PrivateTest_``.

The CSV may be gzip-compressed (whatever its name) and may start with a UTF-8 byte-order mark.
A damaged file is an error naming it and the row or archive member.  Decoded arrays are cached
(see :mod:`fercourse.datasets.cache`), so only the first load pays for decoding.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
import shutil
import tarfile
import zlib
from pathlib import Path

import numpy as np

from .. import atomic, config
from ..labels import EMOTIONS, EMOTIONS_MERGED, SPLITS, merge_disgust as _merge
from . import cache
from .errors import DataFormatError, DataMissingError
from .facedata import FaceData
from .imagefiles import REDOWNLOAD, decode_gray, iter_image_entries

SIZE = (48, 48)
N_PIXELS = SIZE[0] * SIZE[1]
CSV_COLUMNS = ("emotion", "pixels", "Usage")
ARRAYS = ("images", "labels", "splits")  # what a decoded copy (and so its cache) holds
GZIP_MAGIC = b"\x1f\x8b"
_WHOLE_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: '²'.isdigit() is True, int('²') fails

# The names a downloaded copy may have in the data home, in the order they are looked for.
CANDIDATE_NAMES = ("fer2013.zip", "fer2013.csv", "fer2013/fer2013.csv", "fer2013")

# Known archives: sha256 -> description.  A copy with another checksum is still accepted
# when its contents check out (the pixels of public copies differ slightly).
KNOWN_SHA256 = {
    "a6b4177f67c8294279d8a4ace0180cb3ccd55627a6e09086e63b7dd228f567c8":
        "Kaggle image-folder archive (train/ and test/, 35,887 JPEGs)",
}

EXPECTED_SPLIT_COUNTS = {"Training": 28709, "PublicTest": 3589, "PrivateTest": 3589}
EXPECTED_CLASS_COUNTS = dict(zip(EMOTIONS, (4953, 547, 5121, 8989, 6077, 4002, 6198)))

HOW_TO_GET = """\
FER2013 is not in the data home ({home}).
It cannot be redistributed, so the course cannot ship it; get it from Kaggle (free account):

  * the image-folder archive: https://www.kaggle.com/datasets/msambare/fer2013
    (download gives 'archive.zip', 60 MB), or
  * the challenge CSV: https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge/data
    ('fer2013.tar.gz', containing fer2013/fer2013.csv, 290 MB)

then put it in place and check it with

  fercourse data fetch fer2013 --from ~/Downloads/archive.zip

(or copy it yourself to {home}/fer2013.zip or {home}/fer2013.csv).  To keep data elsewhere,
set FERCOURSE_DATA to that folder.  Until then every chapter runs on the built-in synthetic faces."""


def fer2013_path(data_home: str | os.PathLike | None = None) -> Path | None:
    """Where FER2013 is in the data home, or None when it is not there."""
    home = Path(data_home) if data_home is not None else config.data_home()
    for name in CANDIDATE_NAMES:
        p = home / name
        if p.is_file() or (p.is_dir() and any(p.iterdir())):
            return p
    return None


def load_fer2013(
    path: str | os.PathLike | None = None,
    *,
    merge_disgust: bool = False,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> FaceData:
    """Load FER2013 as NumPy arrays.

    Parameters
    ----------
    path : a ``fer2013.csv``, the image-folder ``.zip``, or the unpacked folder.  Default:
        looked up in the data home (:func:`fer2013_path`).
    merge_disgust : fold *disgust* into *angry*, giving mememoji's six classes.
    cache_dir : where decoded arrays are cached (default :func:`fercourse.config.cache_home`).
    use_cache : read and write the cache (False decodes every time).

    Returns
    -------
    FaceData with images (35887, 48, 48) uint8, labels in :data:`fercourse.labels.EMOTIONS`
    order (or :data:`~fercourse.labels.EMOTIONS_MERGED`), and splits ``Training`` /
    ``PublicTest`` / ``PrivateTest``.
    """
    if path is None:
        path = fer2013_path()
        if path is None:
            raise DataMissingError(HOW_TO_GET.format(home=config.data_home()))
    path = Path(path).expanduser()
    if not path.exists():
        raise DataMissingError(f"{path}: no such file or folder.\n\n" + HOW_TO_GET.format(home=config.data_home()))

    arrays = None
    if use_cache:
        cpath = cache.cache_path("fer2013", path, cache_dir)
        arrays = cache.load(cpath, names=ARRAYS)
    if arrays is None:
        arrays = _read(path)
        if use_cache:
            cache.save(cpath, arrays)
    return _face_data(arrays, path, merge_disgust)


def _read(path: Path, shown=None) -> dict[str, np.ndarray]:
    """Decode a CSV, zip or folder; ``shown`` is the name errors give (default ``path``)."""
    return _read_csv(path, shown) if _is_csv_name(path) else _read_image_folder(path)


def _face_data(arrays, source, merge_disgust: bool = False) -> FaceData:
    labels = arrays["labels"].astype(np.int64)
    class_names = EMOTIONS
    if merge_disgust:
        labels, class_names = _merge(labels), EMOTIONS_MERGED
    return FaceData(
        images=arrays["images"],
        labels=labels,
        splits=arrays["splits"].astype(str),
        class_names=class_names,
        name="fer2013",
        source=str(source),
    )


def _open_bytes(path: Path):
    """The file's bytes, uncompressed when it is gzip-compressed (known by its first bytes,
    whatever its name)."""
    with open(path, "rb") as f:
        compressed = f.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def _read_csv(path: Path, shown=None) -> dict[str, np.ndarray]:
    """Parse the challenge CSV, checking every row; errors name the file (``shown``) and the row.

    The file may be gzip-compressed and may begin with a UTF-8 byte-order mark (as Excel and
    Notepad save it).
    """
    shown = path if shown is None else shown
    with io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        try:
            return _parse_rows(reader, shown)
        except UnicodeDecodeError:
            line, byte = _first_bad_utf8(path)
            raise DataFormatError(
                f"{shown}, row {line}: not UTF-8 text (byte 0x{byte:02x}); "
                "expected the challenge's fer2013.csv, plain or gzip-compressed"
            ) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataFormatError(
                f"{shown}: a damaged gzip-compressed file, cut or garbled after line {reader.line_num} "
                f"({exc}); {REDOWNLOAD}"
            ) from None
        except csv.Error as exc:
            raise DataFormatError(f"{shown}, row {reader.line_num}: {exc}; expected the challenge's fer2013.csv") from None


def _first_bad_utf8(path: Path) -> tuple[int, int]:
    """The line and value of the first byte that is not UTF-8 (found again from the start:
    the text reader decodes ahead of the row it hands out)."""
    decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
    with _open_bytes(path) as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + exc.object.count(b"\n", 0, exc.start), exc.object[exc.start]
            line += chunk.count(b"\n")
    return line, 0


def _parse_rows(reader, path) -> dict[str, np.ndarray]:
    header = next(reader, None)
    if header is None:
        raise DataFormatError(f"{path}: the file is empty; expected a header {','.join(CSV_COLUMNS)}")
    header = [h.strip() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise DataFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; the header is {','.join(header)!r}, "
            f"expected the columns {','.join(CSV_COLUMNS)}"
        )
    col = {c: header.index(c) for c in CSV_COLUMNS}
    images, labels, splits = [], [], []
    for row in reader:
        if not row:
            continue
        where = f"{path}, row {reader.line_num}"
        if len(row) < len(header):
            raise DataFormatError(f"{where}: {len(row)} fields; expected {len(header)} ({','.join(header)})")
        emotion = row[col["emotion"]].strip()
        if not _WHOLE_NUMBER.fullmatch(emotion) or int(emotion) >= len(EMOTIONS):
            raise DataFormatError(
                f"{where}: unknown emotion code {emotion!r}; expected 0..{len(EMOTIONS) - 1} "
                f"({', '.join(f'{i}={e}' for i, e in enumerate(EMOTIONS))})"
            )
        usage = row[col["Usage"]].strip()
        if usage not in SPLITS:
            raise DataFormatError(f"{where}: unknown Usage {usage!r}; expected one of {', '.join(SPLITS)}")
        values = row[col["pixels"]].split()
        if len(values) != N_PIXELS:
            raise DataFormatError(
                f"{where}: {len(values)} pixel values; expected {N_PIXELS} (a 48x48 image)"
            )
        try:
            pixels = np.array(values, dtype=np.int32)
        except (ValueError, OverflowError):
            bad = next((v for v in values if not _WHOLE_NUMBER.fullmatch(v.lstrip("-"))), None)
            raise DataFormatError(f"{where}: non-numeric pixel value {bad!r}; expected integers 0..255"
                                  if bad is not None else f"{where}: a pixel value is out of range; "
                                  "expected integers 0..255") from None
        if pixels.min() < 0 or pixels.max() > 255:
            raise DataFormatError(f"{where}: pixel values must lie in 0..255; found {pixels.min()}..{pixels.max()}")
        images.append(pixels.astype(np.uint8).reshape(SIZE))
        labels.append(int(emotion))
        splits.append(usage)
    if not images:
        raise DataFormatError(f"{path}: the header is there but no data rows follow")
    return {"images": np.stack(images), "labels": np.array(labels, np.int64), "splits": np.array(splits)}


def _read_image_folder(path: Path) -> dict[str, np.ndarray]:
    """Read ``<split folder>/<class>/<Prefix>_<id>.jpg`` entries from a zip or a folder."""
    images, labels, splits = [], [], []
    for rel, read in iter_image_entries(path):
        where = f"{path}: {rel}"
        if len(rel.parts) < 2:
            raise DataFormatError(f"{where}: image outside a class folder; expected <train|test>/<class>/<file>")
        cls = rel.parts[-2].lower()
        if cls not in EMOTIONS:
            raise DataFormatError(f"{where}: unknown class folder {rel.parts[-2]!r}; expected one of {', '.join(EMOTIONS)}")
        prefix = rel.name.split("_", 1)[0]
        if prefix not in SPLITS:
            raise DataFormatError(
                f"{where}: the file name does not say its split; expected a name starting with "
                f"{', '.join(s + '_' for s in SPLITS)}"
            )
        images.append(decode_gray(read(), where, SIZE))
        labels.append(EMOTIONS.index(cls))
        splits.append(prefix)
    if not images:
        raise DataFormatError(f"{path}: no images found; expected train/<class>/*.jpg and test/<class>/*.jpg")
    order = np.lexsort((np.arange(len(splits)), [SPLITS.index(s) for s in splits]))
    return {
        "images": np.stack(images)[order],
        "labels": np.array(labels, np.int64)[order],
        "splits": np.array(splits)[order],
    }


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def check_counts(data: FaceData) -> list[str]:
    """How ``data`` differs from FER2013's published split and class sizes (empty: it matches)."""
    problems = []
    for split, expected in EXPECTED_SPLIT_COUNTS.items():
        got = int(np.sum(data.splits == split))
        if got != expected:
            problems.append(f"{split}: {got:,} images, expected {expected:,}")
    if data.class_names == EMOTIONS:
        bins = np.bincount(data.labels, minlength=len(EMOTIONS))
        for cls, expected in EXPECTED_CLASS_COUNTS.items():
            if bins[EMOTIONS.index(cls)] != expected:
                problems.append(f"{cls}: {bins[EMOTIONS.index(cls)]:,} images, expected {expected:,}")
    return problems


def _extract_csv(source: Path, out: Path) -> str:
    """Copy the challenge's ``fer2013.csv`` out of the tar archive ``source`` into ``out``;
    returns the member's name.  A damaged archive is an error naming ``source``."""
    try:
        with tarfile.open(source) as tar:
            # Read in order, stopping at the CSV: a .tar.gz cannot seek back without
            # decompressing it again from the start.  '._*' are macOS's resource forks.
            for member in tar:
                name = member.name.rsplit("/", 1)[-1]
                if member.isfile() and name.endswith("fer2013.csv") and not name.startswith("._"):
                    with tar.extractfile(member) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    return member.name
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataFormatError(f"{source}: a damaged tar archive ({exc}); {REDOWNLOAD}") from None
    raise DataFormatError(f"{source}: this archive holds no fer2013.csv; expected the challenge's fer2013.tar.gz")


class _AlreadyInPlace(Exception):
    """Raised inside a write to abandon it: the data home already holds this very file."""


def _is_csv_name(path: Path) -> bool:
    return path.name.lower().endswith((".csv", ".csv.gz"))


def _check_complete(path: Path, shown) -> None:
    """Decode every image or row of ``path`` and compare the sizes with FER2013's."""
    problems = check_counts(_face_data(_read(path, shown), shown))
    if problems:
        raise DataFormatError(f"{shown}: this is not the complete FER2013: " + "; ".join(problems))


def fetch_fer2013(source: str | os.PathLike | None = None, *, data_home=None, force: bool = False) -> Path:
    """Put a downloaded FER2013 file into the data home, after checking it.

    ``source`` is the Kaggle download: the image-folder archive (any name, e.g.
    ``archive.zip``), the challenge's ``fer2013.csv`` (plain or gzip-compressed), or the
    challenge's ``fer2013.tar.gz`` (its CSV is taken out).  The file is read in full first
    (every image or row decoded, the split and class sizes compared with FER2013's); errors
    name ``source`` and the row or member.  Only then is it in place, written under a
    temporary name beside the target and renamed (:mod:`fercourse.atomic`), so a failure
    leaves the data home as it was and no temporary file anywhere.  With no ``source``,
    raises :class:`DataMissingError` whose message says what to download and where to put it.
    """
    home = Path(data_home) if data_home is not None else config.data_home(create=True)
    if source is None:
        raise DataMissingError(HOW_TO_GET.format(home=home))
    source = Path(source).expanduser()
    if not source.exists():
        raise DataMissingError(f"{source}: no such file.\n\n" + HOW_TO_GET.format(home=home))
    if source.is_dir():
        raise DataFormatError(f"{source}: is a folder; give the downloaded .zip, .csv or .tar.gz file")
    try:
        is_tar = not _is_csv_name(source) and tarfile.is_tarfile(source)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # compressed, and cut short or garbled
        raise DataFormatError(f"{source}: a damaged tar archive ({exc}); {REDOWNLOAD}") from None
    if not is_tar and source.name.lower().endswith((".tar", ".tar.gz", ".tgz")):
        raise DataFormatError(f"{source}: a damaged tar archive (it cannot be opened as one); {REDOWNLOAD}")
    suffix = ".csv" if is_tar or _is_csv_name(source) else ".zip"
    target = home / f"fer2013{suffix}"
    home.mkdir(parents=True, exist_ok=True)
    if not is_tar and target.exists() and not force:
        if target.resolve() == source.resolve() or sha256(target) == sha256(source):
            return target
        raise FileExistsError(f"{target} already exists and differs from {source}; pass force=True (--force) to replace it")
    try:
        with atomic.replacing(target) as tmp:
            if is_tar:
                # The CSV goes straight to its temporary name in the data home; errors name the
                # user's archive and the member, never the temporary file.
                member = _extract_csv(source, tmp)
                if target.exists() and not force:
                    if sha256(tmp) == sha256(target):
                        raise _AlreadyInPlace
                    raise FileExistsError(f"{target} already exists and differs from the {member} in {source}; "
                                          "pass force=True (--force) to replace it")
                _check_complete(tmp, f"{source} (member {member})")
            else:
                _check_complete(source, source)
                shutil.copyfile(source, tmp)
    except _AlreadyInPlace:
        pass
    return target
