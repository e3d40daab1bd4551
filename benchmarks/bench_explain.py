"""Explanation maps per second: Grad-CAM, saliency and the others, for one of the course's models.

    python benchmarks/bench_explain.py                          # compact, all methods, batch 128
    python benchmarks/bench_explain.py --methods grad_cam saliency --batch 256 --repeats 5
    python benchmarks/bench_explain.py --model breuer_kimmel

The speed of a map does not depend on what the weights have learnt, so the model is used as
built (random weights) and fed random faces.  Each method is called once untimed (graph
tracing), then ``--repeats`` times on ``--faces`` faces; the figure is faces per second of the
median call.  Gradients are computed a whole batch per backward pass
(:func:`fercourse.explain.gradients.input_gradients`).  The load average is printed with the
figures: on a shared machine other processes slow every number down.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

METHODS = ("grad_cam", "saliency", "guided_backprop", "smoothgrad", "occlusion")


def bench(model, method, faces, *, batch, repeats):
    """Faces per second of ``method`` (median over ``repeats`` timed calls after one warm-up)."""
    from fercourse import explain

    fn = getattr(explain, method)
    kwargs = {"batch_size": batch}
    if method == "smoothgrad":
        kwargs["samples"] = 10
    fn(model, faces[:batch], **kwargs)                    # warm-up: tracing, first allocations
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(model, faces, **kwargs)
        times.append(time.perf_counter() - t0)
    return len(faces) / float(np.median(times))


def main(argv=None):
    from fercourse import config, models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="compact", help="model name (default compact)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    parser.add_argument("--faces", type=int, default=512, help="faces per timed call (default 512)")
    parser.add_argument("--batch", type=int, default=128, help="faces per backward pass (default 128)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per method (default 3)")
    args = parser.parse_args(argv)

    import keras

    config.seed_everything()
    model = models.get(args.model)
    faces = np.random.default_rng(config.seed()).integers(0, 256, (args.faces, 48, 48), dtype=np.uint8)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{describe()}; backend={keras.backend.backend()}; load average={load:.2f}")
    print(f"model {args.model} ({model.count_params():,} parameters), {args.faces} faces per call, "
          f"batch {args.batch}, median of {args.repeats} calls")
    print(f"{'method':18s} {'faces/s':>9s}")
    for method in args.methods:
        n = min(args.faces, 64) if method in ("occlusion", "smoothgrad") else args.faces
        rate = bench(model, method, faces[:n], batch=args.batch, repeats=args.repeats)
        print(f"{method:18s} {rate:9.0f}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f} (on {os.cpu_count()} cores; above that, others shared "
          "the CPU)")


if __name__ == "__main__":
    main()
