"""Clip models (tiny): frozen per-frame CNN features, RNN heads, CNN+RNN on clips, the difference CNN."""

import keras
import numpy as np
import pytest

from fercourse import config, models, train
from fercourse.models import sequence as sq


@pytest.fixture(scope="module")
def tiny_cnn():
    config.seed_everything()
    return models.compact(input_shape=(16, 16, 1), num_classes=3, widths=(4, 4, 8, 8), blocks=(1, 1, 1, 1))


def test_feature_extractor_is_frozen_and_cut_at_the_pooled_features(tiny_cnn):
    ext = sq.feature_extractor(tiny_cnn)
    assert ext.output_shape == (None, 8) and not ext.trainable and ext.trainable_weights == []
    clips = np.random.default_rng(0).integers(0, 256, (3, 5, 16, 16)).astype(np.uint8)
    f = sq.frame_features(ext, clips)
    assert f.shape == (3, 5, 8) and f.dtype == np.float32
    direct = ext.predict(clips[1, 2][None, :, :, None].astype("float32"), verbose=0)[0]
    assert np.allclose(f[1, 2], direct, atol=1e-5)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        sq.feature_extractor(tiny_cnn, "nope")
    with pytest.raises(ValueError, match="clips"):
        sq.frame_features(ext, clips[0])


def test_onset_relative_zeroes_the_first_frame():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    out = keras.ops.convert_to_numpy(sq.OnsetRelative()(x))
    assert np.all(out[:, 0] == 0) and np.allclose(out[:, 2], x[:, 2] - x[:, 0])


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_temporal_head_learns_which_way_features_move(rnn, tmp_path):
    # class 0: feature 0 rises over the clip; class 1: it falls -- only the sequence tells them apart
    rng = np.random.default_rng(1)
    n, t, d = 64, 6, 5
    y = np.arange(n) % 2
    x = rng.normal(0, 0.1, (n, t, d)).astype("float32") + rng.normal(0, 1, (n, 1, d)).astype("float32")
    x[:, :, 0] += np.where(y[:, None] == 0, 1, -1) * np.linspace(0, 2, t)
    config.seed_everything()
    head = sq.temporal_head(t, d, 2, rnn=rnn, units=8, projection=8, stats=sq.feature_stats(x))
    train.fit(head, (x, y), epochs=15, batch_size=16, augment=False, early_stopping=False, verbose=0)
    assert (head.predict(x, verbose=0).argmax(1) == y).mean() > 0.9
    head.save(tmp_path / "head.keras")  # OnsetRelative is registered: the model saves and loads
    again = keras.saving.load_model(tmp_path / "head.keras")
    assert np.allclose(again.predict(x[:4], verbose=0), head.predict(x[:4], verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="rnn"):
        sq.temporal_head(t, d, 2, rnn="transformer")


def test_feature_stats_and_vector_head():
    x = np.stack([np.zeros((4, 3)), np.full((4, 3), 2.0)]).astype("float32")
    mean, var = sq.feature_stats(x)
    assert np.allclose(mean, 1) and np.allclose(var, 1)
    head = sq.vector_head(3, 4, stats=(mean, var))
    assert head.output_shape == (None, 4)
    standardised = head.get_layer("standardise")(np.array([[3.0, 1.0, -1.0]], "float32"))
    assert np.allclose(keras.ops.convert_to_numpy(standardised), [[2, 0, -2]], atol=1e-3)


def test_cnn_rnn_on_clips_matches_the_head_on_features_and_trains_through_fit(tiny_cnn):
    ext = sq.feature_extractor(tiny_cnn)
    rng = np.random.default_rng(2)
    clips = rng.integers(0, 256, (8, 4, 16, 16)).astype(np.uint8)
    y = np.arange(8) % 3
    feats = sq.frame_features(ext, clips)
    config.seed_everything()
    head = sq.temporal_head(4, 8, 3, units=4, projection=4, stats=sq.feature_stats(feats))
    model = sq.cnn_rnn(ext, head)
    assert model.input_shape == (None, 4, 16, 16, 1) and model.output_shape == (None, 3)
    assert np.allclose(model.predict(clips[..., None].astype("float32"), verbose=0),
                       head.predict(feats, verbose=0), atol=1e-4)
    frozen = [w.copy() for w in ext.get_weights()]
    result = train.fit(model, (clips, y), epochs=1, batch_size=4, augment=False, early_stopping=False, verbose=0)
    assert result.epochs == 1
    assert all(np.array_equal(a, b) for a, b in zip(frozen, ext.get_weights()))  # the CNN stayed frozen


def test_difference_cnn_takes_flow_or_difference():
    rng = np.random.default_rng(3)
    for channels in (1, 2):
        config.seed_everything()
        model = sq.difference_cnn((24, 24, channels), num_classes=3, widths=(4, 8))
        x = rng.normal(0, 1, (6, 24, 24, channels)).astype("float32")
        train.fit(model, (x, np.arange(6) % 3), epochs=1, batch_size=3, augment=False, early_stopping=False,
                  verbose=0)
        assert model.predict(x, verbose=0).shape == (6, 3)
