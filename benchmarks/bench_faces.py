"""Face detection benchmark: speed at 640x480, recall and false positives on the LFW subset.

Run: ``python benchmarks/bench_faces.py [--repeats 20]``.  Prints, for OpenCV's default
``detectMultiScale`` parameters and for ``fercourse.faces.TUNED_PARAMS`` (chapter 2's pick),
with the Haar and the LBP cascade:

* frames per second on a 640x480 frame (``detector_eval.benchmark_frame()``), the median and best of
  ``--repeats`` runs of ``detect_faces``, with the threads OpenCV uses, and the median CPU
  time per frame (all threads together);
* recall on the 100 LFW faces of scikit-image's subset (enlarged to 100 pixels, framed);
* false positives: boxes on the 100 LFW non-faces, boxes beside the face on face images, and
  boxes on eight textured face-free photos that ship with scikit-image.

Timings depend on the machine and on whatever else it is running: quote them with both.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import cv2
import numpy as np
import skimage.data

from fercourse import detector_eval, faces
from fercourse.images import to_gray

SCENES = ["coins", "gravel", "grass", "clock", "cell", "brick", "page", "coffee"]


def frames_per_second(frame, repeats, **params):
    """Median and best frames/s (wall clock), and the median CPU milliseconds per frame.

    CPU time (all of OpenCV's threads together) moves less than wall time when other work
    shares the machine, so it is the figure to compare between runs.
    """
    gray = to_gray(frame)
    faces.detect_faces(gray, **params)                      # warm-up: loads the cascade
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        faces.detect_faces(gray, **params)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1.0 / statistics.median(wall), 1.0 / min(wall), 1000.0 * statistics.median(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed runs per setting (default 20)")
    args = parser.parse_args(argv)

    images, is_face, face_box = detector_eval.detection_testset()
    scenes = [to_gray(np.asarray(getattr(skimage.data, name)()).astype(np.uint8)) for name in SCENES]
    frame = detector_eval.benchmark_frame()
    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} thread(s), {os.cpu_count()} CPU core(s), "
          f"{platform.processor() or platform.machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"frame {frame.shape[1]}x{frame.shape[0]}; LFW: {is_face.sum()} faces, {(~is_face).sum()} non-faces "
          f"(enlarged to {face_box[2]} px); photos: {', '.join(SCENES)}\n")
    header = (f"{'cascade':8s} {'setting':9s} {'parameters':64s} {'fps med':>7s} {'fps best':>8s} {'CPU ms':>7s} "
              f"{'recall':>6s} {'FP LFW':>6s} {'FP beside':>9s} {'FP photos':>9s}")
    print(header)
    print("-" * len(header))
    for cascade in ("haar", "lbp"):
        for label, params in (("default", faces.DEFAULT_PARAMS), ("tuned", faces.TUNED_PARAMS)):
            boxes = [faces.detect_faces(im, cascade=cascade, **params) for im in images]
            score = detector_eval.score_boxes(boxes, is_face, face_box)
            photo_fp = sum(len(faces.detect_faces(im, cascade=cascade, **params)) for im in scenes)
            fps_median, fps_best, cpu_ms = frames_per_second(frame, args.repeats, cascade=cascade, **params)
            print(f"{cascade:8s} {label:9s} {str(params):64s} {fps_median:7.1f} {fps_best:8.1f} {cpu_ms:7.1f} "
                  f"{score['recall']:6.2f} {score['false_positives']:6d} {score['extra_boxes']:9d} {photo_fp:9d}")


if __name__ == "__main__":
    main()
