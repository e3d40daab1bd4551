"""Metrics against values worked out by hand on small cases."""

import numpy as np
import pytest

from fercourse import evaluate

# 3 classes, 6 faces.  True:  0 0 0 1 1 2 ;  predicted: 0 0 1 1 2 2
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array([
    [0.7, 0.2, 0.1],   # true 0, top 0
    [0.5, 0.3, 0.2],   # true 0, top 0
    [0.3, 0.6, 0.1],   # true 0, top 1, second 0
    [0.1, 0.8, 0.1],   # true 1, top 1
    [0.05, 0.15, 0.8],  # true 1, top 2, second 1
    [0.6, 0.1, 0.3],   # true 2, top 0, second 2  (argmax disagrees with Y_PRED here on purpose)
])


def test_accuracy():
    assert evaluate.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_confusion_counts_and_normalised():
    cm = evaluate.confusion(Y_TRUE, Y_PRED, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_allclose(evaluate.confusion(Y_TRUE, Y_PRED, 3, normalize="true"),
                               [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5], [0, 0, 1]])
    np.testing.assert_allclose(evaluate.confusion(Y_TRUE, Y_PRED, 3, normalize="pred"),
                               [[1, 0.5, 0], [0, 0.5, 0.5], [0, 0, 0.5]])
    assert evaluate.confusion(Y_TRUE, Y_PRED, 3, normalize="all").sum() == pytest.approx(1)


def test_confusion_with_an_empty_class_has_no_nans():
    cm = evaluate.confusion([0, 0], [0, 1], 3, normalize="true")
    assert not np.isnan(cm).any() and cm[2].sum() == 0


def test_per_class_accuracy_table():
    table = evaluate.per_class_accuracy(Y_TRUE, Y_PRED, ["a", "b", "c"])
    assert list(table.index) == ["a", "b", "c"]
    assert table["n"].tolist() == [3, 2, 1]
    assert table["correct"].tolist() == [2, 1, 1]
    np.testing.assert_allclose(table["accuracy"], [2 / 3, 1 / 2, 1])


def test_uar_is_the_mean_of_per_class_accuracy():
    assert evaluate.uar(Y_TRUE, Y_PRED) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)


def test_macro_f1_by_hand():
    # class 0: P=2/2, R=2/3 -> F1=0.8; class 1: P=1/2, R=1/2 -> 0.5; class 2: P=1/2, R=1 -> 2/3
    assert evaluate.macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_top_k_accuracy():
    assert evaluate.top_k_accuracy(Y_TRUE, PROBS, 1) == pytest.approx(3 / 6)
    assert evaluate.top_k_accuracy(Y_TRUE, PROBS, 2) == pytest.approx(6 / 6)
    assert evaluate.top_k_accuracy(Y_TRUE, PROBS, 3) == 1.0


def test_report_collects_everything():
    rep = evaluate.report(Y_TRUE, PROBS, ["a", "b", "c"])
    assert rep["n"] == 6
    assert rep["accuracy"] == pytest.approx(3 / 6)
    assert rep["top2_accuracy"] == pytest.approx(1.0)
    np.testing.assert_array_equal(rep["confusion"], [[2, 1, 0], [0, 1, 1], [1, 0, 0]])
    np.testing.assert_allclose(rep["confusion_normalized"].sum(axis=1), 1.0)
    assert rep["per_class"].loc["c", "accuracy"] == 0.0


@pytest.mark.parametrize("bad, match", [
    (([0, 1, 3], [0, 1, 2], 3), r"y_true holds labels out of range 0..2: e.g. \[3\]"),
    (([0, -1], [0, 1], None), "negative labels"),
    (([0, 1], [0, 1, 1], None), "y_true has 2 labels but y_pred has 3"),
    (([0.5, 1], [0, 1], None), "integer labels"),
    (([], [], None), "no labels"),
])
def test_bad_labels_are_explained(bad, match):
    y_true, y_pred, k = bad
    with pytest.raises(ValueError, match=match):
        evaluate.confusion(y_true, y_pred, k)


def test_bad_probabilities_are_explained():
    with pytest.raises(ValueError, match="probs has 5 rows"):
        evaluate.top_k_accuracy(Y_TRUE, np.ones((5, 3)) / 3, 2)
    with pytest.raises(ValueError, match="k must lie in 1..3"):
        evaluate.top_k_accuracy(Y_TRUE, PROBS, 4)
    with pytest.raises(ValueError, match="3 columns but there are 2 class names"):
        evaluate.report(Y_TRUE, PROBS, ["a", "b"])
    with pytest.raises(ValueError, match="out of range 0..2"):
        evaluate.report([0, 1, 2, 3, 0, 0], PROBS, ["a", "b", "c"])


def test_predict_proba_checks_shapes():
    keras = pytest.importorskip("keras")
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    p = evaluate.predict_proba(model, np.zeros((4, 8, 8), np.uint8))
    assert p.shape == (4, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    with pytest.raises(ValueError, match=r"takes images of shape \(8, 8, 1\)"):
        evaluate.predict_proba(model, np.zeros((4, 9, 9), np.uint8))


def test_predict_proba_flip_tta_averages_the_mirror_image():
    keras = pytest.importorskip("keras")
    inputs = keras.Input((4, 4, 1))
    scaled = keras.layers.Rescaling(1 / 255)(inputs)  # keep the softmax away from saturation
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(scaled))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).integers(0, 256, (5, 4, 4)).astype(np.uint8)
    plain = evaluate.predict_proba(model, x)
    mirrored = evaluate.predict_proba(model, x[:, :, ::-1])
    assert not np.allclose(plain, mirrored)  # a random dense layer is not mirror-symmetric
    np.testing.assert_allclose(evaluate.predict_proba(model, x, tta="flip"), (plain + mirrored) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="tta must be None or 'flip'"):
        evaluate.predict_proba(model, x, tta="rotate")
    # Given the plain probabilities, mirror_average adds only the mirrored pass: the same figures.
    np.testing.assert_allclose(evaluate.mirror_average(model, x, plain), (plain + mirrored) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match=r"one row of 2 probabilities per image, \(5, 2\); got shape \(4, 2\)"):
        evaluate.mirror_average(model, x, plain[:4])
    with pytest.raises(ValueError, match=r"takes images of shape \(4, 4, 1\)"):
        evaluate.mirror_average(model, x[:, :3], plain)
