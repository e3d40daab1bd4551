"""The checks of chapter 5's exercises accept right answers and say what is wrong with wrong ones."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fercourse import au_units, explain
from fercourse.exercises import ch05
from fercourse.explain.gradients import class_score_function, input_gradients


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(6, 3, strides=4, padding="same", activation="relu", name="conv")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    out = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, out)


@pytest.fixture(scope="module")
def held():
    from fercourse.datasets import make_faces

    return make_faces(80, seed=11)


def _hand_made_grad_cam(model, face, c):
    a = explain.activation_maps(model, face[None], "conv2")
    _, g = input_gradients(class_score_function(model, start="conv2"), a, np.eye(7)[[c]])
    alpha = g.mean(axis=(1, 2), keepdims=True)
    return (alpha * a).sum(-1)[0]


def test_check_grad_cam(model, held):
    face, c = held.images[0], 3
    raw = _hand_made_grad_cam(model, face, c)
    assert ch05.check_grad_cam(np.maximum(raw, 0), model, face, c)
    up = explain.grad_cam(model, face[None], c)[0]
    assert ch05.check_grad_cam(up, model, face, c)
    # a face and class whose weighted sum goes negative somewhere (which depends on the
    # backend's random initialisation): forgetting the ReLU must be named
    signed = next((f, k, m) for f in held.images[:10] for k in range(7)
                  if (m := _hand_made_grad_cam(model, f, k)).min() < 0)
    assert "ReLU" in str(ch05.check_grad_cam(signed[2], model, signed[0], signed[1]))
    verdict = ch05.check_grad_cam(np.maximum(raw, 0) * raw.size, model, face, c)
    assert not verdict and "mean, not a sum" in str(verdict)
    assert "shape" in str(ch05.check_grad_cam(np.zeros((5, 5)), model, face, c))
    assert not ch05.check_grad_cam(np.maximum(raw, 0), model, face, (c + 1) % 7)


def test_check_au_unit(model, held):
    pooled = au_units.pooled_activations(model, held.images, "conv2")
    r = au_units.correlations(pooled, au_units.au_columns(held.extras["aus"], (4,)))[:, 0]

    def check(u):
        return ch05.check_au_unit(u, model, "conv2", held.images, held.extras["aus"], au=4)

    assert check(int(np.argmax(r)))
    assert "most negative" in str(check(int(np.argmin(r))))
    others = [u for u in range(len(r)) if u not in (np.argmax(r), np.argmin(r), np.argmax(np.abs(r)))]
    assert not check(others[0])
    assert "units 0..7" in str(check(99))
    assert "channel index" in str(check("conv2"))


def test_check_rank_correlation():
    from scipy.stats import rankdata

    def spearman(a, b):
        ra, rb = rankdata(a.ravel()), rankdata(b.ravel())
        return np.corrcoef(ra, rb)[0, 1]

    def ordinal_ranks(a, b):   # ties broken by position, not averaged
        ra, rb = rankdata(a.ravel(), "ordinal"), rankdata(b.ravel(), "ordinal")
        return np.corrcoef(ra, rb)[0, 1]

    assert ch05.check_rank_correlation(spearman)
    assert "Pearson" in str(ch05.check_rank_correlation(lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]))
    assert "tied" in str(ch05.check_rank_correlation(ordinal_ranks))
    assert "raised" in str(ch05.check_rank_correlation(lambda a, b: 1 / 0))
