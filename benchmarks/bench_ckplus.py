"""CK+ load times on a generated fixture of CK+'s size and layout: the first load and cached loads.

    python benchmarks/bench_ckplus.py [--scale 1.0] [--zip] [--repeat 3] [--keep DIR]

Writes CK+'s official layout into a temporary folder -- by default at CK+'s size: 123 subjects,
593 sequences of 10 to 30 frames (10,700 or so 640x490 PNGs, about 18 a sequence as in CK+),
327 emotion files, 593 FACS files -- with synthetic faces drawn large enough for the Haar cascade
and sensor noise, so that the PNGs are about as large as CK+'s photographs.  Then it times

* detecting and cropping the face of one 640x490 frame, the first load's work per frame;
* the first :func:`fercourse.datasets.load_ckplus` (check every label file, decode the chosen
  frames, detect and crop each face, write the cache);
* cached loads (fingerprint the source, read the checked cache);
* with ``--zip``, the same from the distribution's zips instead of the unpacked folders.

``--scale 0.1`` makes a tenth of it (quicker; the per-frame figures stay comparable).  Timings
depend on the machine and on whatever else it runs: quote them with both.
"""

import argparse
import os
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
from machine import describe

from fercourse import faces, render
from fercourse.datasets import ckplus, load_ckplus
from fercourse.datasets.imagefiles import decode_gray
from fercourse.labels import EMOTIONS_WITH_CONTEMPT

CKPLUS_SIZE = {"subjects": 123, "sequences": 593, "labelled": 327}
DRAWN = {"angry": {"AU4": 0.8, "AU7": 0.6, "AU23": 0.6}, "contempt": {"R12": 0.4, "R14": 0.6},
         "disgust": {"AU9": 0.8, "AU10": 0.6, "AU17": 0.4}, "fear": {"AU1": 0.8, "AU4": 0.6, "AU20": 0.8},
         "happy": {"AU6": 0.8, "AU12": 1.0}, "sad": {"AU1": 0.8, "AU4": 0.6, "AU15": 0.8},
         "surprise": {"AU1": 1.0, "AU2": 1.0, "AU26": 0.8}}


def make_fixture(root: Path, scale: float, seed: int = 0) -> dict:
    """CK+'s official layout under ``root``; returns the counts written."""
    rng = np.random.default_rng(seed)
    n_subjects = max(2, round(CKPLUS_SIZE["subjects"] * scale))
    n_sequences = max(n_subjects, round(CKPLUS_SIZE["sequences"] * scale))
    n_labelled = round(n_sequences * CKPLUS_SIZE["labelled"] / CKPLUS_SIZE["sequences"])
    labelled = set(rng.choice(n_sequences, n_labelled, replace=False).tolist())
    subject_of = np.sort(np.arange(n_sequences) % n_subjects)
    identities = [render.Identity.random(rng) for _ in range(n_subjects)]
    frames_written = 0
    for q in range(n_sequences):
        s = subject_of[q]
        subject, seq = f"S{s + 5:03d}", f"{q - np.flatnonzero(subject_of == s)[0] + 1:03d}"
        emotion = EMOTIONS_WITH_CONTEMPT[[0, 1, 2, 3, 4, 5, 7][q % 7]]
        n_frames = int(rng.integers(10, 31))
        folder = root / "cohn-kanade-images" / subject / seq
        folder.mkdir(parents=True)
        for f in range(1, n_frames + 1):
            level = (f - 1) / (n_frames - 1)
            if f in (1, 2) or f > n_frames - 3:  # the frames a loader reads, drawn; the others copied
                face = render.render_face({k: v * level for k, v in DRAWN[emotion].items()}, identities[s],
                                          size=int(rng.integers(200, 260)))
                canvas = np.full((490, 640), 100, np.uint8)
                top, left = (490 - face.shape[0]) // 2, 320 - face.shape[1] // 2
                canvas[top:top + face.shape[0], left:left + face.shape[1]] = face
                noisy = np.clip(canvas + rng.normal(0, 3, canvas.shape), 0, 255).astype(np.uint8)
                data = cv2.imencode(".png", noisy)[1].tobytes()
                if f == 2:
                    middle = data
            else:
                data = middle
            (folder / f"{subject}_{seq}_{f:08d}.png").write_bytes(data)
            frames_written += 1
        peak = f"{subject}_{seq}_{n_frames:08d}"
        (root / "FACS" / subject / seq).mkdir(parents=True)
        lines = "".join(f"   {float(k.lstrip('AUR')):.7e}   {2.0:.7e}\n" for k in DRAWN[emotion])
        (root / "FACS" / subject / seq / f"{peak}_facs.txt").write_text(lines)
        if q in labelled:
            (root / "Emotion" / subject / seq).mkdir(parents=True)
            code = ckplus.EMOTION_CODES.index(emotion)
            (root / "Emotion" / subject / seq / f"{peak}_emotion.txt").write_text(f"   {code:.7e}\n")
    return {"subjects": n_subjects, "sequences": n_sequences, "labelled": n_labelled, "frames": frames_written}


