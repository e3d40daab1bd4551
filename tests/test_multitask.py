"""FaceBehaviorNet's losses, couplings, metrics and network, against values worked out by hand."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
ops = keras.ops

from fercourse import facs, multitask as mt  # noqa: E402
from fercourse.labels import EMOTIONS  # noqa: E402
from fercourse.models.multitask import FaceBehaviorNet, face_behavior_net, trunk_of  # noqa: E402

E = {e: i for i, e in enumerate(EMOTIONS)}
A = {au: i for i, au in enumerate(mt.AUS)}


def t(x):
    return ops.convert_to_tensor(np.asarray(x, dtype="float32"))


def n(x):
    return float(ops.convert_to_numpy(x))


# --------------------------------------------------------------------------- the relation table
def test_relation_matrix_reads_du_et_al_table():
    w = mt.relation_matrix("du2014")
    assert w.shape == (7, 17) and w.dtype == np.float32
    happy = w[E["happy"]]
    assert happy[A[12]] == 1 and happy[A[25]] == 1 and happy[A[6]] == pytest.approx(0.51)
    assert np.count_nonzero(happy) == 3
    assert w[E["sad"], A[17]] == pytest.approx(0.67)
    assert not w[E["neutral"]].any()
    assert not w[:, A[14]].any(), "no basic emotion ties AU14 in the table"
    binary = mt.relation_matrix("du2014", binary=True)
    assert set(np.unique(binary)) == {0.0, 1.0} and np.array_equal(binary > 0, w > 0)


def test_relation_matrix_synthetic_is_the_sampling_rates():
    w = mt.relation_matrix("synthetic")
    for e in EMOTIONS:
        full = facs.au_probabilities(e)
        assert np.allclose(w[E[e]], [full[facs.AU_INDEX[au]] for au in mt.AUS])
    with pytest.raises(ValueError, match="not a relation table"):
        mt.relation_matrix("emfacs")


def test_expected_aus_is_the_table_weighted_sum():
    w = mt.relation_matrix("du2014")
    one_hot = np.eye(7, dtype="float32")[[E["happy"]]]
    assert np.allclose(mt.expected_aus(one_hot, w)[0], w[E["happy"]])
    p = np.zeros((1, 7), "float32")
    p[0, E["happy"]] = p[0, E["surprise"]] = 0.5
    q = mt.expected_aus(p, w)[0]
    # by hand: AU25 is prototypical in both, AU12 in happy only, AU1 in surprise only,
    # AU5 observational in surprise (0.66), AU6 observational in happy (0.51)
    assert q[A[25]] == pytest.approx(1.0)
    assert q[A[12]] == pytest.approx(0.5) and q[A[1]] == pytest.approx(0.5)
    assert q[A[5]] == pytest.approx(0.33) and q[A[6]] == pytest.approx(0.255)
    assert q[A[4]] == 0 and q[A[14]] == 0
    with pytest.raises(ValueError, match="p_expression must be"):
        mt.expected_aus(np.ones((2, 6)), w)


def test_expression_posterior_by_hand():
    w = np.array([[0.9, 0.1], [0.1, 0.9]], "float32")
    post = mt.expression_posterior(np.array([[1, 0], [0.5, 0.5]], "float32"), w, floor=0.01)
    # P(AUs | e0) = 0.9 * 0.9 = 0.81, P(AUs | e1) = 0.1 * 0.1 = 0.01, equal priors
    assert post[0] == pytest.approx([0.81 / 0.82, 0.01 / 0.82], rel=1e-4)
    assert post[1] == pytest.approx([0.5, 0.5], rel=1e-4)


def test_expression_posterior_reads_the_course_table():
    w = mt.relation_matrix("du2014")
    aus = np.zeros((3, 17), "float32")
    aus[0, [A[12], A[25], A[6]]] = 1
    aus[1, [A[1], A[2], A[25], A[26], A[5]]] = 1
    post = mt.expression_posterior(aus, w)
    assert post.argmax(1).tolist() == [E["happy"], E["surprise"], E["neutral"]]
    assert np.allclose(post.sum(1), 1)


def test_au_presence_from_intensities():
    intensities = np.zeros((2, len(facs.AUS)), "float32")
    intensities[0, facs.AU_INDEX[12]] = 0.2
    intensities[0, facs.AU_INDEX[6]] = 0.19
    intensities[1, facs.AU_INDEX[45]] = 1.0  # blinks are not among the 17
    present = mt.au_presence(intensities)
    assert present.shape == (2, 17)
    assert present[0, A[12]] == 1 and present[0, A[6]] == 0 and not present[1].any()
    with pytest.raises(ValueError, match=r"\(N, 17\)"):
        mt.au_presence(np.zeros((2, 5)))


# --------------------------------------------------------------------------- masked losses
def test_masked_expression_label_contributes_exactly_nothing():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7), 5).astype("float32")
    y = np.array([0, 3, 5, 1, 6])
    w = np.array([1, 1, 0, 1, 1], "float32")
    full = n(mt.expression_loss(t(y), t(p), t(w)))
    y2 = y.copy()
    y2[2] = 4                                       # change the hidden label: nothing changes
    assert n(mt.expression_loss(t(y2), t(p), t(w))) == full
    keep = w > 0                                    # and the batch without that face scores the same
    assert n(mt.expression_loss(t(y[keep]), t(p[keep]))) == pytest.approx(full, rel=1e-6)
    by_hand = -np.mean(np.log(p[keep, y[keep]]))
    assert full == pytest.approx(by_hand, rel=1e-5)


def test_masked_au_and_va_labels_contribute_exactly_nothing():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, (6, 17)).astype("float32")
    y = (rng.random((6, 17)) < 0.4).astype("float32")
    w = np.array([1, 0, 1, 1, 0, 1], "float32")
    y2 = y.copy()
    y2[[1, 4]] = 1 - y2[[1, 4]]
    keep = w > 0
    assert n(mt.au_loss(t(y), t(p), t(w))) == n(mt.au_loss(t(y2), t(p), t(w)))
    assert n(mt.au_loss(t(y), t(p), t(w))) == pytest.approx(n(mt.au_loss(t(y[keep]), t(p[keep]))), rel=1e-6)
    by_hand = -np.mean(y[keep] * np.log(p[keep]) + (1 - y[keep]) * np.log(1 - p[keep]))
    assert n(mt.au_loss(t(y), t(p), t(w))) == pytest.approx(by_hand, rel=1e-4)

    va = rng.uniform(-1, 1, (6, 2)).astype("float32")
    pred = rng.uniform(-1, 1, (6, 2)).astype("float32")
    va2 = va.copy()
    va2[[1, 4]] = 9.0
    assert n(mt.va_loss(t(va), t(pred), t(w))) == pytest.approx(n(mt.va_loss(t(va2), t(pred), t(w))), abs=1e-7)
    assert n(mt.va_loss(t(va), t(pred), t(w))) == pytest.approx(n(mt.va_loss(t(va[keep]), t(pred[keep]))), abs=1e-6)


def test_no_label_in_the_batch_means_no_loss():
    p = t(np.full((3, 7), 1 / 7))
    zero = t(np.zeros(3))
    assert n(mt.expression_loss(t([0, 1, 2]), p, zero)) == 0.0
    assert n(mt.au_loss(t(np.ones((3, 17))), t(np.full((3, 17), 0.3)), zero)) == 0.0
    assert n(mt.va_loss(t(np.ones((3, 2))), t(np.zeros((3, 2))), zero)) == 0.0


def test_ccc_of_a_perfect_and_of_a_shifted_prediction():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert mt.ccc(x, x) == pytest.approx(1.0)
    # shifted by 1: cov = var = 1.25, (mean difference)^2 = 1 -> 2 * 1.25 / (1.25 + 1.25 + 1)
    assert mt.ccc(x, x + 1) == pytest.approx(2.5 / 3.5)
    # doubled: cov = 2.5, var y = 5, (2.5 - 5)^2 = 6.25 -> 5 / (1.25 + 5 + 6.25)
    assert mt.ccc(x, 2 * x) == pytest.approx(0.4)
    assert mt.ccc(x, -x) == pytest.approx(-2 * 1.25 / (2.5 + 25))
    assert np.corrcoef(x, x + 1)[0, 1] == pytest.approx(1.0), "correlation forgives the shift; CCC does not"
    # the Keras-ops version used by the loss agrees, column by column
    both = np.stack([x, x], 1).astype("float32")
    pred = np.stack([x, x + 1], 1).astype("float32")
    assert ops.convert_to_numpy(mt.concordance(t(both), t(pred))) == pytest.approx([1.0, 2.5 / 3.5], rel=1e-5)
    assert n(mt.va_loss(t(both), t(both))) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="same length"):
        mt.ccc([1, 2], [1, 2, 3])


# --------------------------------------------------------------------------- couplings
def test_co_annotation_targets_and_who_gets_them():
    w = mt.relation_matrix("du2014")
    rng = np.random.default_rng(2)
    p_e = rng.dirichlet(np.ones(7), 3).astype("float32")
    p_au = rng.uniform(0.1, 0.9, (3, 17)).astype("float32")
    y = {"expression": np.array([E["happy"], E["sad"], 0]), "aus": np.zeros((3, 17), "float32")}
    y["aus"][2, [A[1], A[2], A[25], A[26]]] = 1
    sw = {"expression": np.array([1, 1, 0], "float32"), "aus": np.array([0, 1, 1], "float32")}
    au_term, expr_term = mt.co_annotation_losses({k: t(v) for k, v in y.items()}, {"expression": t(p_e),
                                                 "aus": t(p_au)}, {k: t(v) for k, v in sw.items()}, w)
    # face 0 only (expression, no AUs): the AU head against the table's happy row
    target = w[E["happy"]]
    by_hand = -np.mean(target * np.log(p_au[0]) + (1 - target) * np.log(1 - p_au[0]))
    assert n(au_term) == pytest.approx(by_hand, rel=1e-4)
    # face 2 only (AUs, no expression): the expression head against the posterior of its AUs
    post = mt.expression_posterior(y["aus"][2:], w)[0]
    assert post.argmax() == E["surprise"]
    assert n(expr_term) == pytest.approx(-np.sum(post * np.log(p_e[2])), rel=1e-4)


def test_distribution_matching_by_hand():
    w = np.array([[1.0, 0.0], [0.5, 1.0]], "float32")
    p_e = np.array([[0.8, 0.2], [0.0, 1.0]], "float32")
    p_au = np.array([[0.7, 0.4], [0.5, 0.9]], "float32")
    q = p_e @ w                                    # [[0.9, 0.2], [0.5, 1.0]]
    assert np.allclose(mt.expected_aus(p_e, w), q)
    clipped = np.clip(p_au, 1e-7, 1 - 1e-7)
    by_hand = -np.mean(q * np.log(clipped) + (1 - q) * np.log(1 - clipped))
    assert n(mt.distribution_matching_loss(t(p_e), t(p_au), w)) == pytest.approx(by_hand, rel=1e-4)
    # for the AU head the term is lowest exactly where it agrees with q
    lower = n(mt.distribution_matching_loss(t(p_e), t(np.clip(q, 0.01, 0.99)), w))
    assert lower < n(mt.distribution_matching_loss(t(p_e), t(p_au), w))


def test_multitask_loss_terms_switch_on_and_off():
    rng = np.random.default_rng(3)
    y_pred = {"expression": t(rng.dirichlet(np.ones(7), 4)), "aus": t(rng.uniform(0.1, 0.9, (4, 17))),
              "va": t(rng.uniform(-0.5, 0.5, (4, 2)))}
    y = {"expression": t([0, 1, 2, 3]), "aus": t((rng.random((4, 17)) < 0.3)), "va": t(rng.uniform(-1, 1, (4, 2)))}
    sw = {"expression": t([1, 1, 1, 1]), "aus": t([1, 0, 0, 0]), "va": t([1, 1, 0, 1])}
    w = mt.relation_matrix("du2014")
    plain = mt.multitask_loss(y, y_pred, sw, relation=w)
    assert set(plain) == {"expression", "aus", "va", "total"}
    assert n(plain["total"]) == pytest.approx(sum(n(plain[k]) for k in mt.TASKS), rel=1e-6)
    coupled = mt.multitask_loss(y, y_pred, sw, relation=w,
                                coupling=mt.Coupling(co_annotation=0.5, distribution_matching=2.0,
                                                     task_weights=(("va", 0.0),)))
    assert n(coupled["total"]) == pytest.approx(
        n(coupled["expression"]) + n(coupled["aus"]) + 0.5 * n(coupled["co_annotation"])
        + 2.0 * n(coupled["distribution_matching"]), rel=1e-6)
    with pytest.raises(ValueError, match=">= 0"):
        mt.Coupling(co_annotation=-1)
    with pytest.raises(ValueError, match="tasks are"):
        mt.Coupling(task_weights=(("pose", 1.0),))


# --------------------------------------------------------------------------- metrics
def test_au_f1_and_scores():
    y_aus = np.array([[1, 0], [1, 1], [0, 0], [0, 1]], "float32")
    p_aus = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.3], [0.1, 0.4]], "float32")
    # AU a: tp 1, fp 1, fn 1 -> F1 0.5; AU b: tp 1, fn 1 -> 2/3
    assert mt.au_f1(y_aus, p_aus) == pytest.approx([0.5, 2 / 3])
    y = {"expression": np.array([0, 1, 1, 2]), "aus": np.zeros((4, 17)), "va": np.array([[0, 0], [1, 1], [2, 2],
                                                                                        [3, 3]], "float32")}
    y["aus"][:, :2] = y_aus
    pred = {"expression": np.eye(3, 7)[[0, 1, 2, 2]], "aus": np.zeros((4, 17)), "va": y["va"] + [1, 0]}
    pred["aus"][:, :2] = p_aus
    s = mt.scores(y, pred)
    assert s["expression_accuracy"] == 0.75
    assert s["ccc_valence"] == pytest.approx(2.5 / 3.5) and s["ccc_arousal"] == pytest.approx(1.0)
    assert s["au_f1"][1] == 0.5 and s["au_mean_f1"] == pytest.approx((0.5 + 2 / 3) / 17)
    assert s["abaw"] == pytest.approx(s["expression_macro_f1"] + s["au_mean_f1"] + s["ccc_mean"])
    masked = mt.scores(y, pred, {"expression": np.array([1, 1, 0, 1]), "aus": np.zeros(4), "va": np.ones(4)})
    assert masked["expression_accuracy"] == 1.0 and "au_mean_f1" not in masked and "abaw" not in masked


# --------------------------------------------------------------------------- the network
def test_face_behavior_net_heads():
    model = face_behavior_net(input_shape=(32, 32, 1), compile=False)
    assert isinstance(model, FaceBehaviorNet)
    out = model(np.random.default_rng(0).integers(0, 255, (2, 32, 32, 1)).astype("float32"))
    assert set(out) == set(mt.TASKS)
    e, a, v = (ops.convert_to_numpy(out[k]) for k in mt.TASKS)
    assert e.shape == (2, 7) and np.allclose(e.sum(1), 1)
    assert a.shape == (2, 17) and (a > 0).all() and (a < 1).all()
    assert v.shape == (2, 2) and (np.abs(v) < 1).all()
    single = face_behavior_net(input_shape=(10,), tasks=("aus",), compile=False)
    assert list(single.output_names) == ["aus"]
    with pytest.raises(ValueError, match="tasks must be"):
        face_behavior_net(input_shape=(10,), tasks=("pose",))
    with pytest.raises(ValueError, match="pass the table itself"):
        face_behavior_net(input_shape=(10,), num_expressions=8)
    eight = face_behavior_net(input_shape=(10,), num_expressions=8, relation=np.zeros((8, 17)), compile=False)
    assert eight.relation.shape == (8, 17)


def test_trunk_of_a_trained_network_feeds_the_heads():
    from fercourse.models import compact

    base = compact(input_shape=(16, 16, 1), widths=(4, 8, 8, 8), compile=False)
    trunk = trunk_of(base)
    trunk.trainable = False
    model = face_behavior_net(trunk=trunk, compile=False)
    out = model(np.zeros((1, 16, 16, 1), "float32"))
    assert ops.convert_to_numpy(out["expression"]).shape == (1, 7)
    with pytest.raises(ValueError, match="no layer"):
        trunk_of(base, "nope")


def _toy(n=96, seed=0):
    """Features from which every task is learnable; AUs known for 30 % of faces, VA for half."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12)).astype("float32")
    y = {"expression": np.where(x[:, 0] > 0, 3, 0), "aus": (x[:, 1:2] + np.linspace(-1, 1, 17) > 0).astype("float32"),
         "va": np.tanh(x[:, 2:4]).astype("float32")}
    w = {"expression": np.ones(n, "float32"), "aus": (rng.random(n) < 0.3).astype("float32"),
         "va": (rng.random(n) < 0.5).astype("float32")}
    return x, y, w


