"""benchmarks/gpu_full.py and benchmarks/device_payload.py: the full profile's one GPU command.

The GPU run itself cannot happen here; these tests run its parts on tiny inputs: the plan,
FER2013's pack, the wheels, the records, the selection, and a training run of one epoch on a
few synthetic faces through each of the two paths (``train_named``; a model built and compiled
here), with a tiny network in place of the real ones.  The end-to-end smoke run
(``python benchmarks/gpu_full.py --smoke``: eight processes, the real networks, nbval) takes
minutes on two cores and is left to the script.
"""

from __future__ import annotations

import json
import math
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import face_pixels, write_fer_tree

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import device_payload as payload  # noqa: E402
import gpu_full  # noqa: E402


# ----------------------------------------------------------------------------- candidates
def test_candidates_are_named_once_and_grouped():
    cands = gpu_full.candidates()
    names = [c.name for c in cands]
    assert len(names) == len(set(names))
    assert sum(c.group == "best" for c in cands) == 5
    assert {c.model for c in cands if c.group == "breuer_kimmel"} == {"breuer_kimmel"}
    assert gpu_full.candidate("vgg_bn-erase").overrides["augment"].erase == 0.5
    with pytest.raises(ValueError, match="vgg_bn-long"):
        gpu_full.candidate("vgg_bn-nope")


def test_candidate_build_arguments_are_the_builders_own():
    import inspect

    from fercourse import models

    for cand in gpu_full.candidates():
        params = inspect.signature(models.get_builder(cand.model)).parameters
        assert set(cand.build) <= set(params), cand.name
        assert cand.uses_train_named == (not cand.build and not cand.label_smoothing and not cand.plateau)
        json.dumps(cand.settings())  # readable in the records


# ----------------------------------------------------------------------------- the plan
def _record(folder, model, seconds, batch):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model}-fer2013-full.json"
    path.write_text(json.dumps({"history": {"seconds": seconds}, "metrics": {"batch_size": batch}}))
    return path


def test_seconds_per_epoch_reads_the_full_profile_record(tmp_path):
    _record(tmp_path, "vgg_bn", [12.0, 2.0, 2.4, 1.6, 2.2], 64)
    speed = gpu_full.seconds_per_epoch("vgg_bn", tmp_path)
    assert speed["seconds_per_epoch"] == pytest.approx(2.1)
    assert speed["compile_seconds"] == pytest.approx(9.9)
    assert speed["batch_size"] == 64
    with pytest.raises(FileNotFoundError, match="compact-fer2013-full.json"):
        gpu_full.seconds_per_epoch("compact", tmp_path)
    _record(tmp_path, "mememoji", [3.0], 64)
    with pytest.raises(ValueError, match="at least 2"):
        gpu_full.seconds_per_epoch("mememoji", tmp_path)


def test_the_course_records_size_every_candidate():
    for model in {c.model for c in gpu_full.candidates()}:
        speed = gpu_full.seconds_per_epoch(model)
        assert 0 < speed["seconds_per_epoch"] < 60 and speed["batch_size"] > 0


def test_plan_runs_fills_the_time_and_shares_the_gpu(tmp_path):
    _record(tmp_path, "vgg_bn", [12.0, 2.0, 2.0, 2.0], 64)
    _record(tmp_path, "breuer_kimmel", [10.0, 1.0, 1.0, 1.0], 128)
    vgg, bk = gpu_full.candidate("vgg_bn-long"), gpu_full.candidate("breuer_kimmel-recipe")

    alone = gpu_full.plan_runs([vgg], seconds_available=600, results_dir=tmp_path)[0]
    fixed = gpu_full.STARTUP_SECONDS + 10 * gpu_full.COMPILE_SLOWDOWN + gpu_full.TEST_RESERVE_SECONDS
    assert alone["slowdown"] == 1.0
    assert alone["epochs"] == math.floor((600 - fixed) / 2.0)

    together = gpu_full.plan_runs([vgg, vgg, bk], seconds_available=600, n_chapters=5, results_dir=tmp_path)
    factor = gpu_full.slowdown(["vgg_bn", "vgg_bn", "breuer_kimmel"], 5)
    assert factor > 1 and together[0]["slowdown"] == round(factor, 2)
    assert together[0]["epochs"] == math.floor((600 - fixed) / (2.0 * factor)) < alone["epochs"]
    assert together[2]["epochs"] > together[0]["epochs"]  # the faster network gets more epochs

    smoke = gpu_full.plan_runs([vgg, bk], seconds_available=600, smoke=True, results_dir=tmp_path)
    assert [p["epochs"] for p in smoke] == [1, 1] and smoke[0]["epochs_full"] > 1
    assert gpu_full.plan_runs([vgg], seconds_available=5, results_dir=tmp_path)[0]["epochs"] == 1


