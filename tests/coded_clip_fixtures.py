"""Tiny CASME II- and SAMM-layout datasets for the reader tests: a coding sheet and frame folders.

Frames of the *cropped* kind are flat grey images whose level is :func:`level` (frame number), so a
test can tell which frames a reader picked and how it blended them.  Frames of the *raw* kind
hold a rendered face in a larger picture, for the face crop.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

LEVEL = 5  # grey level per frame number in flat frames (frame 40 -> 200)


def write_sheet(path: Path, header, rows, notes=()):
    """An .xlsx sheet: ``notes`` rows (one text cell each), then ``header``, then ``rows``."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for note in notes:
        sheet.append([note])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def flat_frames(folder: Path, numbers, name="img{}.png"):
    """Flat grey frames of level :func:`level` (PNG, so the levels survive exactly)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in numbers:
        cv2.imwrite(str(folder / name.format(k)), np.full((60, 50), level(k), np.uint8))


def level(number):
    """The grey level of flat frame ``number``: ``LEVEL * number``, wrapped below 250."""
    return (LEVEL * np.asarray(number)) % 250


def face_frames(folder: Path, numbers, name="img{}.jpg", seed=0, size=96):
    """A rendered face (smiling more towards the middle frame) in a 160x200 picture per frame."""
    from fercourse import facs, render

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ident = render.Identity.random(rng)
    numbers = list(numbers)
    for j, k in enumerate(numbers):
        smile = 1 - abs(j - len(numbers) / 2) / (len(numbers) / 2)
        face = render.render_face(facs.prototype_vector("happy", smile), ident, size=size)
        frame = np.full((160, 200), 90, np.uint8)
        frame[30:30 + size, 50:50 + size] = face
        cv2.imwrite(str(folder / name.format(k)), frame)


CASME2_HEADER = ("Subject", "Filename", "Unnamed", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                 "Estimated Emotion")


def casme2_row(subject, clip, onset, apex, offset, aus, emotion):
    return (subject, clip, "", onset, apex, offset, aus, emotion)


SAMM_NOTES = tuple(f"note {i + 1}: SAMM coding notes" for i in range(13))
SAMM_HEADER = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Notes", "Estimated Emotion", "Objective Classes")


def samm_row(subject, clip, onset, apex, offset, micro, aus, emotion):
    duration = offset - onset + 1 if isinstance(onset, int) and isinstance(offset, int) else ""
    return (subject, clip, 1, onset, apex, offset, duration, micro, aus, "", emotion, 1)
