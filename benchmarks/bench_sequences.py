"""How fast clips are made and read, in clips per second.

    python benchmarks/bench_sequences.py [--clips 60] [--frames 30] [--length 10]

- rendering: ``make_sequences`` (AU sampling, a face rendered per frame, distractors);
- clip operations: ``SequenceData.interval`` (onset..offset to a fixed length) and ``resample``;
- reading: CASME II-layout folders the benchmark writes itself (no real data needed) -- each clip
  ``--source-frames`` JPEG frames, the coding sheet an .xlsx -- read by ``load_casme2`` from the
  raw frames (640x480, a face detected in the onset frame, every frame cropped) and from the
  cropped set (faces already cut out: decode and resize).

Figures are wall-clock times of one process; the load average is printed with them, because on
a shared machine other processes slow every number down.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402


def _write_casme2(root: Path, clips: int, frames: int) -> None:
    """A CASME II-layout dataset of rendered faces: raw 640x480 frames and the cropped set."""
    import cv2
    from openpyxl import Workbook

    from fercourse import facs, render

    rng = np.random.default_rng(0)
    book = Workbook()
    sheet = book.active
    sheet.append(["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                  "Estimated Emotion"])
    for i in range(clips):
        subject, clip = 1 + i % 5, f"EP{i:02d}_01f"
        ident = render.Identity.random(rng)
        for k in range(frames):
            level = np.sin(np.pi * k / (frames - 1))
            face = render.render_face(facs.prototype_vector("happy", float(level)), ident, size=200)
            raw = np.full((480, 640), 100, np.uint8)
            raw[140:340, 220:420] = face
            for kind, image, name in (("CASME2_RAW_selected", raw, f"img{k + 1}.jpg"),
                                      ("Cropped", cv2.resize(face, (160, 160)), f"reg_img{k + 1}.jpg")):
                folder = root / kind / f"sub{subject:02d}" / clip
                folder.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / name), image)
        sheet.append([subject, clip, 1, frames // 2, frames, "6+12", "happiness"])
    book.save(root / "CASME2-coding-bench.xlsx")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=60, help="clips to render and to read (default 60)")
    parser.add_argument("--frames", type=int, default=30, help="frames per rendered clip (default 30, at 30 fps)")
    parser.add_argument("--source-frames", type=int, default=40, help="frames per clip folder to read (default 40)")
    parser.add_argument("--length", type=int, default=10, help="frames per clip after resampling (default 10)")
    args = parser.parse_args(argv)

    from fercourse.datasets import make_sequences
    from fercourse.datasets.casme2 import load_casme2

    print(f"machine: {describe()}; load average {os.getloadavg()[0]:.1f} "
          "(wall-clock figures inflate when the machine is busy)")
    make_sequences(2, frames=args.frames, seed=1)  # warm caches (noise bank, grids)
    t0 = time.perf_counter()
    clips = make_sequences(args.clips, frames=args.frames, fps=30, seed=0)
    dt = time.perf_counter() - t0
    print(f"make_sequences: {args.clips / dt:,.1f} clips/s of {args.frames} frames "
          f"({args.clips * args.frames / dt:,.0f} frames/s), 48x48")
    t0 = time.perf_counter()
    clips.interval(args.length)
    dt = time.perf_counter() - t0
    print(f"SequenceData.interval({args.length}): {args.clips / dt:,.0f} clips/s")
    t0 = time.perf_counter()
    clips.resample(2 * args.frames)
    dt = time.perf_counter() - t0
    print(f"SequenceData.resample({2 * args.frames}): {args.clips / dt:,.0f} clips/s")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "CASME2"
        t0 = time.perf_counter()
        _write_casme2(root, args.clips, args.source_frames)
        print(f"(wrote a CASME II-layout fixture of {args.clips} clips x {args.source_frames} frames "
              f"in {time.perf_counter() - t0:.1f} s)")
        for kind in ("raw", "cropped"):
            t0 = time.perf_counter()
            data = load_casme2(root, task="all", frames=kind, length=args.length, verbose=False)
            dt = time.perf_counter() - t0
            skipped = sum(n.startswith("skipped") for n in data.notes)
            print(f"load_casme2(frames={kind!r}, length={args.length}): {len(data) / dt:,.1f} clips/s "
                  f"({len(data)} read, {skipped} skipped; {args.source_frames}-frame folders, at most "
                  f"{2 * args.length} frames decoded per clip)")


if __name__ == "__main__":
    main()
