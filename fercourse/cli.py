"""The ``fercourse`` command.

::

    fercourse data info                          what the data home holds
    fercourse data fetch fer2013 --from FILE     put a Kaggle download in place, checked
    fercourse data fetch ck+ --from PATH         put CK+ (its zips, folders, or CK+48) in place, checked
    fercourse faces crop SRC DST --size 48       crop every face image in a folder
    fercourse train MODEL                        train (and resume) a model of the zoo
    fercourse live VIDEO --out annotated.mp4     an emoji over each face, with latency (or --camera 0)

Heavy modules (OpenCV, Keras) are imported by the subcommand that needs them, so
``fercourse data info`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from . import config


@contextlib.contextmanager
def _warnings_as_lines():
    """Show warnings (a damaged cache being rebuilt...) as one plain line each."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"fercourse: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _data_info(args) -> int:
    from .datasets import DataFormatError, available, load_fer2013
    from .datasets.fer2013 import check_counts

    home = config.data_home()
    print(f"Data home: {home}{'' if home.is_dir() else '  (does not exist yet)'}")
    print(f"Cache:     {config.cache_home()}")
    found = available()
    for name, path in found.items():
        print(f"  {name:<8} {path if path else 'not present'}")
    status = 0
    with _warnings_as_lines():
        # A broken cache is rebuilt on the way (with a warning); a broken dataset is reported
        # and the others are still listed.
        try:
            if found["fer2013"] is not None:
                data = load_fer2013(found["fer2013"])
                print()
                print(data.describe())
                problems = check_counts(data)
                print("\nCounts match FER2013's published sizes." if not problems
                      else "\nCounts differ from FER2013's published sizes: " + "; ".join(problems))
        except DataFormatError as exc:
            print(f"\nfer2013 cannot be read: {exc}", file=sys.stderr)
            status = 1
        try:
            if found["ck+"] is not None:
                from .datasets import load_ckplus, without_contempt

                print()
                data, report = load_ckplus(found["ck+"], return_report=True)
                print(report)
                print(data.describe())
                print(f"  ({len(without_contempt(data)):,} faces of FER2013's classes, without contempt)")
        except DataFormatError as exc:
            print(f"\nck+ cannot be read: {exc}", file=sys.stderr)
            status = 1
        from .datasets.casme2 import scan_casme2
        from .datasets.samm import scan_samm

        for name, scan in (("casme2", scan_casme2), ("samm", scan_samm)):
            if found.get(name) is None:
                continue
            # The sheet checked against the frame folders; no frame is decoded, so this is quick.
            try:
                print()
                print(f"{name} (every emotion):", scan(found[name], task="all").describe())
            except (DataFormatError, FileNotFoundError) as exc:  # broken, or its frame folder missing
                print(f"\n{name} cannot be read: {exc}", file=sys.stderr)
                status = 1
    if not any(found.values()):
        print("\nNo real dataset yet: the chapters use the built-in synthetic faces.\n"
              "Run `fercourse data fetch fer2013` to see how to add FER2013.")
    return status


def _data_fetch(args) -> int:
    from .datasets import DataMissingError, fetch_fer2013

    if args.dataset in ("ck+", "ckplus"):
        return _fetch_ckplus(args)
    with _warnings_as_lines(), contextlib.ExitStack() as temporary:
        source = args.source
        if source is None and args.kaggle:
            # The download is copied into the data home; its folder goes however fetch ends.
            folder = temporary.enter_context(tempfile.TemporaryDirectory(prefix="fercourse-kaggle-"))
            source = _kaggle_download(folder)
        try:
            target = fetch_fer2013(source, force=args.force)
        except DataMissingError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"FER2013 checked and in place: {target}")
    from .datasets.fer2013 import KNOWN_SHA256, sha256

    digest = sha256(target)
    known = KNOWN_SHA256.get(digest)
    print(f"sha256 {digest}: " + (f"the known {known}." if known else
          "not a copy this course has seen; its split and class sizes match FER2013's."))
    return 0