def test_masked_labels_change_nothing_in_training():
    """Two runs that differ only in the values under weight 0 end with the same weights."""
    x, y, w = _toy()
    y_other = {k: v.copy() for k, v in y.items()}
    y_other["aus"][w["aus"] == 0] = 1 - y_other["aus"][w["aus"] == 0]
    y_other["va"][w["va"] == 0] = 0.9

    def train(labels):
        keras.utils.set_random_seed(0)
        model = face_behavior_net(input_shape=(12,), co_annotation=1.0, distribution_matching=1.0,
                                  relation="synthetic", dropout=0.0)
        model.fit(x, labels, sample_weight=w, batch_size=32, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    for a, b in zip(train(y), train(y_other)):
        np.testing.assert_array_equal(a, b)


def test_training_through_fit_lowers_each_loss_and_logs_the_terms():
    from fercourse import train

    x, y, w = _toy(192)
    keras.utils.set_random_seed(0)
    model = face_behavior_net(input_shape=(12,), co_annotation=1.0, distribution_matching=1.0,
                              relation="synthetic", learning_rate=1e-2)
    result = train.fit(model, (x, y), sample_weight=w, epochs=6, batch_size=32, augment=False, verbose=0)
    h = result.history
    for term in ("loss", "expression_loss", "aus_loss", "va_loss", "co_annotation_loss",
                 "distribution_matching_loss"):
        assert term in h, f"{term} not logged"
    assert h["expression_loss"][-1] < h["expression_loss"][0]
    assert h["loss"][-1] < h["loss"][0]


def test_save_and_load_keeps_the_coupling(tmp_path):
    model = face_behavior_net(input_shape=(6,), co_annotation=0.5, distribution_matching=2.0, relation="synthetic")
    path = tmp_path / "fbn.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again, FaceBehaviorNet)
    assert again.coupling == model.coupling and np.allclose(again.relation, model.relation)
    x = np.ones((2, 6), "float32")
    for k in mt.TASKS:
        assert np.allclose(ops.convert_to_numpy(model(x)[k]), ops.convert_to_numpy(again(x)[k]))


def test_predict_outputs_and_errors():
    model = face_behavior_net(input_shape=(5,), compile=False)
    out = mt.predict_outputs(model, np.zeros((7, 5)), batch_size=3)
    assert {k: v.shape for k, v in out.items()} == {"expression": (7, 7), "aus": (7, 17), "va": (7, 2)}
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="labels as a dict"):
        model.compute_loss(y=np.zeros(2), y_pred=model(np.zeros((2, 5))))
