"""The one training loop: any model, resume that continues the same run, refusals before step one."""

import json
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fercourse import config, models, train  # noqa: E402
from fercourse.batches import ArrayBatches  # noqa: E402
from fercourse.datasets import FaceData  # noqa: E402
from fercourse.labels import EMOTIONS  # noqa: E402

SIDE = 16
FIT = dict(batch_size=30, verbose=0)


def tiny_problem(n=120, k=3, seed=0):
    """Images whose class is written in which quarter of the face is bright: learnable at once."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.integers(0, 60, (n, SIDE, SIDE)).astype(np.uint8)
    for c in range(k):
        r, col = divmod(c, 2)
        x[y == c, r * 8:(r + 1) * 8, col * 8:(col + 1) * 8] += 150
    return x, y


def tiny_model(k=3, seed=0):
    config.seed_everything(seed)
    return models.compact(input_shape=(SIDE, SIDE, 1), num_classes=k, widths=(4, 8, 8, 8), learning_rate=1e-2)


def two_input_model():
    config.seed_everything(0)
    image, hog = keras.Input((SIDE, SIDE, 1), name="image"), keras.Input((8,), name="hog")
    a = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, strides=2, activation="relu")(image / 255.0))
    z = keras.layers.Dropout(0.3)(keras.layers.Concatenate()([a, hog]))
    model = keras.Model([image, hog], keras.layers.Dense(3, activation="softmax")(z))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def clip_model():
    config.seed_everything(0)
    clips = keras.Input((4, SIDE, SIDE, 1))
    f = keras.layers.TimeDistributed(keras.layers.Conv2D(4, 3, strides=2, activation="relu"))(clips / 255.0)
    f = keras.layers.TimeDistributed(keras.layers.GlobalAveragePooling2D())(f)
    model = keras.Model(clips, keras.layers.Dense(3, activation="softmax")(keras.layers.LSTM(6)(f)))
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def three_head_model():
    config.seed_everything(0)
    image = keras.Input((SIDE, SIDE, 1))
    z = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, strides=2, activation="relu")(image / 255.0))
    z = keras.layers.Dropout(0.2)(keras.layers.Dense(16, activation="relu")(z))
    outputs = {"expression": keras.layers.Dense(3, activation="softmax", name="expression")(z),
               "aus": keras.layers.Dense(5, activation="sigmoid", name="aus")(z),
               "va": keras.layers.Dense(2, activation="tanh", name="va")(z)}
    model = keras.Model(image, outputs)
    model.compile(keras.optimizers.Adam(1e-2),
                  loss={"expression": "sparse_categorical_crossentropy", "aus": "binary_crossentropy",
                        "va": "mse"})
    return model


def multi_data():
    x, y = tiny_problem()
    rng = np.random.default_rng(1)
    aus = (rng.random((len(y), 5)) < 0.3).astype("float32")
    va = rng.uniform(-1, 1, (len(y), 2)).astype("float32")
    masks = {"expression": np.ones(len(y), "float32"), "aus": (rng.random(len(y)) < 0.2).astype("float32"),
             "va": (rng.random(len(y)) < 0.5).astype("float32")}
    return x, {"expression": y, "aus": aus, "va": va}, masks


class KillAt(keras.callbacks.Callback):
    """A laptop switched off mid-epoch: raises in the middle of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch, batch=1):
        super().__init__()
        self.epoch, self.batch = epoch, batch

    def on_epoch_begin(self, epoch, logs=None):
        self.now = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.now == self.epoch and batch == self.batch:
            raise KeyboardInterrupt("killed")


def assert_same_weights(a, b):
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(u, v)


def killed_then_resumed(build, data, tmp_path, **kw):
    """The weights of an uninterrupted run and of the same run killed mid-epoch 2 and resumed."""
    whole = train.fit(build(), data, run_dir=tmp_path / "whole", **kw)
    with pytest.raises(KeyboardInterrupt):
        train.fit(build(), data, run_dir=tmp_path / "killed", callbacks=[KillAt(1)], **kw)
    resumed = train.fit(build(), data, run_dir=tmp_path / "killed", **kw)
    assert resumed.initial_epoch == 1 and resumed.epochs == kw["epochs"]
    assert resumed.history["loss"] == whole.history["loss"]
    return whole.model, resumed.model


def test_training_lowers_the_loss():
    x, y = tiny_problem()
    result = train.fit(tiny_model(), (x, y), epochs=5, batch_size=20, augment=False, verbose=0)
    loss = result.history["loss"]
    assert len(loss) == 5 and loss[-1] < 0.8 * loss[0]


