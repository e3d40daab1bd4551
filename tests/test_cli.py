"""The `fercourse` command: data info and fetch, and faces crop (train calls recipes.train_named, tested there)."""

import zipfile

import numpy as np
import pytest

from conftest import write_fer_tree
from fercourse import cli


def test_info_on_an_empty_data_home(data_home, capsys):
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert str(data_home) in out and "not present" in out and "synthetic" in out


def test_info_lists_fer2013_counts(fer_zip, data_home, capsys):
    (data_home / "fer2013.zip").write_bytes(fer_zip.read_bytes())
    assert cli.main(["data", "info"]) == 0
    out = capsys.readouterr().out
    assert "PublicTest" in out and "differ from FER2013's published sizes" in out


def test_fetch_without_from_explains_and_fails(data_home, capsys):
    assert cli.main(["data", "fetch", "fer2013"]) == 1
    assert "kaggle.com" in capsys.readouterr().err


def test_fetch_bad_file_is_a_clean_error(tmp_path, data_home, capsys):
    bad = tmp_path / "archive.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert cli.main(["data", "fetch", "fer2013", "--from", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "fercourse: error:" in err and "no images found" in err
    assert list(data_home.iterdir()) == []


def test_fetch_incomplete_copy(fer_zip, data_home, capsys):
    assert cli.main(["data", "fetch", "fer2013", "--from", str(fer_zip)]) == 2
    assert "not the complete FER2013" in capsys.readouterr().err


def test_kaggle_without_the_cli_says_how(monkeypatch, data_home):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="pip install kaggle"):
        cli.main(["data", "fetch", "fer2013", "--kaggle"])


def test_unknown_subcommand_is_rejected(capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "download"])
    assert "invalid choice" in capsys.readouterr().err


def test_faces_crop_writes_the_crops_and_reports(tmp_path, capsys):
    from skimage.data import astronaut

    from fercourse.images import load_image, save_image

    save_image(tmp_path / "src" / "happy" / "a.png", astronaut())
    save_image(tmp_path / "src" / "blank.png", np.full((80, 80), 90, np.uint8))
    dst = tmp_path / "crops"
    assert cli.main(["faces", "crop", str(tmp_path / "src"), str(dst), "--size", "32"]) == 0
    assert load_image(dst / "happy" / "a.png").shape == (32, 32)
    assert sorted(p.name for p in dst.rglob("*") if p.is_file()) == ["a.png"]
    out = capsys.readouterr().out
    assert "1 face crop(s) from 1 of 2 image(s)" in out and "no face found in 1: blank.png" in out


def test_course_model_trains_on_the_dataset_asked_for(monkeypatch, data_home, capsys):
    from fercourse import cached_model

    seen = []

    class Model:
        course_metrics = {}

    def fake_course_model(data, verbose=0):
        seen.append(data.name)
        return Model()

    # The training itself is tested in test_cached_model.py; here only the choice of data.
    monkeypatch.setattr(cached_model, "course_model", fake_course_model)
    assert cli.main(["course-model", "--dataset", "synthetic"]) == 0
    assert seen == ["synthetic"]
    assert "synthetic" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["course-model", "--dataset", "faces"])
