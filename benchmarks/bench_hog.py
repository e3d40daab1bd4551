"""HOG on 48x48 faces: speed of the two implementations, and how far their outputs agree.

Prints

- images/s of :func:`fercourse.features.hog_features` with ``method="opencv"`` and
  ``method="skimage"`` (one thread and ``--jobs`` threads) on the training faces;
- agreement: the mean per-image correlation of the two descriptors (same layout), also with
  OpenCV's Gaussian block window switched off (what is left is its vote interpolation);
- agreement in use: PublicTest accuracy of the same linear SVM trained on either descriptor.

Runs on FER2013 when the data home holds it (``FERCOURSE_DATA``), else on the synthetic faces.
Timings are wall-clock on whatever else the machine is doing; run it on a quiet machine.

    python benchmarks/bench_hog.py [--n 28709] [--svm-n 8000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fercourse import config, features
from fercourse.datasets import load_course_data
from fercourse.sampling import stratified_subset


def images_per_second(x, repeat=2, **kwargs):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        features.hog_features(x, **kwargs)
        best = min(best, time.perf_counter() - start)
    return len(x) / best


def mean_correlation(a, b):
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    ok = denom > 0
    return float(np.mean((a * b).sum(1)[ok] / denom[ok]))


def opencv_without_window(x):
    """OpenCV's HOG with the Gaussian block window off (a huge sigma), in the course's layout."""
    import cv2

    d = cv2.HOGDescriptor((48, 48), (16, 16), (8, 8), (8, 8), 9, 1, 1e6)
    out = np.stack([d.compute(img).reshape(5, 5, 2, 2, 9).transpose(1, 0, 3, 2, 4).ravel() for img in x])
    return out.astype(np.float32)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=28709, help="faces to time (default: FER2013's training split)")
    parser.add_argument("--svm-n", type=int, default=8000, help="training faces for the SVM comparison (0: skip)")
    parser.add_argument("--jobs", type=int, default=2, help="threads for the threaded timing")
    args = parser.parse_args(argv)

    config.seed_everything()
    data = load_course_data()
    x_train, y_train = data.split("Training")
    x = x_train[: args.n]
    if len(x) < args.n:  # the synthetic set is smaller than FER2013: tile it to the asked size
        x = np.resize(x_train, (args.n, *x_train.shape[1:]))
    print(f"{config.describe()}\ntiming {len(x):,} faces of 48x48 (wall clock; other work on the machine inflates it)")
    for method in features.HOG_METHODS:
        one = images_per_second(x, method=method)
        many = images_per_second(x, method=method, n_jobs=args.jobs)
        print(f"  {method:8s} {one:9,.0f} images/s   {many:9,.0f} images/s with {args.jobs} threads   "
              f"({len(x) / one:.1f} s for {len(x):,} faces)")

    sample = x_train[:2000]
    a = features.hog_features(sample, method="opencv")
    b = features.hog_features(sample, method="skimage")
    print(f"agreement on {len(sample):,} faces: mean per-image correlation r = {mean_correlation(a, b):.3f}; "
          f"with OpenCV's block window off r = {mean_correlation(opencv_without_window(sample), b):.3f}; "
          f"largest difference {np.abs(a - b).max():.3f} (values 0..1)")

    if args.svm_n:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import LinearSVC

        xs, ys = stratified_subset(x_train, y_train, args.svm_n)
        xv, yv = data.split("PublicTest")
        for method in features.HOG_METHODS:
            start = time.perf_counter()
            svm = make_pipeline(StandardScaler(), LinearSVC(C=1e-4, dual=True, max_iter=2000))
            svm.fit(features.hog_features(xs, method=method), ys)
            acc = svm.score(features.hog_features(xv, method=method), yv)
            print(f"  linear SVM on {method:8s} HOG: PublicTest accuracy {acc:.1%} "
                  f"({len(ys):,} training faces, {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
