"""Live pipeline benchmark: frames/s and latency per frame at 640x480 with one face, on 1 and 2 cores.

    python benchmarks/bench_live.py                         # 1 and 2 cores, detection every 1 and 3 frames
    python benchmarks/bench_live.py --cores 1 --every 3 --frames 600
    python benchmarks/bench_live.py --model runs/course.keras

End to end means: decode the frame from an MP4 file (the course's test video, one face, written
with OpenCV's ``mp4v``), then the whole pipeline (:class:`fercourse.live.LivePipeline`: grey,
detect, track, crop, model, smooth, draw).  Writing the annotated video is not counted: a live
demo shows frames, it does not encode them.

Cores: each core count runs in a child process of this script, started with ``taskset -c 0`` (or
``0,1``) where ``taskset`` exists (else the child pins itself with ``os.sched_setaffinity``), and
with ``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS``, ``OMP_NUM_THREADS`` set to the core
count before TensorFlow loads and ``cv2.setNumThreads`` for OpenCV.

The model: by default the course's ``compact`` architecture with untrained weights -- its speed
does not depend on what it learned; ``--model`` times a saved one.  The first ``--warmup`` frames
are not counted (the predict function is traced on them).  Latency percentiles are over frames;
frames/s is 1000 / mean latency.  Timings depend on the machine and what else runs on it: the
machine and its load average are printed with the figures, and so is the CPU time per frame,
which other processes move much less than wall time (on one core it is what a frame would take
with the core to itself).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(args) -> dict:
    """Run in the pinned process: time the pipeline on the video file, return the figures."""
    import cv2

    cv2.setNumThreads(args.child_cores)
    from fercourse import live, live_scores, models, video

    model = live.load_model(args.model) if args.model else models.compact()
    rows = {}
    for every in args.every:
        rows[every] = wall_run(model, every, args)
        # The same frames again with every stage timed in CPU time, which the other programs on a
        # shared machine move much less than wall time.
        cpu = live.LivePipeline(model, detect_every=every, smoothing=0.3, clock=time.process_time)
        results = cpu.run(video.read_video(args.video))
        rows[every]["cpu_stages"] = live_scores.latency_summary(results, skip=args.warmup).round(3).to_dict()
    return rows


def wall_run(model, every, args) -> dict:
    """Decode and process every frame, timed in wall time; the figures of one setting."""
    import cv2
    import numpy as np

    from fercourse import live, live_scores, video

    pipeline = live.LivePipeline(model, detect_every=every, smoothing=0.3, draw=True)
    capture, fps, _ = video.open_video(args.video)
    decode, results, cpu = [], [], []
    while True:
        start, start_cpu = time.perf_counter(), time.process_time()
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        decode.append(1000 * (time.perf_counter() - start))
        results.append(pipeline.process(frame, len(results) / fps))
        cpu.append(1000 * (time.process_time() - start_cpu))
        results[-1].image = None
    capture.release()
    summary = live_scores.latency_summary(results, skip=args.warmup)
    decode = np.asarray(decode[args.warmup:])
    totals = np.asarray([r.timings["total"] for r in results[args.warmup:]]) + decode
    found = np.mean([len(r.faces) == 1 for r in results[args.warmup:]])
    cpu = np.asarray(cpu[args.warmup:])
    return {
        "frames": int(len(totals)), "faces_found": float(found),
        "fps": float(1000 / totals.mean()), "p50": float(np.percentile(totals, 50)),
        "p95": float(np.percentile(totals, 95)), "decode": [float(decode.mean()), float(np.median(decode)),
                                                           float(np.percentile(decode, 95))],
        "stages": summary.round(3).to_dict(), "pipeline_fps": float(summary.attrs["fps"]),
        "cpu": [float(cpu.mean()), float(np.median(cpu)), float(np.percentile(cpu, 95))],
    }


def run_child(cores: int, args, video: Path) -> dict:
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(cores), TF_NUM_INTEROP_THREADS=str(cores),
               OMP_NUM_THREADS=str(cores), TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child-cores", str(cores), "--video", str(video),
           "--warmup", str(args.warmup), "--every", *map(str, args.every)]
    if args.model:
        cmd += ["--model", args.model]
    cpus = ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cores]) if hasattr(os, "sched_getaffinity") \
        else ",".join(map(str, range(cores)))
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", cpus] + cmd
    else:
        env["FERCOURSE_BENCH_PIN"] = cpus
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(cores: int, rows: dict) -> None:
    from fercourse.live import STAGES

    for every, r in rows.items():
        goal = "meets" if r["fps"] >= 30 and r["p95"] <= 33 else "misses"
        print(f"\n{cores} core(s), detection every {every} frame(s): {r['fps']:.1f} frames/s end to end, "
              f"latency p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms ({goal} the goal of 30 frames/s with "
              f"p95 <= 33 ms); {r['frames']} frames, one face found in {r['faces_found']:.0%}")
        print(f"  {'stage':8s} {'mean ms':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'share':>6s}")
        dec = r["decode"]
        total_mean = 1000 / r["fps"]
        print(f"  {'decode':8s} {dec[0]:8.2f} {dec[1]:8.2f} {dec[2]:8.2f} {dec[0] / total_mean:6.1%}")
        for stage in STAGES:
            s = r["stages"][stage]
            print(f"  {stage:8s} {s['mean']:8.2f} {s['p50']:8.2f} {s['p95']:8.2f} {s['mean'] / total_mean:6.1%}")
        print(f"  {'total':8s} {total_mean:8.2f} {r['p50']:8.2f} {r['p95']:8.2f} {1:6.1%}")
        c = r["cpu"]
        print(f"  CPU time per frame, decoding included (all threads): mean {c[0]:.2f} ms, p50 {c[1]:.2f}, "
              f"p95 {c[2]:.2f}" + (f" -> {1000 / c[0]:.1f} frames/s with the core to itself" if cores == 1 else ""))
        print(f"  CPU time per stage (a second pass): " + ", ".join(
            f"{stage} {r['cpu_stages'][stage]['mean']:.2f}/{r['cpu_stages'][stage]['p95']:.2f}"
            for stage in (*STAGES, "total")) + " ms (mean/p95)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, nargs="+", default=[1, 2], help="core counts to time (default 1 2)")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 3], help="detect every K frames (default 1 3)")
    parser.add_argument("--frames", type=int, default=300, help="frames of video (default 300, 10 s at 30 frames/s)")
    parser.add_argument("--warmup", type=int, default=10, help="frames not counted at the start (default 10)")
    parser.add_argument("--model", help="a saved Keras model to time instead of an untrained compact network")
    parser.add_argument("--child-cores", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_cores:
        if os.environ.get("FERCOURSE_BENCH_PIN") and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(c) for c in os.environ["FERCOURSE_BENCH_PIN"].split(",")})
        print(json.dumps(child(args)))
        return

    sys.path.insert(0, str(HERE))
    import cv2

    from machine import describe

    from fercourse import testvideo

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = [c for c in args.cores if c <= usable]
    with tempfile.TemporaryDirectory() as folder:
        video = testvideo.make_test_video(seconds=args.frames / 30, fps=30, faces=1)
        path, codec = video.write(Path(folder) / "one_face.mp4")
        print(describe())
        print(f"OpenCV {cv2.__version__}; video: {video.n_frames} frames of {video.width}x{video.height}, one face "
              f"of {int(video.truth.w.min())}-{int(video.truth.w.max())} px, {codec} in {path.suffix}; model: "
              f"{args.model or 'compact (untrained weights)'}; load average before: {os.getloadavg()[0]:.1f}")
        for n in cores:
            start = time.perf_counter()
            rows = run_child(n, args, path)
            report(n, {int(k): v for k, v in rows.items()})
            print(f"  ({time.perf_counter() - start:.0f} s; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