def zip_fixture(root: Path, out: Path) -> Path:
    out.mkdir()
    for folder, name in [("cohn-kanade-images", "extended-cohn-kanade-images.zip"),
                         ("Emotion", "Emotion_labels.zip"), ("FACS", "FACS_labels.zip")]:
        with zipfile.ZipFile(out / name, "w", zipfile.ZIP_STORED) as zf:  # PNGs do not compress further
            for p in sorted((root / folder).rglob("*")):
                zf.write(p, p.relative_to(root).as_posix())
    return out


def time_loads(path: Path, repeat: int, cache_dir: str) -> tuple[float, float, object]:
    t = time.perf_counter()
    data, report = load_ckplus(path, cache_dir=cache_dir, return_report=True)
    first = time.perf_counter() - t
    cached = []
    for _ in range(repeat):
        t = time.perf_counter()
        load_ckplus(path, cache_dir=cache_dir)
        cached.append(time.perf_counter() - t)
    return first, statistics.median(cached), (data, report)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of CK+'s size to generate")
    parser.add_argument("--zip", action="store_true", help="also time loading from the zips")
    parser.add_argument("--repeat", type=int, default=3, help="cached loads to time")
    parser.add_argument("--keep", help="write the fixture here (kept) instead of a temporary folder")
    args = parser.parse_args()
    print(f"machine: {describe()}; OpenCV {cv2.__version__} with {cv2.getNumThreads()} threads")
    with tempfile.TemporaryDirectory(prefix="bench-ckplus-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp) / "CK+"
        t = time.perf_counter()
        counts = make_fixture(root, args.scale)
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(f"fixture: {counts['subjects']} subjects, {counts['sequences']} sequences "
              f"({counts['labelled']} labelled), {counts['frames']:,} frames, {size / 1e6:,.0f} MB, "
              f"written in {time.perf_counter() - t:.0f} s")

        t = time.perf_counter()
        first_frame = next(root.rglob("*_00000001.png"))
        frame = decode_gray(first_frame.read_bytes(), str(first_frame))  # as the loader decodes it
        n = 20
        for _ in range(n):
            faces.crop_face(frame, size=48, **faces.TUNED_PARAMS)
        print(f"one 640x490 frame: detect and crop in {1000 * (time.perf_counter() - t) / n:.1f} ms")

        sources = [("folders", root)]
        if args.zip:
            t = time.perf_counter()
            sources.append(("zips", zip_fixture(root, Path(tmp) / "zips")))
            print(f"zips written in {time.perf_counter() - t:.0f} s")
        for label, path in sources:
            with tempfile.TemporaryDirectory() as cache_dir:
                cpu = time.process_time()
                first, cached, (data, report) = time_loads(path, args.repeat, cache_dir)
                cpu = time.process_time() - cpu
            print(f"{label}: first load {first:6.1f} s ({report.frames / first:5.1f} frames/s; "
                  f"{report.frames} frames read, {len(report.no_face)} without a face, {len(data)} faces)"
                  f"; cached load (median of {args.repeat}) {cached:5.2f} s; CPU time of all loads {cpu:.0f} s")


if __name__ == "__main__":
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    main()
