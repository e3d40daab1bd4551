"""The course as a whole: notebooks stored clean, the table of contents, citations, packaging."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts; clear them"


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "chapters/ holds no notebook"


#: The longest line a chapter's code cell may hold: one definition for every chapter.  A code
#: cell of the book shows this many characters a line at a laptop's width (1366 px; the font
#: size in _static/code-wrap.css is chosen for it, and tests/test_browser.py checks it); longer
#: lines would wrap there, as every long line does on a phone.
CODE_LINE_LIMIT = 99


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    nb = json.loads(path.read_text())
    long = [(c.get("id", i), n + 1, len(line)) for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code"
            for n, line in enumerate("".join(c["source"]).splitlines())
            if len(line) > CODE_LINE_LIMIT]
    assert not long, (f"{path.name}: code lines longer than {CODE_LINE_LIMIT} characters "
                      f"(cell id, line, length): {long}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_figure_the_prose_quotes_is_glued(path):
    # A {glue:text} reference to a name the code never glues fails the book build; say so here
    # without building it.  A name counts as glued when the code glues and spells the name as a
    # string somewhere (glue("name", ...), or a loop over names), as a keyword (a loop over
    # dict(name=...)), or as the start of an f-string (glue(f"name_{k}", ...)).
    nb = json.loads(path.read_text())
    text = {kind: "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind)
            for kind in ("markdown", "code")}
    quoted = set(re.findall(r"\{glue(?::\w+)?\}`([\w-]+)", text["markdown"]))
    code = text["code"]
    spelled = set(re.findall(r"""["']([\w-]+)["']""", code)) | set(re.findall(r"\b(\w+)=", code))
    prefixes = [p for p in re.findall(r"""\bf["']([\w-]+)\{""", code)]
    glued = {q for q in quoted if q in spelled or any(q.startswith(p) for p in prefixes)}
    missing = quoted - glued if "glue(" in code else quoted
    assert not missing, f"{path.name} quotes figures its code never glues: {sorted(missing)}"


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [c["file"] for c in part["chapters"]]
    return files


def test_every_toc_entry_exists_and_every_chapter_is_listed():
    files = _toc_files()
    for f in files:
        assert any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb")), f"{f} in _toc.yml does not exist"
    listed = {Path(f).name for f in files}
    on_disk = {p.stem for p in (ROOT / "chapters").iterdir() if p.suffix in (".md", ".ipynb")}
    assert on_disk <= listed, f"chapters missing from _toc.yml: {sorted(on_disk - listed)}"


def test_every_citation_is_in_the_bibliography():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.M))
    cited = set()
    for p in (ROOT / "chapters").glob("*.*"):
        if p.suffix not in (".md", ".ipynb"):
            continue
        text = p.read_text()
        for group in re.findall(r"\{cite(?::[pt])?\}`([^`]+)`", text):
            cited |= {k.strip() for k in group.split(",")}
    assert cited, "no citation found in the chapters"
    assert cited <= keys, f"cited but not in references.bib: {sorted(cited - keys)}"


def test_environment_yml_installs_the_pyproject_list():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert '-e ".[dev]"' in pip or "-e .[dev]" in pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires.startswith(">=") and python.split("=")[1] >= requires[2:]


def test_pyproject_pins_what_the_pitfalls_require():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = " ".join(project["dependencies"] + project["optional-dependencies"]["dev"])
    assert "opencv-python-headless>=4.8,<5" in deps
    assert re.search(r"jupyter-book>=1[^,]*,<2", deps)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("python3 course.py test", "python3 course.py book"):
        assert command in readme and command in ci


def test_course_commands_let_kernels_show_figures(monkeypatch):
    """A kernel started with MPLBACKEND=Agg sends no figures, and the book would have none."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_runner", ROOT / "course.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert "MPLBACKEND" not in runner.course_env()


def test_chapter_times_come_from_the_books_execution_cache(monkeypatch, tmp_path):
    """course.py runs on a bare Python: the times are read through the environment's own."""
    import importlib.util
    import sys

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    spec = importlib.util.spec_from_file_location("course_runner", ROOT / "course.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    (tmp_path / "chapters").mkdir()
    cache = get_cache(tmp_path / "_build" / ".jupyter_cache")
    for name, seconds in (("01_one", 12.5), ("02_two", 130.0)):
        uri = str(tmp_path / "chapters" / f"{name}.ipynb")
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"{seconds} + 1")])
        cache.cache_notebook_bundle(CacheBundleIn(notebook, uri, data={"execution_seconds": seconds}),
                                    check_validity=False)
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    assert runner.chapter_times(Path(sys.executable)) == {"01_one": 12.5, "02_two": 130.0}


def test_no_dataset_or_build_output_is_tracked():
    # The datasets' licences forbid redistribution, and build outputs go stale; both stay untracked.
    import shutil
    import subprocess

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    outputs = ("build/", "_build/", "dist/", "runs/", ".venv/")
    data_suffixes = (".zip", ".csv", ".npz", ".npy", ".png", ".jpg", ".jpeg", ".keras", ".h5", ".avi", ".mp4")
    bad = [f for f in tracked if f.startswith(outputs) or f.lower().endswith(data_suffixes)
           or (f.startswith("data/") and f != "data/README.md")]
    assert not bad, f"tracked files that must not be committed: {bad[:10]}"


RESULTS = sorted((ROOT / "chapters" / "results").glob("*.json"))


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_reference_run_records_are_whole_and_quoted_as_measured(path):
    # The book quotes these runs in prose; the record is the one source, and the prose must agree.
    run = json.loads(path.read_text())
    metrics, history = run["metrics"], run["history"]
    assert run["command"].endswith(f"fercourse train {metrics['model']}") and run["machine"]["gpu"]
    assert metrics["epochs"] == len(history["accuracy"]) == len(history["val_accuracy"]) == len(history["seconds"])
    assert metrics["best_value"] == pytest.approx(max(history["val_accuracy"]), abs=1e-6)
    assert metrics["best_epoch"] == history["val_accuracy"].index(max(history["val_accuracy"])) + 1
    assert sum(map(sum, metrics["confusion"])) == metrics["test_images"]
    correct = sum(metrics["confusion"][i][i] for i in range(len(metrics["confusion"])))
    assert correct / metrics["test_images"] == pytest.approx(metrics["accuracy"])
    quoted = [f"{metrics['accuracy']:.1%}".replace("%", " %"), f"{metrics['accuracy_flip_tta']:.1%}".replace("%", " %"),
              f"{metrics['seconds_total']:.0f} s"]
    appendix = (ROOT / "chapters" / "appendix_results.md").read_text()
    chapter = (ROOT / "chapters" / "03_shallow_vs_deep.ipynb").read_text()
    for text, where in ((appendix, "appendix_results.md"), (chapter, "03_shallow_vs_deep.ipynb")):
        missing = [q for q in quoted if q not in text]
        assert not missing, f"{where} does not quote {path.name}'s {missing}"


def test_there_are_reference_run_records():
    assert RESULTS, "chapters/results/ holds no record of a full run"
