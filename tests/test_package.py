"""The package's top level: lazy submodules, show_source, exercise verdicts."""

import subprocess
import sys

import pytest

import fercourse
from fercourse.exercises import Verdict, correct, wrong


def test_import_is_light():
    # `import fercourse` must not pull in Keras or OpenCV: the CLI and data layer start fast.
    code = "import sys, fercourse, fercourse.config, fercourse.datasets; print(sorted(m for m in ('keras', 'cv2', 'tensorflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_submodules_load_on_first_use():
    assert fercourse.config.profile() in fercourse.config.PROFILES
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        fercourse.nonsense


def test_every_module_loads_on_first_use_and_is_on_the_map():
    from pathlib import Path

    root = Path(fercourse.__file__).parent
    on_disk = {p.stem for p in root.glob("*.py") if p.stem != "__init__"}
    on_disk |= {p.parent.name for p in root.glob("*/__init__.py")}
    assert sorted(fercourse._SUBMODULES) == sorted(on_disk), "fercourse._SUBMODULES must list every module"
    assert len(set(fercourse._SUBMODULES)) == len(fercourse._SUBMODULES)
    assert set(on_disk) <= set(dir(fercourse))
    # The architecture note names every module, nested ones included (``models.cnns``).
    note = (root / "README.md").read_text()
    nested = {f"{p.parent.name}.{p.stem}" for p in root.glob("*/*.py")
              if p.stem != "__init__" and p.parent.name != "exercises"}
    missing = sorted(m for m in on_disk | nested if f"`{m}`" not in note)
    assert not missing, f"fercourse/README.md does not name {missing}"


def test_show_source_prints_without_ipython(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_ipython(name, *args, **kw):
        if name.startswith("IPython"):
            raise ImportError(name)
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ipython)
    fercourse.show_source(fercourse.labels.merge_disgust)
    assert "def merge_disgust" in capsys.readouterr().out


def test_verdicts_read_as_sentences():
    yes, no = correct("all 10 rectangles match."), wrong("rectangle (0, 0, 3, 3) sums to 8, expected 9.")
    assert bool(yes) and not bool(no)
    assert str(yes) == "Correct. all 10 rectangles match."
    assert str(no).startswith("Not yet: rectangle")
    assert "✅" in yes._repr_markdown_() and "❌" in no._repr_markdown_()
    assert isinstance(yes, Verdict)
