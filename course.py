#!/usr/bin/env python3
"""Set up, build and test the course with one command each; needs only Python 3.11+.

    python3 course.py book     create or update .venv, then build the HTML book into _build/html
    python3 course.py test     create or update .venv, then run the whole test suite
    python3 course.py lab      open the chapters in JupyterLab
    python3 course.py env      only create or update .venv

Every command is safe to re-run: the environment is reinstalled only when pyproject.toml
changed, and the book re-executes only the notebooks that changed (Jupyter Book's cache).
Options: ``--here`` uses the running Python's environment instead of .venv (for a conda
environment made from environment.yml); ``book --fresh`` deletes ``_build`` first, so that every
chapter is executed again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".fercourse-installed"


def python_of(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_key() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_env(here: bool) -> Path:
    """The Python to run the course with, its packages installed and current."""
    if here:
        return Path(sys.executable)
    python = python_of(VENV)
    if not python.exists():
        print(f"Creating the environment {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != requirements_key():
        print("Installing the course's packages (pyproject.toml) ...", flush=True)
        start = time.perf_counter()
        run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        run([python, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"])
        STAMP.write_text(requirements_key())
        print(f"Installed in {time.perf_counter() - start:.0f} s.", flush=True)
    return python


def course_env() -> dict[str, str]:
    env = dict(os.environ)
    # TensorFlow's C++ start-up notices are noise in a book and a test log.
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    # MPLBACKEND must stay unset: a kernel started with MPLBACKEND=Agg draws its figures off-screen
    # and the executed chapters reach the book without a single one.
    env.pop("MPLBACKEND", None)
    return env


def check_figures() -> None:
    """Fail when a chapter that draws with matplotlib reached the book without a figure.

    Sphinx builds such a page without a warning, so -W alone would not notice.
    """
    empty = []
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        page = ROOT / "_build" / "html" / "chapters" / f"{notebook.stem}.html"
        source = notebook.read_text(encoding="utf-8")
        if ("plt." in source or "plots." in source) and "<img" not in page.read_text(encoding="utf-8"):
            empty.append(page.name)
    if empty:
        sys.exit(f"These pages were built without their figures: {', '.join(empty)}. "
                 "Was the kernel started with MPLBACKEND set? Rebuild with `python3 course.py book --fresh`.")


def run(cmd, **kw) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


# ---------------------------------------------------------------- the chapters' time budget
CHAPTER_BUDGET_S = 120
"""Seconds a chapter may take in the quick profile, course model cached, on the reference CPU."""
REFERENCE_CPU = "a 2-core x86-64 CPU without AVX-512 (AVX2 and FMA), TensorFlow on the CPU"
REFERENCE_CALIBRATION_S = 1.2
"""What the calibration workload (:data:`CALIBRATION`: the fastest of three epochs of 1,536 faces
through the course's network) took on the reference CPU: a 2-core AMD EPYC with oneDNN held to
AVX2, ``ONEDNN_MAX_CPU_ISA=AVX2``, nothing else running (1.10 to 1.54 s over three runs, median
1.19 s; 1.7 s when measured on a busy machine)."""
MARGIN = 2.5
"""A chapter fails the build when it takes more than MARGIN times its budget, scaled to this
machine's speed: a wide margin, because a book build shares the CPU with nothing else but
timings still vary by tens of percent from run to run."""
CALIBRATION = """
import time, numpy as np, keras
from fercourse import models
m = models.compact()
x = np.random.default_rng(0).integers(0, 256, (1536, 48, 48, 1)).astype("float32")
y = np.arange(1536) % 7
m.fit(x[:256], y[:256], batch_size=128, epochs=1, verbose=0)
times = []
for _ in range(3):
    t = time.perf_counter(); m.fit(x, y, batch_size=128, epochs=1, verbose=0)
    times.append(time.perf_counter() - t)
print(min(times))
"""


def _last_line_of(python: Path, script: str, *args: str) -> str:
    """The last line ``script`` prints, run by the environment's Python (this file runs on any)."""
    out = subprocess.run([str(python), "-c", script, *args], check=True, cwd=ROOT, env=course_env(),
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def machine_slowness(python: Path) -> float:
    """How many times slower than the reference CPU this machine trains the course's network."""
    return float(_last_line_of(python, CALIBRATION)) / REFERENCE_CALIBRATION_S


CHAPTER_TIMES = """
import json, sys
from pathlib import Path
from jupyter_cache import get_cache
root = Path(sys.argv[1])
times = {}
for record in get_cache(root / "_build" / ".jupyter_cache").list_cache_records():
    path = Path(record.uri)
    if path.parent == root / "chapters":
        times[path.stem] = float(record.data.get("execution_seconds", float("nan")))
print(json.dumps(times))
"""


def chapter_times(python: Path) -> dict[str, float]:
    """Seconds each chapter took when the book last executed it (Jupyter Book's execution cache).

    Read by the environment's own Python: this script runs on a bare Python, without jupyter-cache.
    """
    return json.loads(_last_line_of(python, CHAPTER_TIMES, str(ROOT)))


def check_budgets(python: Path) -> None:
    """Print each chapter's execution time and fail when one is far over its budget here."""
    times = chapter_times(python)
    slowness = machine_slowness(python)
    print(f"Chapter execution times (budget: {CHAPTER_BUDGET_S} s a chapter on {REFERENCE_CPU}; "
          f"this machine trains {slowness:.2f}x as long as that):")
    over = []
    for name, seconds in sorted(times.items()):
        limit = MARGIN * CHAPTER_BUDGET_S * max(slowness, 0.25)
        flag = "  OVER BUDGET" if seconds > limit else ""
        print(f"  {name:32s} {seconds:6.1f} s   (fails above {limit:.0f} s here){flag}")
        if flag:
            over.append(name)
    if over:
        sys.exit(f"{', '.join(over)} took more than {MARGIN:g}x the budget: cut what the quick profile "
                 "does there (see the budgets in course.py).")


def warm_course_model(python: Path) -> None:
    # Chapters 5-9 share one trained network; training it here, before the chapters run, keeps
    # its cost out of the chapter that happens to ask first, and says what it cost.  Chapter 7
    # reads synthetic clips through the synthetic faces' model, whatever the data home holds.
    run([python, "-m", "fercourse.cli", "course-model"], env=course_env())
    run([python, "-m", "fercourse.cli", "course-model", "--dataset", "synthetic"], env=course_env())


def book(python: Path, fresh: bool) -> None:
    if fresh:
        # The whole of _build: Sphinx's saved environment would otherwise keep serving the pages
        # it read before, whatever the execution cache holds.
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
    start = time.perf_counter()
    # -W turns warnings into errors, so a chapter that fails to execute, a broken
    # reference or a missing citation fails the build instead of shipping quietly.
    jupyter_book = python.parent / ("jupyter-book.exe" if os.name == "nt" else "jupyter-book")
    warm_course_model(python)
    run([jupyter_book, "build", ROOT, "--builder", "html", "-W", "-n", "--keep-going"], env=course_env())
    check_figures()
    check_budgets(python)
    print(f"Book built in {time.perf_counter() - start:.0f} s: open {ROOT / '_build' / 'html' / 'index.html'}")


def test(python: Path, extra: list[str]) -> None:
    # The unit tests, then every chapter under nbval (executed, outputs not compared).
    warm_course_model(python)
    run([python, "-m", "pytest", "tests", "chapters", "--nbval-lax", "-p", "no:cacheprovider", *extra], env=course_env())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["book", "test", "lab", "env"])
    parser.add_argument("--here", action="store_true", help="use this Python's environment, not .venv")
    parser.add_argument("--fresh", action="store_true", help="book: re-execute every chapter")
    args, extra = parser.parse_known_args(argv)
    try:
        python = ensure_env(args.here)
        if args.command == "book":
            book(python, args.fresh)
        elif args.command == "test":
            test(python, extra)
        elif args.command == "lab":
            run([python, "-m", "jupyter", "lab", ROOT / "chapters"], env=course_env())
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
