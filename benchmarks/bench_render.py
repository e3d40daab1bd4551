"""How fast the face renderer is, on one CPU core.

    python benchmarks/bench_render.py [--n 3000] [--size 48]

Prints faces per second for ``render_face`` with a random identity, pose, lighting and
AU vector per face (the work ``make_faces`` does), and the throughput of ``make_faces``
itself (sampling included).  Threads are pinned to one so the figure is per core.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)

from fercourse import facs, render  # noqa: E402
from fercourse.datasets import make_faces  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    jobs = [(np.where(rng.random(len(facs.AUS)) < 0.3, rng.random(len(facs.AUS)), 0.0).astype(np.float32),
             render.Identity.random(rng), render.Pose.random(rng), render.Lighting.random(rng))
            for _ in range(args.n)]
    render.render_face(size=args.size)  # warm caches (noise bank, grids)
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for aus, ident, pose, light in jobs:
            render.render_face(aus, ident, pose, light, args.size, rng)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs; "
          f"1 thread; load average {os.getloadavg()[0]:.1f} (wall-clock figures inflate when the machine is busy; "
          f"CPU-time figures much less)")
    print(f"render_face {args.size}x{args.size}: {args.n / best:,.0f} faces/s wall clock, "
          f"{args.n / best_cpu:,.0f} faces per CPU-second ({1e6 * best_cpu / args.n:.0f} us CPU per face, "
          f"best of {args.repeats})")

    t0 = time.perf_counter()
    data = make_faces(args.n, seed=0, size=args.size)
    dt = time.perf_counter() - t0
    print(f"make_faces({args.n}): {dt:.2f} s, {len(data) / dt:,.0f} faces/s (AU sampling included)")


if __name__ == "__main__":
    main()