def test_slowdown_and_memory_fraction():
    assert gpu_full.slowdown([], 0) == 1.0
    assert gpu_full.slowdown(["vgg_bn"] * 4, 0) == pytest.approx(4 * gpu_full.GPU_SHARE["vgg_bn"])
    for n in (1, 7, 12):
        assert n * gpu_full.memory_fraction(n) <= gpu_full.MEMORY_FRACTION_TOTAL + 1e-9
    with pytest.raises(ValueError, match="at least 1"):
        gpu_full.memory_fraction(0)


# ----------------------------------------------------------------------------- FER2013, packed
@pytest.fixture
def jpeg_fer_zip(tmp_path):
    path = tmp_path / "fer2013.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train/", b"")
        write_fer_tree(zf.writestr, ext=".jpg")
        zf.writestr("README.txt", b"not a face")
    return path


def test_pack_rebuilds_identical_members_the_loader_reads_alike(jpeg_fer_zip, tmp_path, data_home):
    from fercourse.datasets import load_fer2013

    info = payload.pack_fer2013(jpeg_fer_zip, tmp_path / "fer.pack")
    assert info["prefix_bytes"] > 100  # the JPEGs' shared tables are stored once
    rebuilt = payload.unpack_fer2013(tmp_path / "fer.pack", tmp_path / "rebuilt" / "fer2013.zip")
    assert rebuilt["members"] == info["members"]
    with zipfile.ZipFile(jpeg_fer_zip) as a, zipfile.ZipFile(tmp_path / "rebuilt" / "fer2013.zip") as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())
    one = load_fer2013(jpeg_fer_zip, use_cache=False)
    two = load_fer2013(tmp_path / "rebuilt" / "fer2013.zip", use_cache=False)
    assert np.array_equal(one.images, two.images) and np.array_equal(one.labels, two.labels)


def test_unpack_refuses_a_damaged_pack(jpeg_fer_zip, tmp_path):
    pack = tmp_path / "fer.pack"
    payload.pack_fer2013(jpeg_fer_zip, pack)
    good = pack.read_bytes()
    (tmp_path / "cut.pack").write_bytes(good[:-10])
    with pytest.raises(ValueError, match="truncated"):
        payload.unpack_fer2013(tmp_path / "cut.pack", tmp_path / "a.zip")
    flipped = bytearray(good)
    flipped[-5] ^= 0xFF
    (tmp_path / "flip.pack").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="CRC-32"):
        payload.unpack_fer2013(tmp_path / "flip.pack", tmp_path / "b.zip")
    with pytest.raises(ValueError, match="not a FER2013 pack"):
        payload.unpack_fer2013(jpeg_fer_zip, tmp_path / "c.zip")
    assert not (tmp_path / "a.zip").exists() and not (tmp_path / "b.zip").exists()


# ----------------------------------------------------------------------------- wheels
def _wheel(folder, name, version, requires=(), tag="py3-none-any", module=True):
    path = folder / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        if module:
            z.writestr(f"{name}.py", f"VERSION = {version!r}\n")
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\n"
                   f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires))
        z.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: {tag}\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def test_unmet_requirements_names_what_nothing_provides(tmp_path):
    whl = _wheel(tmp_path, "probe", "1.0", ["numpy>=1", "foo-bar>=2", "debugpy", "probe_two",
                                             "appnope; platform_system == 'Darwin'",
                                             "sphinx; extra == 'docs'"])
    two = _wheel(tmp_path, "probe_two", "1.0", ["Jinja2"])
    assert payload.unmet_requirements([whl, two]) == {whl.name: ["foo-bar>=2"]}


