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


def test_normalize_confusion_one_rule_for_every_caller():
    cm = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(evaluate.normalize_confusion(cm), [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5], [0, 0, 0]])
    np.testing.assert_allclose(evaluate.normalize_confusion(cm, "pred"), [[1, 0.5, 0], [0, 0.5, 1], [0, 0, 0]])
    np.testing.assert_allclose(evaluate.normalize_confusion(cm, "all"), cm / 5)
    assert evaluate.normalize_confusion(cm, None).dtype == float
    np.testing.assert_array_equal(evaluate.normalize_confusion(np.zeros((2, 2)), "all"), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="square"):
        evaluate.normalize_confusion(np.ones((2, 3)))
    with pytest.raises(ValueError, match="normalize must be None, 'true', 'pred' or 'all'; got 'rows'"):
        evaluate.normalize_confusion(cm, "rows")
    with pytest.raises(ValueError, match="normalize must be"):
        evaluate.confusion(Y_TRUE, Y_PRED, 3, normalize="rows")


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


def test_top_k_accuracy_agrees_with_counting_by_hand_for_any_number_of_classes():
    rng = np.random.default_rng(0)
    for n, c in [(1, 2), (9, 2), (10, 3), (50, 7)]:
        probs = rng.dirichlet(np.ones(c), size=n)
        y = rng.integers(0, c, n)
        ranks = np.argsort(-probs, axis=1)
        for k in range(1, c + 1):
            by_hand = np.mean([y[i] in ranks[i, :k] for i in range(n)])
            assert evaluate.top_k_accuracy(y, probs, k) == pytest.approx(by_hand), (n, c, k)


def test_uar_counts_only_classes_present_and_does_not_warn(recwarn):
    # Class 2 is predicted but never true: it has no recall to average.
    assert evaluate.uar([0, 0, 1, 1], [0, 2, 1, 1]) == pytest.approx((0.5 + 1) / 2)
    assert evaluate.uar([0, 0, 1, 1], [0, 2, 1, 1], num_classes=3) == pytest.approx(0.75)
    assert not [w for w in recwarn if "y_pred contains classes" in str(w.message)]


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
    with pytest.raises(ValueError, match=r"NaN or infinite values, e.g. in row\(s\) \[1\]"):
        evaluate.top_k_accuracy([0, 1], [[0.5, 0.5, 0], [np.nan, 0.5, 0.5]], 2)
    with pytest.raises(ValueError, match="no labels"):
        evaluate.top_k_accuracy([], np.zeros((0, 3)), 2)


def test_predict_equals_model_predict_for_arrays_and_dicts_in_any_batch_size():
    keras = pytest.importorskip("keras")
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    joined = keras.layers.Concatenate()([a, b])
    model = keras.Model({"a": a, "b": b}, {"p": keras.layers.Dense(4, activation="softmax")(joined),
                                           "v": keras.layers.Dense(1)(joined)})
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(7, 3)), "b": rng.normal(size=(7, 2))}
    want = model.predict(x, verbose=0)
    for batch_size in (1, 3, 7, 100):
        got = evaluate.predict(model, x, batch_size)
        assert set(got) == {"p", "v"} and got["p"].shape == (7, 4)
        np.testing.assert_allclose(got["p"], want["p"], rtol=1e-5, atol=1e-6)
    single = keras.Model(a, keras.layers.Dense(2)(a))
    np.testing.assert_allclose(evaluate.predict(single, x["a"], 2), single.predict(x["a"], verbose=0),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        evaluate.predict(single, x["a"][:0])
    with pytest.raises(ValueError, match="batch_size"):
        evaluate.predict(single, x["a"], 0)
    with pytest.raises(ValueError, match="different lengths"):
        evaluate.predict(model, {"a": x["a"], "b": x["b"][:5]})


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
