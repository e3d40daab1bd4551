"""What ``fercourse.train.fit`` costs beyond the training steps themselves, in seconds.

    python benchmarks/bench_fit.py             # both workloads, 5 runs each
    python benchmarks/bench_fit.py --runs 3

``bench_models.py`` times the steps alone; a chapter also pays, per network, for tracing the
training step, for the input pipeline's start and end, and per epoch.  Two workloads of the
chapters, on random inputs:

- *small head*: chapter 7's LSTM head on 240 clips of 8 frames of 256 features, 1 epoch and 20
  epochs of batch 32 (its cost is nearly all fixed: tracing, then per-epoch costs);
- *CNN*: chapter 3's deep network (24x24, width 0.5) on 6,000 faces, 2 epochs of batch 64, trained
  ``--runs`` times in one process; "outside the epochs" is the wall time of ``fit`` minus the
  epochs' own times (Keras's ``on_epoch_begin`` to ``on_epoch_end``): set-up and tear-down.

Each figure is printed per run, so a stall shows as one run far above the others.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _fit_seconds(build, x, y, **kw):
    from fercourse import config, train

    config.seed_everything(0)
    model = build()
    start = time.perf_counter()
    result = train.fit(model, (x, y), augment=False, early_stopping=False, verbose=0, **kw)
    return time.perf_counter() - start, float(np.sum(result.history["seconds"]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each workload (default 5)")
    args = parser.parse_args(argv)

    import keras

    from fercourse import models
    from fercourse.models import sequence as sq

    rng = np.random.default_rng(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend={keras.backend.backend()}  cpu={platform.processor() or platform.machine()}  "
          f"cores={os.cpu_count()}  load average={load:.2f}")

    clips = rng.normal(size=(240, 8, 256)).astype("float32")
    labels = rng.integers(0, 6, len(clips))

    def head():
        return sq.temporal_head(8, 256, 6, stats=sq.feature_stats(clips))

    for epochs in (1, 20):
        walls = [_fit_seconds(head, clips, labels, epochs=epochs, batch_size=32)[0] for _ in range(args.runs)]
        print(f"small head, {epochs:2d} epochs: fit {np.median(walls):.2f} s (median; runs "
              f"{', '.join(f'{w:.2f}' for w in walls)})", flush=True)

    faces = rng.integers(0, 256, (6000, 24, 24), dtype=np.uint8)
    classes = rng.integers(0, 7, len(faces))

    def deep():
        return models.get("alizadeh_fazel_deep", input_shape=(24, 24, 1), num_classes=7, width=0.5)

    for run in range(args.runs):
        wall, epochs = _fit_seconds(deep, faces, classes, epochs=2, batch_size=64)
        print(f"CNN run {run + 1}: fit {wall:.2f} s, epochs {epochs:.2f} s, outside the epochs "
              f"{wall - epochs:.2f} s", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f} (on {os.cpu_count()} cores; above that, others shared the CPU)")


if __name__ == "__main__":
    main()
