"""Training and inference speed of every model of the course, in images per second.

    python benchmarks/bench_models.py                      # all models, 48x48, batch 128
    python benchmarks/bench_models.py compact breuer_kimmel --batch 64 --steps 8
    python benchmarks/bench_models.py --size 24 --width 0.5   # the chapter's quick-profile setting

Random pixels suffice: the speed of a CNN does not depend on what the images show.  Each model is
warmed up first (graph tracing and compilation are not counted), and each figure is the median
over the timed batches (``--steps`` of them).  The load average is printed
with the figures, because on a shared machine other processes slow every number down.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _step_timer():
    """A callback that records the wall time of every training and inference batch."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train, self.infer = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self._t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.train.append(time.perf_counter() - self._t)

        def on_predict_batch_begin(self, batch, logs=None):
            self._t = time.perf_counter()

        def on_predict_batch_end(self, batch, logs=None):
            self.infer.append(time.perf_counter() - self._t)

    return StepTimer()


def bench(name, *, size, batch, steps, width, rng):
    """Parameters, training and inference images/s of one model.

    Each batch is timed on its own and the median taken, after one untimed call that compiles:
    what ``fit`` and ``predict`` do once per call (building the data pipeline, compiling for a
    new shape) would otherwise swamp a few steps, and a stray slow step from another process
    would move a mean.
    """
    import keras

    from fercourse import models

    kw = {"width": width} if width != 1.0 and name not in ("vgg_bn", "compact") else {}
    model = models.get(name, input_shape=(size, size, 1), **kw)
    x = rng.integers(0, 256, (batch * steps, size, size, 1)).astype("float32")
    y = rng.integers(0, model.output_shape[-1], batch * steps)
    timer = _step_timer()
    model.fit(x[:batch * 2], y[:batch * 2], batch_size=batch, epochs=1, verbose=0)   # compile
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=[timer])
    model.predict(x[:batch * 2], batch_size=batch, verbose=0)                         # compile
    model.predict(x, batch_size=batch, verbose=0, callbacks=[timer])
    keras.backend.clear_session()
    # On a GPU a step may return before the device has finished it; once the queue of such
    # steps is full each waits for an earlier one, so the median of many steps approaches
    # the real step time.  On a CPU each step returns when it is done.
    return model.count_params(), batch / np.median(timer.train), batch / np.median(timer.infer)


def main(argv=None):
    from fercourse import config, models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(models.MODELS), help="model names (default: all)")
    parser.add_argument("--size", type=int, default=48, help="image side (default 48)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--steps", type=int, default=10, help="timed batches, training and inference (default 10)")
    parser.add_argument("--width", type=float, default=1.0,
                        help="width of the published networks (the chapter's quick profile: 0.5)")
    args = parser.parse_args(argv)
    for name in args.models:
        models.get_builder(name)  # fail early on a wrong name

    import keras

    config.seed_everything()
    rng = np.random.default_rng(config.seed())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"backend={keras.backend.backend()}  cpu={platform.processor() or platform.machine()}  "
          f"cores={os.cpu_count()}  load average={load:.2f}")
    print(f"images {args.size}x{args.size}, batch {args.batch}, width {args.width}")
    print(f"{'model':24s} {'parameters':>12s} {'train img/s':>12s} {'infer img/s':>12s}")
    for name in args.models:
        params, tr, inf = bench(name, size=args.size, batch=args.batch, steps=args.steps, width=args.width, rng=rng)
        print(f"{name:24s} {params:>12,d} {tr:>12.0f} {inf:>12.0f}", flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average at the end: {load:.2f} (on {os.cpu_count()} cores; above that, others shared the CPU)")


if __name__ == "__main__":
    main()
