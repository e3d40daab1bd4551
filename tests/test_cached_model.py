"""The course model: trained once per data, profile, seed and code, then loaded from the data home."""

import warnings

import numpy as np
import pytest

pytest.importorskip("keras")

import fercourse  # noqa: E402
from fercourse import cached_model, recipes  # noqa: E402
from fercourse.datasets import make_faces  # noqa: E402


@pytest.fixture
def one_epoch(monkeypatch, tmp_path):
    monkeypatch.setenv("FERCOURSE_DATA", str(tmp_path))
    monkeypatch.setitem(recipes.RECIPES, "compact", {"quick": dict(epochs=1, batch_size=64, augment="flip")})
    return make_faces(210, seed=1)


def test_trained_once_then_loaded_and_keyed_by_data(one_epoch, tmp_path):
    data = one_epoch
    first = fercourse.course_model(data)
    path = cached_model.course_model_path(data)
    assert path.is_file() and path.parent == tmp_path / "models"
    assert first.input_shape == (None, 48, 48, 1) and first.output_shape == (None, 7)
    assert 0 <= first.course_metrics["accuracy"] <= 1
    assert not (tmp_path / "runs" / path.stem).exists()  # checkpoints gone once cached
    again = fercourse.course_model(data)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = data.replace(labels=np.roll(data.labels, 1))
    assert cached_model.course_model_path(other) != path  # other data, other model


def test_a_damaged_cache_is_retrained_not_trusted(one_epoch):
    data = one_epoch
    fercourse.course_model(data)
    path = cached_model.course_model_path(data)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="cannot be loaded .* training the model again"):
        model = fercourse.course_model(data)
    assert model.output_shape == (None, 7) and path.stat().st_size > 10_000


def test_the_key_follows_profile_seed_and_code(one_epoch, monkeypatch):
    data = one_epoch
    base = cached_model.course_model_path(data)
    monkeypatch.setenv("FERCOURSE_SEED", "3")
    assert cached_model.course_model_path(data) != base
    monkeypatch.delenv("FERCOURSE_SEED")
    monkeypatch.setitem(recipes.RECIPES, "compact", {"quick": dict(epochs=2, batch_size=64, augment="flip")})
    assert cached_model.course_model_path(data) != base
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monkeypatch.setitem(recipes.RECIPES, "compact", {"quick": dict(epochs=1, batch_size=64, augment="flip")})
        assert cached_model.course_model_path(data) == base