def _fetch_ckplus(args) -> int:
    from .datasets import DataMissingError, fetch_ckplus

    if args.kaggle:
        raise ValueError("--kaggle fetches FER2013 only; CK+ is requested from its authors "
                         "(run `fercourse data fetch ck+` to see how)")
    try:
        target = fetch_ckplus(args.source, force=args.force)
    except DataMissingError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"CK+ checked and in place: {target}\n"
          "Its faces are cropped on first use (`fercourse data info` does it now and lists the counts).")
    return 0


def _kaggle_download(folder: str) -> str:
    """Download the image-folder archive into ``folder`` with the Kaggle CLI, when it is installed and configured."""
    if shutil.which("kaggle") is None:
        raise SystemExit("--kaggle needs the Kaggle command-line tool: pip install kaggle, then put your "
                         "API token in ~/.kaggle/kaggle.json (see https://www.kaggle.com/docs/api)")
    subprocess.run(["kaggle", "datasets", "download", "-d", "msambare/fer2013", "-p", folder], check=True)
    zips = sorted(Path(folder).glob("*.zip"))
    if not zips:
        raise SystemExit("the Kaggle download produced no .zip file")
    return str(zips[0])


def _faces_crop(args) -> int:
    from . import faces

    report = faces.crop_folder(args.src, args.dst, size=args.size, margin=args.margin,
                               align=args.align, every_face=args.all, progress=True)
    print(report)
    return 0


def _train(args) -> int:
    from . import recipes

    result = recipes.train_named(args.model, run_dir=args.run_dir, resume=not args.fresh,
                                 epochs=args.epochs, batch_size=args.batch_size)
    print(result)
    return 0


def _course_model(args) -> int:
    import time

    from . import cached_model, config
    from .datasets import load_course_data

    data = load_course_data(dataset=args.dataset, verbose=True)
    path = cached_model.course_model_path(data)
    cached = path.is_file()
    t0 = time.perf_counter()
    model = cached_model.course_model(data, verbose=args.verbose)
    acc = model.course_metrics.get("accuracy")
    print(f"Course model ({config.profile()} profile, {data.name}): "
          f"{'loaded' if cached else 'trained'} in {time.perf_counter() - t0:.0f} s"
          + (f", PrivateTest accuracy {acc:.1%}" if acc is not None else "") + f"; {path}")
    return 0