def test_run_folder_files(tmp_path):
    x, y = tiny_problem()
    result = train.fit(tiny_model(), (x[:90], y[:90], x[90:], y[90:]), run_dir=tmp_path, epochs=2,
                       augment=False, **FIT)
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"state.json", "history.json", "history.csv", "metrics.json", "model.weights.h5"}
    hist = json.loads((tmp_path / "history.json").read_text())
    assert len(hist["val_accuracy"]) == 2 and len(hist["lr"]) == 2
    assert (tmp_path / "history.csv").read_text().splitlines()[0].startswith("epoch,")
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["epoch"] == 2 and state["done"] is True
    assert result.epochs == 2 and result.best_epoch in (1, 2)


def test_killed_single_input_run_resumes_bit_identical(tmp_path):
    x, y = tiny_problem()
    a, b = killed_then_resumed(tiny_model, (x[:90], y[:90], x[90:], y[90:]), tmp_path, epochs=3,
                               augment="standard", **FIT)
    assert_same_weights(a, b)


def test_killed_two_input_run_resumes_bit_identical(tmp_path):
    x, y = tiny_problem()
    hog = np.random.default_rng(2).random((len(y), 8)).astype("float32")
    a, b = killed_then_resumed(two_input_model, ({"image": x, "hog": hog}, y), tmp_path, epochs=3,
                               augment="flip", **FIT)
    assert_same_weights(a, b)


def test_killed_clip_run_resumes_bit_identical(tmp_path):
    x, y = tiny_problem()
    clips = np.stack([np.roll(x, s, axis=2) for s in range(4)], axis=1)  # (N, 4, H, W)
    a, b = killed_then_resumed(clip_model, (clips, y), tmp_path, epochs=3, augment="standard", **FIT)
    assert_same_weights(a, b)


def test_killed_three_head_run_with_masked_labels_resumes_bit_identical(tmp_path):
    x, y, masks = multi_data()
    a, b = killed_then_resumed(three_head_model, (x, y), tmp_path, epochs=3, sample_weight=masks,
                               augment="flip", **FIT)
    assert_same_weights(a, b)


def test_a_masked_label_contributes_nothing():
    x, y, masks = multi_data()
    changed = {**y, "aus": np.where(masks["aus"][:, None] > 0, y["aus"], 1 - y["aus"]),
               "va": np.where(masks["va"][:, None] > 0, y["va"], -y["va"])}
    a = train.fit(three_head_model(), (x, y), sample_weight=masks, epochs=2, augment=False, **FIT)
    b = train.fit(three_head_model(), (x, changed), sample_weight=masks, epochs=2, augment=False, **FIT)
    assert_same_weights(a.model, b.model)
    assert a.metrics["monitor"] == "loss"


def test_seed_makes_runs_reproducible_whatever_the_random_state_before():
    x, y = tiny_problem()
    model = two_input_model()
    start = model.get_weights()
    hog = np.zeros((len(y), 8), "float32")
    a = train.fit(model, ({"image": x, "hog": hog}, y), epochs=2, seed=5, augment="standard", **FIT)
    first = [w.copy() for w in a.model.get_weights()]
    other = two_input_model()
    other.set_weights(start)
    np.random.rand(7), keras.random.uniform((3,))  # unrelated draws in between
    b = train.fit(other, ({"image": x, "hog": hog}, y), epochs=2, seed=5, augment="standard", **FIT)
    for u, v in zip(first, b.model.get_weights()):
        np.testing.assert_array_equal(u, v)


def test_a_finished_run_is_not_trained_again(tmp_path):
    x, y = tiny_problem()
    first = train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=2, augment=False, **FIT)
    again = train.fit(tiny_model(seed=9), (x, y), run_dir=tmp_path, epochs=2, augment=False, **FIT)
    assert again.initial_epoch == 2 and again.seconds < 1.0
    assert_same_weights(first.model, again.model)


def test_resume_false_starts_afresh(tmp_path):
    x, y = tiny_problem()
    train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=2, augment=False, **FIT)
    again = train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=1, resume=False, **FIT)
    assert again.initial_epoch == 0 and len(again.history["loss"]) == 1


def test_resume_refuses_another_architecture_and_other_settings(tmp_path):
    x, y = tiny_problem()
    train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=1, augment=False, **FIT)
    wider = models.compact(input_shape=(SIDE, SIDE, 1), num_classes=3, widths=(8, 8, 8, 8))
    with pytest.raises(train.RunFolderError, match=r"another architecture.*conv0_1/kernel\) has shape \(3, 3, 4, 4\), this model.s \(3, 3, 4, 8\)"):
        train.fit(wider, (x, y), run_dir=tmp_path, epochs=1, augment=False, **FIT)
    with pytest.raises(train.RunFolderError, match="epochs 1, now 4.*resume=False"):
        train.fit(tiny_model(), (x, y), run_dir=tmp_path, epochs=4, augment=False, **FIT)