def test_install_wheels_installs_into_a_folder_first_on_the_path(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels, "gfprobe", "1.0")
    info = payload.install_wheels(wheels, tmp_path / "site")
    assert info["installed"] == ["gfprobe-1.0-py3-none-any.whl"]
    assert (tmp_path / "site" / "gfprobe.py").is_file() and sys.path[0] == str(tmp_path / "site")
    assert payload.install_wheels(tmp_path / "empty", tmp_path / "site2")["installed"] == []

    _wheel(wheels, "gfprobe", "2.0")
    with pytest.raises(RuntimeError, match="two versions of gfprobe"):
        payload.install_wheels(wheels, tmp_path / "site3")
    other = tmp_path / "other"
    other.mkdir()
    _wheel(other, "gfnative", "1.0", tag="cp27-cp27m-win32")
    with pytest.raises(RuntimeError, match="another Python or platform.*gfnative"):
        payload.install_wheels(other, tmp_path / "site4")


def test_download_command_targets_the_gpu_machines_python():
    cmd = payload.download_command("/x", ["keras==3.15.1"])
    assert cmd[cmd.index("--python-version") + 1] == payload.DEVICE_PYTHON
    assert "--no-deps" in cmd and "--only-binary=:all:" in cmd and cmd[-1] == "keras==3.15.1"
    assert payload.wheel_name("jupyter_client-8.10.0-py3-none-any.whl") == "jupyter-client"


# ----------------------------------------------------------------------------- evaluation
def test_ten_crop_views():
    images = np.stack([face_pixels(i) for i in range(3)])
    views = gpu_full.ten_crop_views(images, crop=40)
    assert len(views) == 10 and all(v.shape == images.shape for v in views)
    for crop, mirror in zip(views[::2], views[1::2]):
        assert np.array_equal(mirror, crop[:, :, ::-1])
    flat = np.full((2, 48, 48, 1), 77, np.uint8)
    assert all((v == 77).all() for v in gpu_full.ten_crop_views(flat))
    with pytest.raises(ValueError, match="crop must be between"):
        gpu_full.ten_crop_views(images, crop=60)
    with pytest.raises(ValueError, match="images"):
        gpu_full.ten_crop_views(np.zeros((4, 4)))


def _tiny_classifier(k=7):
    import keras

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(keras.layers.Rescaling(1 / 255)(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(k, activation="softmax")(x))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_smoothed_loss_and_deadline_stop():
    import keras

    from fercourse import train

    loss = gpu_full.smoothed_sparse_crossentropy(3, smoothing=0.3)
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], "float32")
    target = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])  # (1 - 0.3) * one-hot + 0.3 / 3
    want = np.mean(-(target * np.log(p)).sum(axis=1))
    got = float(keras.ops.convert_to_numpy(loss(np.array([0, 2]), p)))
    assert got == pytest.approx(want, rel=1e-5)
    assert "sparse_categorical" in loss.name  # fit checks the labels and monitors accuracy by it

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (32, 48, 48), dtype=np.uint8), rng.integers(0, 7, 32)
    stop = gpu_full.deadline_stop(time.time() - 1)
    result = train.fit(_tiny_classifier(), (x, y, x[:8], y[:8]), epochs=4, batch_size=16, augment=False,
                       verbose=0, callbacks=[stop])
    assert result.epochs == 1 and stop.stopped_at == 1
    far = gpu_full.deadline_stop(time.time() + 3600)
    result = train.fit(_tiny_classifier(), (x, y, x[:8], y[:8]), epochs=2, batch_size=16, augment=False,
                       verbose=0, callbacks=[far], early_stopping=False)
    assert result.epochs == 2 and far.stopped_at is None


def test_split_metrics_reports_every_view_apart():
    from fercourse.datasets.synthetic import make_faces

    data = make_faces(60, seed=1)
    metrics = gpu_full.split_metrics(_tiny_classifier(), data, "PrivateTest")
    n = len(data.split("PrivateTest")[1])
    assert metrics["images"] == n and np.sum(metrics["confusion"]) == n
    assert set(metrics["per_class_accuracy"]) == set(data.class_names)
    for key in ("accuracy", "accuracy_flip_tta", "accuracy_ten_crop_tta", "macro_f1_ten_crop_tta"):
        assert 0.0 <= metrics[key] <= 1.0


def _done(name, public, private, flip=None, crop=None, group="best"):
    return {"name": name, "group": group, "status": "done", "training_seconds": 60.0,
            "public_test": {"accuracy": public, "accuracy_flip_tta": flip or public,
                            "accuracy_ten_crop_tta": crop or public},
            "private_test": {"accuracy": private, "accuracy_flip_tta": private + 0.01,
                             "accuracy_ten_crop_tta": private + 0.02}}