def _live(args) -> int:
    from . import live
    from .video import CODECS, check_writable

    if (args.video is None) == (args.camera is None):
        raise ValueError("give a VIDEO file or --camera INDEX (one of the two)")
    for path in (args.out, args.csv):   # checked before any work, so a bad path costs nothing
        if path is not None:
            check_writable(path)
    if args.out is not None and Path(args.out).suffix.lower() not in CODECS:
        raise ValueError(f"--out {args.out}: the annotated video must end in one of {', '.join(CODECS)}")
    if args.video is not None:
        capture, _, _ = live.open_video(args.video)
    else:
        capture = live.open_camera(args.camera)
    capture.release()
    model = live.load_model(args.model) if args.model else live.default_model()
    options = {} if args.margin is None else {"margin": args.margin}
    pipeline = live.LivePipeline(model, detect_every=args.every, smoothing=args.smoothing, **options)
    if args.video is not None:
        print(live.process_video(pipeline, args.video, out=args.out, csv_path=args.csv, progress=True))
        return 0
    results = live.run_camera(pipeline, args.camera, out=args.out, seconds=args.seconds, show=not args.no_window)
    if args.csv is not None:
        from . import atomic

        atomic.write_text(args.csv, live.results_csv(results, pipeline.class_names))
    if results:
        lat = live.latency_summary(results)
        print(f"{len(results)} frames; pipeline {lat.attrs['fps']:.1f} frames/s, latency p50 "
              f"{lat.loc['p50', 'total']:.1f} ms, p95 {lat.loc['p95', 'total']:.1f} ms")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fercourse", description="Tools of the facial expression recognition course.")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="datasets in the data home").add_subparsers(dest="action", required=True)
    data.add_parser("info", help="list the datasets in the data home with their counts").set_defaults(func=_data_info)
    fetch = data.add_parser("fetch", help="put a downloaded dataset in place and check it")
    fetch.add_argument("dataset", choices=["fer2013", "ck+", "ckplus"])
    fetch.add_argument("--from", dest="source", metavar="PATH", help="the downloaded file (Kaggle archive .zip, fer2013.csv or fer2013.tar.gz; for CK+ the folder holding its zips, or CK+48)")
    fetch.add_argument("--kaggle", action="store_true", help="download with the Kaggle CLI (needs an API token)")
    fetch.add_argument("--force", action="store_true", help="replace a different copy already in the data home")
    fetch.set_defaults(func=_data_fetch)

    faces = sub.add_parser("faces", help="face detection and cropping").add_subparsers(dest="action", required=True)
    crop = faces.add_parser("crop", help="crop the face of every image in SRC into DST")
    crop.add_argument("src")
    crop.add_argument("dst")
    crop.add_argument("--size", type=int, default=48, help="side of the square crop in pixels (default 48)")
    crop.add_argument("--margin", type=float, default=0.2, help="margin around the face box, as a fraction of its side")
    crop.add_argument("--align", action="store_true", help="rotate so that the eyes are level")
    crop.add_argument("--all", action="store_true", help="crop every face, not only the largest")
    crop.set_defaults(func=_faces_crop)

    train = sub.add_parser("train", help="train a model of the zoo on the course data; re-run to resume")
    train.add_argument("model")
    train.add_argument("--run-dir", help="folder for checkpoints, history and metrics (default: runs/<model>-<data>-<profile>)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--fresh", action="store_true", help="start the run afresh instead of resuming it")
    train.set_defaults(func=_train)

    model = sub.add_parser("course-model", help="train (once) and cache the network chapters 5-9 share")
    model.add_argument("--verbose", type=int, default=0, choices=[0, 1, 2], help="Keras's progress output")
    model.add_argument("--dataset", choices=config.DATASET_CHOICES,
                       help="the data to train on (default: FERCOURSE_DATASET, else auto: FER2013 when "
                            "the data home holds it); chapter 7 reads its synthetic clips with the "
                            "synthetic faces' model")
    model.set_defaults(func=_course_model)

    live = sub.add_parser("live", help="an emoji over each face of a video file or a camera, timed")
    live.add_argument("video", nargs="?", help="a video file to annotate (or use --camera)")
    live.add_argument("--camera", type=int, metavar="INDEX", help="read camera INDEX (0: the first) instead of a file")
    live.add_argument("--out", help="write the annotated video here (.mp4, or .avi)")
    live.add_argument("--csv", help="write the per-frame predictions here (time, face box, probabilities)")
    live.add_argument("--model", help="a Keras model file (.keras) taking square face crops (default: the course model)")
    live.add_argument("--every", type=int, default=3, metavar="K", help="detect faces every K frames (default 3)")
    live.add_argument("--smoothing", type=float, default=0.3, metavar="SECONDS",
                      help="time constant of the probabilities' moving average (default 0.3; 0: none)")
    live.add_argument("--margin", type=float, default=None, help="crop margin around the face box (default: the pipeline's)")
    live.add_argument("--seconds", type=float, help="camera: stop after this many seconds")
    live.add_argument("--no-window", action="store_true", help="camera: show no window (record with --out)")
    live.set_defaults(func=_live)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FileExistsError, NotADirectoryError, FloatingPointError) as exc:
        # Bad input is the user's to fix: say what and where, without a traceback.
        print(f"fercourse: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
