"""Training: the loss goes down, runs resume where they stopped, files land in the run folder."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fercourse import models, train  # noqa: E402
from fercourse.datasets import FaceData  # noqa: E402
from fercourse.labels import EMOTIONS  # noqa: E402

SIDE = 16


def tiny_problem(n=120, k=3, seed=0):
    """Images whose class is written in which quarter of the face is bright: learnable at once."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.integers(0, 60, (n, SIDE, SIDE)).astype(np.uint8)
    for c in range(k):
        r, col = divmod(c, 2)
        x[y == c, r * 8:(r + 1) * 8, col * 8:(col + 1) * 8] += 150
    return x, y


def tiny_model(k=3):
    return models.compact(input_shape=(SIDE, SIDE, 1), num_classes=k, widths=(4, 8, 8, 8), learning_rate=1e-2)


class StopAfter(keras.callbacks.Callback):
    """Simulates a run killed after ``n`` epochs (the recorder has saved by then)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.n:
            raise KeyboardInterrupt("killed")


class WeightsAtStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]
        self.iterations = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))


def test_training_lowers_the_loss():
    x, y = tiny_problem()
    result = train.fit(tiny_model(), (x, y), epochs=5, batch_size=20, augment=False, verbose=0)
    loss = result.history["loss"]
    assert len(loss) == 5
    assert loss[-1] < 0.8 * loss[0]


def test_run_folder_files(tmp_path):
    x, y = tiny_problem()
    result = train.fit(tiny_model(), (x[:90], y[:90], x[90:], y[90:]), run_dir=tmp_path, epochs=2,
                       batch_size=30, verbose=0, augment=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"state.json", "history.json", "history.csv", "metrics.json", "best.weights.h5",
            "checkpoint-epoch002.keras"} <= names
    assert not any(n.startswith(".") for n in names)  # no temporary files left behind
    hist = json.loads((tmp_path / "history.json").read_text())
    assert len(hist["val_accuracy"]) == 2 and len(hist["lr"]) == 2
    csv_lines = (tmp_path / "history.csv").read_text().strip().splitlines()
    assert csv_lines[0].startswith("epoch,") and len(csv_lines) == 3
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 2 and state["done"] is True
    assert result.epochs == 2 and result.best_epoch in (1, 2)


def test_resume_continues_from_the_last_epoch(tmp_path):
    x, y = tiny_problem()
    data = (x[:90], y[:90], x[90:], y[90:])
    with pytest.raises(KeyboardInterrupt):
        train.fit(tiny_model(), data, run_dir=tmp_path, epochs=4, batch_size=30, verbose=0, augment=False,
                  early_stopping=False, callbacks=[StopAfter(2)])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 2 and not state["done"]
    saved = keras.saving.load_model(tmp_path / state["checkpoint"])

    probe = WeightsAtStart()
    fresh = tiny_model()
    result = train.fit(fresh, data, run_dir=tmp_path, epochs=4, batch_size=30, verbose=0, augment=False,
                       early_stopping=False, callbacks=[probe])
    assert result.initial_epoch == 2 and result.resumed
    assert result.epochs == 4
    assert len(result.history["loss"]) == 4  # the two epochs before the kill are kept
    for a, b in zip(probe.weights, saved.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert probe.iterations == 2 * 3  # optimiser state restored: 2 epochs of 3 steps
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 4
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*.keras")) == ["checkpoint-epoch004.keras"]


def test_a_finished_run_is_not_trained_again(tmp_path):
    x, y = tiny_problem()
    train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=2, batch_size=40, verbose=0, augment=False)
    again = train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=2, batch_size=40, verbose=0, augment=False)
    assert again.initial_epoch == 2 and again.seconds < 1.0


def test_resume_false_starts_afresh(tmp_path):
    x, y = tiny_problem()
    train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=2, batch_size=40, verbose=0, augment=False)
    again = train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=1, batch_size=40, verbose=0, resume=False)
    assert again.initial_epoch == 0 and len(again.history["loss"]) == 1


def test_resume_refuses_another_architecture(tmp_path):
    x, y = tiny_problem()
    train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=1, batch_size=40, verbose=0, augment=False)
    other = models.mememoji(input_shape=(SIDE, SIDE, 1), num_classes=3)
    with pytest.raises(ValueError, match="holds a run of 'compact'"):
        train.fit(other, (x, y), run_dir=tmp_path, epochs=2, batch_size=40, verbose=0, augment=False)


def test_facedata_trains_on_training_and_validates_on_publictest():
    x, y = tiny_problem(n=70, k=7)
    splits = np.array(["Training"] * 50 + ["PublicTest"] * 10 + ["PrivateTest"] * 10)
    data = FaceData(images=x, labels=y.astype(np.int64), splits=splits, class_names=EMOTIONS,
                    name="tiny", source="test")
    result = train.fit(tiny_model(7), data, epochs=1, batch_size=25, verbose=0, augment=False)
    assert "val_accuracy" in result.history
    assert result.metrics["train_images"] == 50


def test_warmup_cosine_shape():
    sched = train.warmup_cosine(100, 0.1, warmup=0.1)
    lr = [float(sched(s)) for s in (0, 5, 10, 55, 100)]
    assert lr[0] == pytest.approx(0.0)
    assert lr[1] == pytest.approx(0.05)
    assert lr[2] == pytest.approx(0.1)
    assert lr[3] == pytest.approx(0.05, abs=1e-6)  # halfway through the cosine
    assert lr[4] == pytest.approx(0.0, abs=1e-7)


def test_balanced_class_weights():
    w = train.class_weights([0, 0, 0, 1], num_classes=3)
    # n / (classes present * n_c): 4 / (2 * 3) and 4 / (2 * 1); absent class 2 gets 0
    np.testing.assert_allclose(w, [4 / 6, 2.0, 0.0])


def test_class_weights_reach_the_batches():
    x, y = tiny_problem(n=30)
    w = train.class_weights(y, 3)
    batches = train.batches(x, y, 10, sample_weights=w[y].astype("float32"), shuffle=False)
    xb, yb, wb = batches[0]
    assert xb.shape == (10, SIDE, SIDE, 1) and xb.dtype == np.float32
    np.testing.assert_allclose(wb, w[yb])


def test_stratified_subset_keeps_proportions():
    y = np.array([0] * 80 + [1] * 15 + [2] * 5)
    x = np.arange(100)
    xs, ys = train.stratified_subset(x, y, 20, seed=1)
    assert len(ys) == 20 and np.bincount(ys).tolist() == [16, 3, 1]
    assert np.array_equal(y[xs], ys)


def test_labels_out_of_range_are_explained():
    x, y = tiny_problem()
    y = y.copy()
    y[0] = 5
    with pytest.raises(ValueError, match="labels 0..5.*3 outputs"):
        train.fit(tiny_model(), (x, y), epochs=1, verbose=0, augment=False)


def test_wrong_image_shape_is_explained():
    x = np.zeros((10, 20, 20), np.uint8)
    with pytest.raises(ValueError, match=r"takes images of shape \(16, 16, 1\).*\(20, 20, 1\)"):
        train.fit(tiny_model(), (x, np.zeros(10, int)), epochs=1, verbose=0, augment=False)


def test_bad_data_and_options_are_explained():
    with pytest.raises(TypeError, match="FaceData or a tuple"):
        train.fit(tiny_model(), "faces.npz", epochs=1)
    x, y = tiny_problem()
    with pytest.raises(ValueError, match="augment='heavy'"):
        train.fit(tiny_model(), (x, y), epochs=1, augment="heavy", verbose=0)
    with pytest.raises(ValueError, match="unknown model"):
        train.train_named("resnet", data=object())


def test_train_named_writes_test_metrics_and_resumes(tmp_path):
    x, y = tiny_problem(n=84, k=7)
    splits = np.array(["Training"] * 56 + ["PublicTest"] * 14 + ["PrivateTest"] * 14)
    data = FaceData(images=x, labels=y.astype(np.int64), splits=splits, class_names=EMOTIONS,
                    name="tiny", source="test")
    result = train.train_named("compact", data=data, run_dir=tmp_path, epochs=1, batch_size=28, verbose=0)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_split"] == "PrivateTest" and metrics["test_images"] == 14
    assert 0.0 <= metrics["accuracy"] <= 1.0 and set(metrics["per_class_accuracy"]) == set(EMOTIONS)
    assert result.metrics["accuracy"] == metrics["accuracy"]
    assert 0.0 <= metrics["accuracy_flip_tta"] <= 1.0
    again = train.train_named("compact", data=data, run_dir=tmp_path, epochs=1, batch_size=28, verbose=0)
    assert again.initial_epoch == 1


def test_augmentation_keeps_shapes_and_changes_pixels():
    aug = train.augmentation("standard", seed=1)
    x = np.random.default_rng(0).integers(0, 256, (8, SIDE, SIDE, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(aug(x, training=True))
    assert out.shape == x.shape and not np.allclose(out, x)
    assert train.augmentation(False) is None


def test_numpy_flip_mirrors_about_half_of_a_batch():
    aug = train.augmentation("flip", seed=3)
    x = np.random.default_rng(0).integers(0, 256, (200, SIDE, SIDE, 1)).astype("float32")
    out = aug(x, training=True)
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(mirrored | kept) and 70 < mirrored.sum() < 130
    np.testing.assert_array_equal(aug(x, training=False), x)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, C\)"):
        aug(np.zeros((SIDE, SIDE)), training=True)


def test_opencv_affine_with_no_jitter_only_mirrors():
    aug = train.RandomAffineCV(rotation=0, shift=0, zoom=0, seed=2)
    x = np.random.default_rng(0).integers(0, 256, (200, SIDE, SIDE)).astype("float32")
    out = aug(x, training=True)
    mirrored = np.array([np.allclose(o, i[:, ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.allclose(o, i) for o, i in zip(out, x)])
    assert np.all(mirrored | kept) and 70 < mirrored.sum() < 130


def test_opencv_affine_moves_pixels_keeps_shape_dtype_and_border():
    aug = train.augmentation("affine", seed=4)
    assert isinstance(aug, train.RandomAffineCV)
    x = np.random.default_rng(1).integers(0, 256, (16, SIDE, SIDE, 1)).astype("uint8")
    out = aug(x, training=True)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert all(not np.array_equal(o, i) and not np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x))
    # Border replication: a flat grey face stays flat grey, with no black wedges.
    flat = np.full((4, SIDE, SIDE), 120.0, dtype="float32")
    np.testing.assert_allclose(aug(flat, training=True), flat, atol=1e-3)
    np.testing.assert_array_equal(aug(x, training=False), x)
    # uint8 faces are rounded back to whole grey levels, not truncated (which would darken them by 1/2).
    as_float = train.augmentation("affine", seed=4)(x.astype("float32"))
    assert abs(out.astype(float).mean() - as_float.mean()) < 0.05
    # The same seed gives the same faces.
    np.testing.assert_array_equal(train.augmentation("affine", seed=4)(x), out)


def test_opencv_affine_erasing_greys_one_rectangle_per_face():
    aug = train.RandomAffineCV(rotation=0, shift=0, zoom=0, flip=False, erase=1.0, seed=5)
    x = np.random.default_rng(2).integers(0, 256, (20, SIDE, SIDE)).astype("float32")
    out = aug(x, training=True)
    for o, i in zip(out, x):
        changed = ~np.isclose(o, i)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        assert changed.sum() > 0
        # The changed pixels form one rectangle, all set to the face's mean grey.
        box = np.zeros_like(changed)
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        assert np.all(changed <= box)
        np.testing.assert_allclose(np.unique(o[box]), [i.mean()], rtol=1e-5)


def test_opencv_affine_rejects_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="rotation must be >= 0"):
        train.RandomAffineCV(rotation=-1)
    with pytest.raises(ValueError, match=r"erase is a probability in \[0, 1\]"):
        train.RandomAffineCV(erase=2)
    with pytest.raises(ValueError, match="zoom must be below 1"):
        train.RandomAffineCV(zoom=1.5)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 1\)"):
        train.RandomAffineCV()(np.zeros((2, SIDE, SIDE, 3)), training=True)
    with pytest.raises(ValueError, match="'affine'"):
        train.augmentation("rotate")