def test_select_best_chooses_on_public_test_alone():
    records = [_done("a", 0.70, 0.74), _done("b", 0.72, 0.70, flip=0.73, crop=0.725),
               _done("c", 0.99, 0.99, group="breuer_kimmel"), {"name": "d", "group": "best", "status": "trained"}]
    best = gpu_full.select_best(records)
    assert best["winner"] == "b"  # not "a", whose PrivateTest is higher
    assert best["tta_chosen_on_public"] == "flip"
    assert best["private_accuracy_with_chosen_tta"] == pytest.approx(0.71)
    assert set(best["candidates_public_accuracy"]) == {"a", "b"}
    assert gpu_full.select_best([])["winner"] is None


# ----------------------------------------------------------------------------- chapters, records
def test_chapter_notebooks(tmp_path):
    smoke = gpu_full.chapter_notebooks("smoke", tmp_path)
    nb = json.loads(smoke[0].read_text())
    assert [c["cell_type"] for c in nb["cells"]] == ["code", "code"]
    assert gpu_full.chapter_notebooks("none", tmp_path) == []
    every = gpu_full.chapter_notebooks("all", tmp_path)
    assert every == sorted(every) and all(p.suffix == ".ipynb" and p.name[:2].isdigit() for p in every)
    with pytest.raises(FileNotFoundError, match="chapters/99_none.ipynb"):
        gpu_full.chapter_notebooks("chapters/99_none.ipynb", tmp_path)


def test_chapter_outcome_reads_the_junit_report(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite tests="3" failures="1" errors="0" skipped="0">'
                     '<testcase name="Cell 0"/><testcase name="Cell 1"><failure message="AssertionError: '
                     'deep beats shallow">trace</failure></testcase><testcase name="Cell 2"/>'
                     "</testsuite></testsuites>")
    out = gpu_full.chapter_outcome(junit, returncode=1, seconds=12.34, timed_out=False, log_tail="log")
    assert (out["cells_tests"], out["cells_failures"], out["passed"]) == (3, 1, False)
    assert out["first_failure"]["cell"] == "Cell 1" and "deep beats" in out["first_failure"]["message"]
    log = ("chapters/03.ipynb::Cell 0 PASSED   [ 10%]\n"
           "chapters/03.ipynb::Cell 1 PASSED   [ 20%]\nchapters/03.ipynb::Cell 2 ")
    late = gpu_full.chapter_outcome(tmp_path / "none.xml", returncode=-9, seconds=400, timed_out=True, log_tail=log)
    assert late["passed"] is False and late["timed_out"] and "cells_tests" not in late
    assert late["last_cell_finished"] == "Cell 1" and late["log_tail"].endswith("Cell 2 ")
    assert gpu_full.chapter_outcome(tmp_path / "none.xml", returncode=0, seconds=1, timed_out=False)["passed"]


def test_run_outcome_keeps_what_a_stopped_run_left(tmp_path):
    rec_dir, run_dir = tmp_path / "rec", tmp_path / "run"
    rec_dir.mkdir()
    run_dir.mkdir()
    (rec_dir / "record.json").write_text(json.dumps({"name": "a", "status": "training", "epochs_planned": 9}))
    (run_dir / "history.json").write_text(json.dumps({"loss": [2.0, 1.5, 1.2], "val_accuracy": [0.3, 0.4, 0.5]}))
    rec = gpu_full.run_outcome(rec_dir, run_dir, "a", returncode=-15, seconds=99.9, timed_out=True, log_tail="x")
    assert (rec["status"], rec["epochs"], rec["epochs_planned"], rec["returncode"]) == ("training", 3, 9, -15)
    assert rec["history"]["val_accuracy"] == [0.3, 0.4, 0.5] and rec["stopped_at_budget"] and rec["log_tail"] == "x"
    (rec_dir / "record.json").write_text(json.dumps({"name": "a", "status": "done", "history": {"loss": [1.0]}}))
    rec = gpu_full.run_outcome(rec_dir, run_dir, "a", returncode=0, seconds=5, timed_out=False)
    assert rec["history"] == {"loss": [1.0]} and "log_tail" not in rec and not rec["stopped_at_budget"]
    missing = gpu_full.run_outcome(tmp_path / "none", tmp_path / "none", "b", returncode=1, seconds=1, timed_out=False)
    assert missing["status"] == "no record"


