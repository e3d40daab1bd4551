"""Profiles, the data home and the seed."""

import numpy as np
import pytest

from fercourse import config


def test_quick_is_the_default(monkeypatch):
    monkeypatch.delenv("FERCOURSE_PROFILE", raising=False)
    assert config.profile() == "quick" and config.is_quick()
    assert config.by_profile(quick=1, full=2) == 1


def test_full_profile(monkeypatch):
    monkeypatch.setenv("FERCOURSE_PROFILE", " Full ")
    assert config.profile() == "full" and config.by_profile(quick=1, full=2) == 2


@pytest.mark.parametrize("var, call", [("FERCOURSE_PROFILE", config.profile),
                                       ("FERCOURSE_DATASET", config.dataset_choice)])
def test_bad_choice_lists_the_valid_ones(monkeypatch, var, call):
    monkeypatch.setenv(var, "fast")
    with pytest.raises(ValueError) as err:
        call()
    assert "'fast'" in str(err.value) and var in str(err.value)
    valid = config.PROFILES if var == "FERCOURSE_PROFILE" else config.DATASET_CHOICES
    assert all(v in str(err.value) for v in valid)


def test_data_home_default_is_the_course_data_folder(monkeypatch):
    monkeypatch.delenv("FERCOURSE_DATA", raising=False)
    assert config.data_home() == config.project_root().resolve() / "data"


def test_data_home_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path / "d"))
    assert config.data_home() == (tmp_path / "d").resolve() and not (tmp_path / "d").exists()
    assert config.data_home(create=True).is_dir()


def test_data_home_that_is_a_file_is_an_error(monkeypatch, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("FERCOURSE_DATA", str(f))
    with pytest.raises(NotADirectoryError, match="FERCOURSE_DATA"):
        config.data_home()


def test_seed(monkeypatch):
    monkeypatch.delenv("FERCOURSE_SEED", raising=False)
    assert config.seed() == 0
    monkeypatch.setenv("FERCOURSE_SEED", "42")
    assert config.seed() == 42
    monkeypatch.setenv("FERCOURSE_SEED", " 7 ")
    assert config.seed() == 7
    monkeypatch.setenv("FERCOURSE_SEED", str(2**32 - 1))
    assert config.seed() == 2**32 - 1


@pytest.mark.parametrize("value", ["-3", "forty-two", "1.5", "1e3", "4294967296", "0x10", "\u00b2"])
def test_a_bad_seed_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("FERCOURSE_SEED", value)
    with pytest.raises(ValueError) as err:
        config.seed()
    assert str(err.value) == (f"FERCOURSE_SEED={value!r} is not a valid seed; "
                              "expected a whole number from 0 to 4294967295")
    with pytest.raises(ValueError, match="FERCOURSE_SEED"):
        config.seed_everything()


@pytest.mark.parametrize("value", [-1, 2**32, 1.5, "x", True])
def test_seed_everything_checks_its_argument(value):
    with pytest.raises(ValueError, match=r"seed_everything\(value\)=.* is not a valid seed"):
        config.seed_everything(value)


def test_cache_home_defaults_to_the_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path / "d"))
    monkeypatch.delenv("FERCOURSE_CACHE", raising=False)
    assert config.cache_home() == (tmp_path / "d").resolve() / ".cache"
    monkeypatch.setenv("FERCOURSE_CACHE", "  ")
    assert config.cache_home() == (tmp_path / "d").resolve() / ".cache"


def test_cache_home_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FERCOURSE_CACHE", str(tmp_path / "c"))
    assert config.cache_home() == (tmp_path / "c").resolve() and not (tmp_path / "c").exists()
    from fercourse.datasets import cache

    assert cache.cache_dir() == config.cache_home()


def test_cache_home_that_is_a_file_is_an_error(monkeypatch, tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    monkeypatch.setenv("FERCOURSE_CACHE", str(f))
    with pytest.raises(NotADirectoryError, match="FERCOURSE_CACHE"):
        config.cache_home()


def test_seed_everything_makes_numpy_repeatable(monkeypatch):
    monkeypatch.setenv("FERCOURSE_SEED", "7")
    assert config.seed_everything() == 7
    a = np.random.rand(3)
    config.seed_everything()
    np.testing.assert_array_equal(a, np.random.rand(3))


def test_describe_names_everything(monkeypatch, tmp_path):
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path))
    text = config.describe()
    assert "profile=quick" in text or "profile=full" in text
    assert str(tmp_path.resolve()) in text and "seed=" in text
