"""FER2013 (Goodfellow et al., 2013): 35,887 faces of 48x48 pixels in seven classes.

Kaggle hands it out in two forms, and both are read:

* the challenge's ``fer2013.csv`` with columns ``emotion,pixels,Usage`` (one row per face,
  2,304 space-separated pixel values);
* the image-folder archive (``train/<class>/*.jpg`` and ``test/<class>/*.jpg``), read straight
  from the ``.zip`` or unpacked; the split comes from the file-name prefixes ``Training_``,
  ``PublicTest_`` and ``PrivateTest_``.

Decoded arrays are cached (see :mod:`fercourse.datasets.cache`), so only the first load pays
for decoding.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from .. import config
from ..labels import EMOTIONS, EMOTIONS_MERGED, SPLITS, merge_disgust as _merge
from . import cache
from .errors import DataFormatError, DataMissingError
from .facedata import FaceData
from .imagefiles import decode_gray, iter_image_entries

SIZE = (48, 48)
N_PIXELS = SIZE[0] * SIZE[1]
CSV_COLUMNS = ("emotion", "pixels", "Usage")

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
    cache_dir : where decoded arrays are cached (default ``<data home>/.cache``).
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
        arrays = cache.load(cpath)
    if arrays is None:
        arrays = _read_csv(path) if path.suffix.lower() == ".csv" else _read_image_folder(path)
        if use_cache:
            cache.save(cpath, arrays)

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
        source=str(path),
    )


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    """Parse the challenge CSV, checking every row; errors name the file and the row."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
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
        for row_no, row in enumerate(reader, start=2):  # row 1 is the header
            if not row:
                continue
            where = f"{path}, row {row_no}"
            if len(row) < len(header):
                raise DataFormatError(f"{where}: {len(row)} fields; expected {len(header)} ({','.join(header)})")
            emotion = row[col["emotion"]].strip()
            if not emotion.isdigit() or int(emotion) >= len(EMOTIONS):
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
            except ValueError:
                bad = next(v for v in values if not v.lstrip("-").isdigit())
                raise DataFormatError(f"{where}: non-numeric pixel value {bad!r}; expected integers 0..255") from None
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


def _csv_from_tar(source: Path) -> Path:
    with tarfile.open(source) as tar:
        member = next((m for m in tar.getmembers() if m.isfile() and m.name.endswith("fer2013.csv")), None)
        if member is None:
            raise DataFormatError(f"{source}: this archive holds no fer2013.csv")
        out = Path(tempfile.mkdtemp(prefix="fercourse-")) / "fer2013.csv"
        with tar.extractfile(member) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


def fetch_fer2013(source: str | os.PathLike | None = None, *, data_home=None, force: bool = False) -> Path:
    """Put a downloaded FER2013 file into the data home, after checking it.

    ``source`` is the Kaggle download: the image-folder archive (any name, e.g.
    ``archive.zip``) or the challenge's ``fer2013.csv``.  The file is read in full first
    (every image or row decoded, the split and class sizes compared with FER2013's); only
    then is it copied, under a temporary name renamed into place, so a failure leaves the
    data home as it was.  With no ``source``, raises :class:`DataMissingError` whose
    message says what to download and where to put it.
    """
    home = Path(data_home) if data_home is not None else config.data_home(create=True)
    if source is None:
        raise DataMissingError(HOW_TO_GET.format(home=home))
    source = Path(source).expanduser()
    if not source.exists():
        raise DataMissingError(f"{source}: no such file.\n\n" + HOW_TO_GET.format(home=home))
    if source.is_dir():
        raise DataFormatError(f"{source}: is a folder; give the downloaded .zip, .csv or .tar.gz file")
    if tarfile.is_tarfile(source):
        # The challenge's fer2013.tar.gz: take the CSV out of it first.
        return fetch_fer2013(_csv_from_tar(source), data_home=home, force=force)
    suffix = ".csv" if source.suffix.lower() == ".csv" else ".zip"
    target = home / f"fer2013{suffix}"
    if target.exists() and not force:
        if target.resolve() == source.resolve() or sha256(target) == sha256(source):
            return target
        raise FileExistsError(f"{target} already exists and differs from {source}; pass force=True (--force) to replace it")

    data = load_fer2013(source, use_cache=False)
    problems = check_counts(data)
    if problems:
        raise DataFormatError(f"{source}: this is not the complete FER2013: " + "; ".join(problems))
    home.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=home, prefix=".fer2013-", suffix=suffix)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