def test_a_damaged_last_checkpoint_falls_back_to_the_one_before(tmp_path):
    x, y = tiny_problem()
    data = (x[:90], y[:90], x[90:], y[90:])
    kw = dict(epochs=4, augment=False, early_stopping=False, **FIT)
    whole = train.fit(tiny_model(), data, run_dir=tmp_path / "whole", **kw)
    with pytest.raises(KeyboardInterrupt):
        train.fit(tiny_model(), data, run_dir=tmp_path / "run", callbacks=[KillAt(2)], **kw)
    latest = tmp_path / "run" / "backup" / "latest.weights.h5"
    latest.write_bytes(latest.read_bytes()[: latest.stat().st_size // 2])  # a full disk, a killed laptop
    with pytest.warns(UserWarning, match="damaged; resuming from the one before it \\(epoch 1\\)"):
        resumed = train.fit(tiny_model(), data, run_dir=tmp_path / "run", **kw)
    assert resumed.initial_epoch == 1
    assert_same_weights(whole.model, resumed.model)


def test_damaged_run_files_name_the_file_and_the_way_on(tmp_path):
    x, y = tiny_problem()
    kw = dict(epochs=3, augment=False, **FIT)
    with pytest.raises(KeyboardInterrupt):
        train.fit(tiny_model(), (x, y), run_dir=tmp_path, callbacks=[KillAt(2)], **kw)
    backup = tmp_path / "backup"
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        (backup / name).write_bytes(b"\0" * 100)
    with pytest.raises(train.RunFolderError, match=r"checkpoint .*latest.weights.h5 is damaged.*resume=False"):
        train.fit(tiny_model(), (x, y), run_dir=tmp_path, **kw)
    (tmp_path / "state.json").write_text('{"model": "comp')
    with pytest.raises(train.RunFolderError, match=r"run state .*state.json is damaged.*--fresh"):
        train.fit(tiny_model(), (x, y), run_dir=tmp_path, **kw)
    done = train.fit(tiny_model(), (x, y), run_dir=tmp_path, resume=False, **kw)
    assert done.epochs == 3
    kept = tmp_path / "model.weights.h5"
    kept.write_bytes(kept.read_bytes()[:500])
    with pytest.raises(train.RunFolderError, match=r"weights .*model.weights.h5 are damaged"):
        train.fit(tiny_model(), (x, y), run_dir=tmp_path, **kw)


def test_what_cannot_be_learned_is_refused_before_the_first_step():
    x, y = tiny_problem()
    xf = x.astype("float32")
    xf[17, 3, 3] = np.nan
    with pytest.raises(ValueError, match="x_train holds non-finite values .* 1 sample.*index 17"):
        train.fit(tiny_model(), (xf, y), epochs=1, **FIT)
    with pytest.raises(ValueError, match="y_train holds values that are not whole class indices"):
        train.fit(tiny_model(), (x, y + 0.5), epochs=1, **FIT)
    bad = y.copy()
    bad[0] = 5
    with pytest.raises(ValueError, match="labels 0..5.*3 outputs"):
        train.fit(tiny_model(), (x, bad), epochs=1, **FIT)
    va = np.zeros((len(y), 2), "float32")
    va[3] = np.nan
    with pytest.raises(ValueError, match=r"y_train\['va'\] holds non-finite.*sample weight of 0"):
        train.fit(three_head_model(), (x, {"expression": y, "aus": np.zeros((len(y), 5)), "va": va}), epochs=1, **FIT)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(16, 16, 1\).*\(20, 20, 1\)"):
        train.fit(tiny_model(), (np.zeros((10, 20, 20), np.uint8), np.zeros(10, int)), epochs=1, **FIT)
    with pytest.raises(TypeError, match="FaceData, a tuple"):
        train.fit(tiny_model(), "faces.npz", epochs=1)


def test_a_diverging_run_stops_with_a_clear_message_and_valid_json(tmp_path):
    x, y = tiny_problem()
    model = models.compact(input_shape=(SIDE, SIDE, 1), num_classes=3, widths=(4, 8, 8, 8), learning_rate=1e9)
    with pytest.raises(FloatingPointError, match="training diverged: the loss became nan"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train.fit(model, (x * 1e30, y), run_dir=tmp_path, epochs=3, augment=False, lr_schedule=None, **FIT)
    for name in ("state.json", "history.json"):
        if (tmp_path / name).exists():
            json.loads((tmp_path / name).read_text())  # strict JSON: no NaN tokens


def test_facedata_trains_on_training_and_validates_on_publictest():
    x, y = tiny_problem(n=70, k=7)
    splits = np.array(["Training"] * 50 + ["PublicTest"] * 10 + ["PrivateTest"] * 10)
    data = FaceData(images=x, labels=y.astype(np.int64), splits=splits, class_names=EMOTIONS,
                    name="tiny", source="test")
    result = train.fit(tiny_model(7), data, epochs=1, batch_size=25, verbose=0, augment=False)
    assert "val_accuracy" in result.history and result.metrics["train_samples"] == 50


def test_class_weights_reach_the_batches():
    x, y = tiny_problem(n=30)
    w = np.array([1.0, 2.0, 3.0])
    batches = ArrayBatches(x, y, 10, sample_weight=w[y].astype("float32"), shuffle=False)
    xb, yb, wb = batches[0]
    assert xb.shape == (10, SIDE, SIDE, 1) and xb.dtype == np.float32
    np.testing.assert_allclose(wb, w[yb])


def test_batches_are_a_function_of_seed_epoch_and_index():
    x, y = tiny_problem(n=40)
    from fercourse.augment import augmentation

    a = ArrayBatches(x, y, 10, augment=augmentation("standard"), seed=3, start_epoch=2)
    b = ArrayBatches(x, y, 10, augment=augmentation("standard"), seed=3)
    b.on_epoch_end(), b.on_epoch_end()
    np.testing.assert_array_equal(a[1][0], b[1][0])
    with pytest.raises(ValueError, match="x: 40, y: 39"):
        ArrayBatches(x, y[:-1], 10)


def test_one_pass_of_several_epochs_holds_the_batches_of_each_epoch_in_turn():
    x, y = tiny_problem(n=25)
    from fercourse.augment import augmentation

    stream = ArrayBatches(x, y, 10, augment=augmentation("standard"), seed=5, start_epoch=1, until_epoch=4)
    assert stream.stream and stream.num_batches == 9 and len(stream) == 3
    for epoch in (1, 2, 3):
        one = ArrayBatches(x, y, 10, augment=augmentation("standard"), seed=5, start_epoch=epoch)
        assert not one.stream and one.num_batches == 3
        for i in range(3):
            got, want = stream[(epoch - 1) * 3 + i], one[i]
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])
    stream.on_epoch_end()  # Keras's end-of-epoch call moves nothing: the index says the epoch
    np.testing.assert_array_equal(stream[3][1], ArrayBatches(x, y, 10, seed=5, start_epoch=2)[0][1])
    stream.set_epoch(3)  # a resumed run starts later: fewer batches left
    assert stream.num_batches == 3


def test_fit_reads_one_stream_and_matches_epoch_by_epoch_batches():
    # The stream fit() reads must give the weights that epoch-by-epoch batches would give.
    x, y = tiny_problem(n=50)

    config.seed_everything(0)
    model = models.get("mememoji", input_shape=(SIDE, SIDE, 1), num_classes=3, width=0.25)
    train.fit(model, (x, y), epochs=3, augment="standard", early_stopping=False, seed=2, **FIT)
    streamed = model.get_weights()
    config.seed_everything(0)
    model = models.get("mememoji", input_shape=(SIDE, SIDE, 1), num_classes=3, width=0.25)
    model.compile(optimizer=model.optimizer, loss="sparse_categorical_crossentropy")
    from fercourse.augment import augmentation

    batches = ArrayBatches(x, y, 30, augment=augmentation("standard"), seed=2)
    train._set_schedule(model, train.warmup_cosine(3 * len(batches), train._base_lr(model.optimizer)))
    for epoch in range(3):
        batches.set_epoch(epoch)
        train._reset_seed_generators(model, 2, epoch)
        for i in range(len(batches)):
            model.train_on_batch(*batches[i])
    for a, b in zip(streamed, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_fit_reads_its_training_and_validation_batches_without_running_out():
    # Keras warns "Your input ran out of data" when a pipeline's length is unknown: in every
    # chapter's output, once an epoch, unless the pipeline says its length.
    x, y = tiny_problem(n=50)
    config.seed_everything(0)
    model = models.get("mememoji", input_shape=(SIDE, SIDE, 1), num_classes=3, width=0.25)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train.fit(model, (x, y, x[:20], y[:20]), epochs=3, early_stopping=False, **FIT)
    assert result.epochs == 3 and len(result.history["val_loss"]) == 3
    assert not [w for w in caught if "ran out of data" in str(w.message)]


def test_warmup_cosine_shape():
    sched = train.warmup_cosine(100, 0.1, warmup=0.1)
    lr = [float(sched(s)) for s in (0, 5, 10, 55, 100)]
    assert lr[0] == pytest.approx(0.0) and lr[1] == pytest.approx(0.05) and lr[2] == pytest.approx(0.1)
    assert lr[3] == pytest.approx(0.05, abs=1e-6) and lr[4] == pytest.approx(0.0, abs=1e-7)


def test_best_epoch_reads_the_history():
    assert train.best_epoch({"val_accuracy": [0.2, 0.5, 0.5, 0.4]}, "val_accuracy", "max") == 2
    assert train.best_epoch({"val_loss": [1.0, None, 0.7]}, "val_loss", "min") == 3
    assert train.best_epoch({}, "val_loss", "min") is None
