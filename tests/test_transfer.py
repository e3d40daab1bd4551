"""Transfer tools on tiny models: features, frozen trunk, fine-tuning, probes, cross-validation."""

import keras
import numpy as np
import pytest

from fercourse import evaluate, models, train, transfer
from fercourse.datasets import make_faces

SIZE = 16
WIDTHS = (4, 8, 8, 8)


def tiny(input_shape=(SIZE, SIZE, 1), num_classes=7, **kw):
    return models.compact(input_shape=input_shape, num_classes=num_classes, widths=WIDTHS,
                          blocks=(1, 1, 1, 1), **kw)


@pytest.fixture(scope="module")
def faces():
    return make_faces(140, seed=3, size=SIZE, n_subjects=14)


@pytest.fixture(scope="module")
def source(faces):
    model = tiny()
    train.fit(model, (faces.images, faces.labels), epochs=2, batch_size=32, augment="none",
              lr_schedule=None, early_stopping=False, verbose=0)
    return model


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- features
def test_features_of_any_layer(source, faces):
    x = faces.images[:10]
    pen = transfer.features(source, x)
    assert pen.shape == (10, WIDTHS[-1]) and pen.dtype == np.float32
    gap = keras.Model(source.input, source.get_layer("gap").output)
    np.testing.assert_allclose(pen, keras.ops.convert_to_numpy(gap(x[..., None].astype("float32"))), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(transfer.features(source, x, "gap"), pen, rtol=1e-5, atol=1e-6)
    conv = transfer.features(source, x, "conv1_1")               # 4x4 maps of 8 channels
    assert conv.shape == (10, 4 * 4 * 8)
    avg = transfer.features(source, x, "conv1_1", pool="avg")
    np.testing.assert_allclose(avg, conv.reshape(10, 4, 4, 8).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    assert transfer.features(source, x, -1).shape == (10, 7)       # the last layer: probabilities
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        transfer.features(source, x, "nope")
    with pytest.raises(ValueError, match="out of range"):
        transfer.features(source, x, 99)
    with pytest.raises(ValueError, match="pool"):
        transfer.features(source, x, pool="mean")
    with pytest.raises(TypeError, match="layer must be"):
        transfer.features(source, x, 1.5)


# --------------------------------------------------------------------------- heads
def test_frozen_trunk_trains_only_the_head(source, faces):
    before = source.get_weights()
    model = transfer.frozen_trunk(source, 3, learning_rate=1e-2)
    assert model.output_shape == (None, 3)
    assert [lay.name for lay in model.layers if lay.trainable and lay.weights] == ["transfer_head"]
    trunk_before = [w.copy() for w in model.get_weights()[:-2]]
    head_before = [w.copy() for w in model.get_weights()[-2:]]
    y = faces.labels[:60] % 3
    train.fit(model, (faces.images[:60], y), epochs=2, batch_size=16, augment="none", lr_schedule=None,
              early_stopping=False, verbose=0)
    assert _same(model.get_weights()[:-2], trunk_before)            # frozen, batch norm statistics too
    assert not _same(model.get_weights()[-2:], head_before)          # the head learnt
    assert _same(source.get_weights(), before)                       # the source is untouched
    cut = transfer.frozen_trunk(source, 4, layer="conv2_1", dropout=0.3)
    assert {"transfer_flatten", "transfer_dropout"} <= {lay.name for lay in cut.layers}
    with pytest.raises(ValueError, match="num_classes"):
        transfer.frozen_trunk(source, 1)
    with pytest.raises(ValueError, match="dropout"):
        transfer.frozen_trunk(source, 3, dropout=1.0)


def test_unfreeze_from_a_layer(source):
    model = transfer.frozen_trunk(source, 3)
    transfer.unfreeze(model, "conv2_1", learning_rate=1e-5)
    names = [lay.name for lay in model.layers]
    start = names.index("conv2_1")
    for i, lay in enumerate(model.layers):
        is_bn = isinstance(lay, keras.layers.BatchNormalization)
        assert lay.trainable == (i >= start and not is_bn), lay.name
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1e-5)
    transfer.unfreeze(model, 0, batch_norm=True)
    assert all(lay.trainable for lay in model.layers)
    with pytest.raises(ValueError, match="no layer named"):
        transfer.unfreeze(model, "nope")
    with pytest.raises(TypeError, match="from_layer"):
        transfer.unfreeze(model, 2.0)


# --------------------------------------------------------------------------- probes
def test_linear_probe_and_head_from_probe(source, faces):
    f = transfer.features(source, faces.images)
    y = faces.labels % 3
    probe = transfer.linear_probe(f, y)
    model = transfer.frozen_trunk(source, 4)                         # class 3 never seen by the probe
    transfer.head_from_probe(model, probe)
    p_model = evaluate.predict_proba(model, faces.images)
    np.testing.assert_allclose(p_model[:, :3], probe.predict_proba(f), atol=1e-4)
    assert p_model[:, 3].max() < 1e-6
    binary = transfer.linear_probe(f, (y == 0).astype(int))          # two classes: one row of weights
    transfer.head_from_probe(model, binary)
    np.testing.assert_allclose(evaluate.predict_proba(model, faces.images)[:, :2], binary.predict_proba(f),
                               atol=1e-4)
    with pytest.raises(ValueError, match="at least two classes"):
        transfer.linear_probe(f, np.zeros(len(f), int))
    with pytest.raises(ValueError, match="one per row"):
        transfer.linear_probe(f, y[:5])
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        transfer.linear_probe(f[0], y[:1])
    small = transfer.frozen_trunk(source, 2)
    with pytest.raises(ValueError, match="knows class 2"):
        transfer.head_from_probe(small, probe)


def test_per_class_sample():
    y = np.array([0] * 10 + [1] * 3 + [2] * 7)
    idx = transfer.per_class_sample(y, 5, seed=1)
    assert np.bincount(y[idx]).tolist() == [5, 3, 5] and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(idx, transfer.per_class_sample(y, 5, seed=1))
    assert not np.array_equal(idx, transfer.per_class_sample(y, 5, seed=2))
    np.testing.assert_array_equal(transfer.per_class_sample(y, None), np.arange(len(y)))
    with pytest.raises(ValueError, match="at least 1"):
        transfer.per_class_sample(y, 0)


# --------------------------------------------------------------------------- cross-validation
class Spy:
    """A method that records what it is given and answers the majority class of its training faces."""

    name = "spy"

    def __init__(self):
        self.calls = []

    def __call__(self, x_train, y_train, x_test, num_classes):
        self.calls.append((_ids(x_train), y_train.copy(), _ids(x_test)))
        probs = np.zeros((len(x_test), num_classes), np.float32)
        probs[:, np.bincount(y_train, minlength=num_classes).argmax()] = 1
        return probs


def _ids(images):
    return images[:, 0, 0].astype(int) * 256 + images[:, 0, 1]


@pytest.fixture
def numbered():
    """Faces whose first two pixels spell their index, so a method's inputs can be traced back."""
    n = 120
    images = np.zeros((n, SIZE, SIZE), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    labels = np.arange(n) % 4
    subjects = np.repeat(np.arange(12), 10)
    return images, labels, subjects


def test_subject_folds_never_share_a_subject(numbered):
    images, labels, subjects = numbered
    spy = Spy()
    result = transfer.cross_validate(spy, images, labels, subjects, n_splits=4)
    assert len(spy.calls) == 4 and len(result.folds) == 4
    for train_ids, _, test_ids in spy.calls:
        assert not set(subjects[train_ids]) & set(subjects[test_ids])
    assert sorted(result.test_index.tolist()) == list(range(len(labels)))     # every face tested once
    np.testing.assert_array_equal(result.y_true, labels[result.test_index])
    pred = result.probs.argmax(1)
    assert result.accuracy == pytest.approx(np.mean(pred == result.y_true))
    assert set(result.folds.columns) == {"n_train", "n_test", "accuracy", "macro_f1", "uar"}
    assert result.folds["n_test"].sum() == len(labels)
    assert result.method == "spy" and "spy" in repr(result)


def test_random_folds_share_subjects_and_budgets_hold(numbered):
    images, labels, subjects = numbered
    spy = Spy()
    transfer.cross_validate(spy, images, labels, subjects, folds="random", n_splits=5, n_per_class=2)
    shared = [len(set(subjects[tr]) & set(subjects[te])) for tr, _, te in spy.calls]
    assert max(shared) > 0
    for _, y_train, _ in spy.calls:
        assert np.bincount(y_train, minlength=4).tolist() == [2, 2, 2, 2]
    given = [(np.arange(60), np.arange(60, 120))] * 3                # one split, three draws
    spy = Spy()
    result = transfer.cross_validate(spy, images, labels, folds=given, n_per_class=3)
    assert len(result.folds) == 3 and len({tuple(tr) for tr, _, _ in spy.calls}) == 3


def test_cross_validate_rejects_bad_input(numbered):
    images, labels, subjects = numbered
    with pytest.raises(ValueError, match="need subjects"):
        transfer.cross_validate(Spy(), images, labels)
    with pytest.raises(ValueError, match="folds='leave-one-out'"):
        transfer.cross_validate(Spy(), images, labels, subjects, folds="leave-one-out")
    with pytest.raises(ValueError, match="labels must be >= 0"):
        transfer.cross_validate(Spy(), images, labels - 1, subjects)
    with pytest.raises(ValueError, match="empty"):
        transfer.cross_validate(Spy(), images, labels, folds=[(np.arange(5), np.arange(0))])
    with pytest.raises(ValueError, match="outside"):
        transfer.cross_validate(Spy(), images, labels, folds=[(np.arange(5), np.array([500]))])
    with pytest.raises(ValueError, match="returned probabilities of shape"):
        transfer.cross_validate(lambda a, b, c, num_classes: np.zeros((len(c), 2)), images, labels, subjects,
                                n_splits=3)


def test_methods_in_folds(source, faces):
    x, y, s = faces.images, faces.labels, faces.subjects
    as_is = transfer.cross_validate(transfer.AsIs(source), x, y, s, n_splits=3)
    np.testing.assert_allclose(as_is.probs, evaluate.predict_proba(source, x[as_is.test_index]), atol=1e-6)
    merged = transfer.AsIs(source, class_map=[0, 0, 1, 2, 3, 4, 5])      # disgust counted as angry
    p = merged(None, None, x[:5], num_classes=6)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-5)

    frozen = transfer.FrozenTrunk(source, epochs=1, min_steps=4, batch_size=16, augment="none")
    first = frozen(x[:40], y[:40], x[40:60], num_classes=7)
    again = frozen(x[:40], y[:40], x[40:60], num_classes=7)       # the same fresh start each call
    np.testing.assert_allclose(first, again, atol=1e-5)
    assert first.shape == (20, 7)

    tune = transfer.FineTune(source, from_layer="conv3_1", epochs=1, min_steps=4, batch_size=16, augment="none")
    tuned = tune(x[:40], y[:40], x[40:60], num_classes=7)
    assert tuned.shape == (20, 7)
    conv = [w for lay in tune.model.layers if lay.name == "conv3_1" for w in lay.get_weights()]
    assert not _same(conv, source.get_layer("conv3_1").get_weights())   # the unfrozen layer moved
    early = [w for lay in tune.model.layers if lay.name == "conv1_1" for w in lay.get_weights()]
    assert _same(early, source.get_layer("conv1_1").get_weights())      # the layers before stayed

    scratch = transfer.FromScratch(tiny, input_shape=(SIZE, SIZE, 1), epochs=1, min_steps=4, batch_size=16)
    result = transfer.cross_validate(scratch, x, y, s, n_splits=2, n_per_class=3, class_names=faces.class_names)
    assert result.folds["n_train"].tolist() == [21, 21] and result.pooled["n"] == len(y)
    probe = transfer.cross_validate(transfer.LinearProbe(source), x, y, s, n_splits=2, n_per_class=5)
    assert probe.probs.shape == (len(y), 7) and np.allclose(probe.probs.sum(1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="epochs and batch_size"):
        transfer.FrozenTrunk(source, epochs=0)


def test_au_probes():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(300, 20)).astype(np.float32)
    presence = np.stack([f[:, 0] > 0, f[:, 1] + f[:, 2] > 1, np.zeros(300, bool), np.ones(300, bool)], 1).astype(int)
    test = rng.normal(size=(100, 20)).astype(np.float32)
    p = transfer.au_probes(f, presence, test)
    assert p.shape == (100, 4) and p.dtype == np.float32
    assert np.mean((p[:, 0] >= 0.5) == (test[:, 0] > 0)) > 0.9
    assert np.mean((p[:, 1] >= 0.5) == (test[:, 1] + test[:, 2] > 1)) > 0.85
    assert (p[:, 2] == 0).all() and (p[:, 3] == 1).all()           # never / always present: the rate
    # ten features echo one latent variable: its direction is the first principal component
    z, z_test = rng.normal(size=(300, 1)), rng.normal(size=(100, 1))
    echo = lambda z: np.hstack([z + 0.1 * rng.normal(size=(len(z), 10)), rng.normal(size=(len(z), 10))])
    reduced = transfer.au_probes(echo(z), (z > 0).astype(int), echo(z_test), components=2)
    assert np.mean((reduced[:, 0] >= 0.5) == (z_test[:, 0] > 0)) > 0.9
    with pytest.raises(ValueError, match="0 \\(absent\\) and 1"):
        transfer.au_probes(f, presence * 0.5, test)
    with pytest.raises(ValueError, match="one row per training face"):
        transfer.au_probes(f, presence[:10], test)
    with pytest.raises(ValueError, match=r"\(N, D\) and \(M, D\)"):
        transfer.au_probes(f, presence, test[:, :5])
    with pytest.raises(ValueError, match="components"):
        transfer.au_probes(f, presence, test, components=0)


def test_linear_probe_on_given_features(numbered):
    images, labels, subjects = numbered
    feats = np.eye(4, dtype=np.float32)[labels] + 0.01 * np.arange(len(labels))[:, None]
    result = transfer.cross_validate(transfer.LinearProbe(), feats, labels, subjects, n_splits=3)
    assert result.accuracy == 1.0