def test_kill_tree_ends_a_process_and_what_it_started_in_its_own_session(tmp_path):
    import subprocess

    psutil = pytest.importorskip("psutil")
    # Like pytest starting a kernel: the grandchild runs in a session of its own.
    script = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True); "
              f"open({str(tmp_path / 'pid')!r}, 'w').write(str(p.pid)); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    for _ in range(100):
        if (tmp_path / "pid").is_file() and (tmp_path / "pid").read_text():
            break
        time.sleep(0.1)
    grandchild = int((tmp_path / "pid").read_text())
    gpu_full.kill_tree(proc, grace=2)
    assert proc.returncode == -15  # its own exit status, not one lost to another waiter
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE


def test_finalize_leaves_three_files(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    (work / "records" / "run-a").mkdir(parents=True)
    (work / "records" / "run-a" / "record.json").write_text("{}")
    out.mkdir()
    log = gpu_full.Log(out / "log.txt", time.time())
    log("a line")
    files = gpu_full.finalize(out, work, {"value": float("nan"), "augment": object()})
    assert files == sorted(gpu_full.OUT_FILES)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["value"] is None and summary["augment"].startswith("<object")
    with tarfile.open(out / "records.tar.gz") as tar:
        assert "records/run-a/record.json" in tar.getnames()
    assert "a line" in (out / "log.txt").read_text()


def test_plan_mode_writes_the_plan_and_runs_nothing(tmp_path):
    assert gpu_full.main(["--plan", "--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [p["name"] for p in summary["plan"]["runs"]] == [c.name for c in gpu_full.candidates()]
    assert all(p["epochs"] >= 1 for p in summary["plan"]["runs"]) and summary["runs"] == {}
    assert summary["hardware"]["cpu"]
    with pytest.raises(SystemExit):
        gpu_full.main(["--budget-seconds", "10", "--out", str(tmp_path / "o2")])


# ----------------------------------------------------------------------------- training, one epoch
@pytest.fixture
def tiny_zoo(monkeypatch):
    """vgg_bn and breuer_kimmel replaced by a tiny network that takes the same arguments and is
    compiled alike (SGD with Nesterov momentum / Adam), so a run's whole path takes seconds; the
    real networks train in the end-to-end smoke run (gpu_full.py --smoke)."""
    import keras

    from fercourse import models

    def tiny(name, optimizer):
        def build(input_shape=(48, 48, 1), num_classes=7, *, learning_rate=0.05, dropout=0.4, compile=True):
            model = _tiny_classifier(num_classes)
            model.compile(optimizer=optimizer(learning_rate), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model
        return build

    monkeypatch.setitem(models.MODELS, "vgg_bn", tiny("vgg_bn", lambda lr: keras.optimizers.SGD(
        lr, momentum=0.9, nesterov=True)))
    monkeypatch.setitem(models.MODELS, "breuer_kimmel", tiny("breuer_kimmel", lambda lr: keras.optimizers.Adam(1e-3)))


@pytest.mark.parametrize("name", ["vgg_bn-sgd-plateau", "breuer_kimmel-course"])
def test_run_candidate_trains_and_scores_one_epoch(name, tiny_zoo, tmp_path, monkeypatch):
    from fercourse.datasets.synthetic import make_faces

    monkeypatch.setenv("FERCOURSE_PROFILE", "full")
    data = make_faces(60, seed=2)
    cand = gpu_full.candidate(name)
    assert cand.uses_train_named == (name == "breuer_kimmel-course")  # both paths are taken
    record = gpu_full.run_candidate(cand, data, epochs=1, deadline=time.time() + 600, run_dir=tmp_path / "run",
                                    smoke=True, record_path=tmp_path / "record.json", command="test")
    assert record["status"] == "done" and record["epochs"] == 1 and record["stopped"] == "completed"
    assert json.loads((tmp_path / "record.json").read_text())["status"] == "done"
    assert len(record["history"]["val_accuracy"]) == 1 and record["fit_metrics"]["batch_size"] == 32
    for split in ("public_test", "private_test"):
        assert 0.0 <= record[split]["accuracy"] <= 1.0
        assert 0.0 <= record[split]["accuracy_ten_crop_tta"] <= 1.0
        assert len(record[split]["confusion"]) == len(data.class_names)
    assert record["private_test"]["test_split"] == "PrivateTest"
    assert "accuracy" not in record["fit_metrics"]  # test figures live in private_test alone
    if name == "vgg_bn-sgd-plateau":  # the optimiser's own rate, not the warm-up + cosine schedule
        assert record["history"]["lr"][0] == pytest.approx(0.01)
