"""Reading grayscale face images from a folder tree or straight from a zip archive.

An archive is checked as an archive: a damaged member is an error naming the member and the
archive, and a zip cut short (an interrupted download) is called a damaged archive.
"""

from __future__ import annotations

import zlib
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

import numpy as np

from .errors import DataFormatError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")
"""The image files the course reads (all of them OpenCV decodes); the one list of them."""

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip

REDOWNLOAD = "download it again (or re-create it) and retry"


def iter_image_entries(source: Path) -> Iterator[tuple[PurePosixPath, callable]]:
    """Yield ``(relative path, read_bytes)`` for every image file under a folder or in a zip.

    Entries come sorted by path so that every reader returns images in the same order.
    Hidden files and macOS resource forks (``__MACOSX``, ``._*``) are skipped.
    """
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file())
        for p in files:
            rel = PurePosixPath(p.relative_to(source).as_posix())
            if _is_image_name(rel):
                yield rel, p.read_bytes
    elif zipfile.is_zipfile(source):
        try:
            zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataFormatError(f"{source}: a damaged zip archive ({exc}); {REDOWNLOAD}") from None
        with zf:
            for name in sorted(zf.namelist()):
                rel = PurePosixPath(name)
                if not name.endswith("/") and _is_image_name(rel):
                    yield rel, (lambda n=name: read_member(zf, n, source))
    elif source.is_file() and _starts_like_a_zip(source):
        raise DataFormatError(
            f"{source}: a damaged zip archive: it starts like one but its index, at the end, is "
            f"missing (a download cut short?); {REDOWNLOAD}"
        )
    elif source.exists():
        raise DataFormatError(f"{source}: expected a folder of images or a .zip archive of them")
    else:
        raise FileNotFoundError(f"{source}: no such file or folder")


def read_member(zf: zipfile.ZipFile, name: str, archive) -> bytes:
    """The bytes of one zip member; damage is a :class:`DataFormatError` naming both."""
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        # BadZipFile: a CRC mismatch or a broken header; zlib.error: undecodable deflate data;
        # EOFError: the member's data ends early.
        raise DataFormatError(
            f"{archive}: a damaged archive: its member {name} cannot be read ({exc}); {REDOWNLOAD}"
        ) from None
    except NotImplementedError as exc:  # e.g. Deflate64, which Windows' own zipper writes
        raise DataFormatError(f"{archive}: member {name}: {exc}; re-create the zip with ordinary "
                              "deflate compression (e.g. `zip -r`)") from None
    except RuntimeError as exc:  # an encrypted member
        raise DataFormatError(f"{archive}: member {name}: {exc}; expected an archive without a password") from None


def _starts_like_a_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in ZIP_MAGIC


def _is_image_name(rel: PurePosixPath) -> bool:
    hidden = any(part.startswith((".", "__MACOSX")) for part in rel.parts)
    return not hidden and rel.suffix.lower() in IMAGE_SUFFIXES


def decode_gray(data: bytes, where: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode image bytes to a 2-D uint8 grayscale array.

    ``where`` names the file (and archive) in error messages.  With ``size=(h, w)`` an image
    of another size is an error: the datasets of this course are stored at a fixed size and a
    stray image of another size is almost always a mistake in the folder.
    """
    import cv2  # imported here: the CSV route needs no OpenCV

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if data else None
    if img is None:
        raise DataFormatError(f"{where}: cannot decode this file as an image")
    if size is not None and img.shape != tuple(size):
        raise DataFormatError(
            f"{where}: image is {img.shape[1]}x{img.shape[0]} pixels; expected {size[1]}x{size[0]}"
        )
    return img
