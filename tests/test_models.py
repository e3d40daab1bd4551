"""The model zoo: shapes, parameter counts worked out by hand, and clear errors."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fercourse import models  # noqa: E402


def conv(k, cin, cout, bias=True):
    """Parameters of a k x k convolution."""
    return k * k * cin * cout + (cout if bias else 0)


def dense(n_in, n_out):
    return n_in * n_out + n_out


def bn(c):
    return 4 * c  # gamma, beta, moving mean, moving variance


def test_registry_lists_every_builder():
    assert set(models.MODELS) == {"alizadeh_fazel_shallow", "alizadeh_fazel_deep", "mememoji",
                                  "breuer_kimmel", "vgg_bn", "compact"}
    for name, builder in models.MODELS.items():
        assert builder.__name__ == name


def test_unknown_model_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*breuer_kimmel.*compact"):
        models.get("resnet")


def test_breuer_kimmel_count_and_shapes():
    m = models.breuer_kimmel()
    assert m.input_shape == (None, 48, 48, 1) and m.output_shape == (None, 7)
    # 48 -> 24 -> 12 -> 6 after three pools
    expected = conv(5, 1, 64) + conv(5, 64, 128) + conv(5, 128, 256) + dense(6 * 6 * 256, 512) + dense(512, 7)
    assert m.count_params() == expected


def test_breuer_kimmel_other_size_and_classes():
    m = models.breuer_kimmel(input_shape=(32, 32, 1), num_classes=6, compile=False)
    expected = conv(5, 1, 64) + conv(5, 64, 128) + conv(5, 128, 256) + dense(4 * 4 * 256, 512) + dense(512, 6)
    assert m.count_params() == expected
    assert getattr(m, "optimizer", None) is None  # compile=False leaves it uncompiled


def test_breuer_kimmel_optimiser_is_adam_with_inverse_time_decay():
    m = models.breuer_kimmel()
    assert type(m.optimizer).__name__ == "Adam"
    sched = keras.saving.deserialize_keras_object(m.optimizer.get_config()["learning_rate"])
    assert float(sched(0)) == pytest.approx(1e-3)
    assert float(sched(100_000)) == pytest.approx(1e-3 / (1 + 1e-5 * 100_000))


def test_alizadeh_fazel_shallow_count():
    m = models.alizadeh_fazel_shallow()
    expected = (conv(3, 1, 32, bias=False) + bn(32) + conv(3, 32, 64, bias=False) + bn(64)
                + dense(24 * 24 * 64, 512) + dense(512, 7))
    assert m.count_params() == expected


def test_alizadeh_fazel_deep_count():
    m = models.alizadeh_fazel_deep()
    expected = (conv(3, 1, 64, False) + bn(64) + conv(5, 64, 128, False) + bn(128)
                + conv(3, 128, 512, False) + bn(512) + conv(3, 512, 512, False) + bn(512)
                + 3 * 3 * 512 * 256 + bn(256) + 256 * 512 + bn(512) + dense(512, 7))
    assert m.count_params() == expected
    assert m.output_shape == (None, 7)


def test_mememoji_count():
    m = models.mememoji(num_classes=6)
    expected = (conv(3, 1, 32) + 2 * conv(3, 32, 32) + conv(3, 32, 64) + 2 * conv(3, 64, 64)
                + conv(3, 64, 128) + 2 * conv(3, 128, 128) + dense(6 * 6 * 128, 64) + dense(64, 64) + dense(64, 6))
    assert m.count_params() == expected


def test_vgg_bn_small_count():
    m = models.vgg_bn(input_shape=(16, 16, 1), widths=(4, 8), convs_per_stage=2, num_classes=3)
    expected = (conv(3, 1, 4, False) + bn(4) + conv(3, 4, 4, False) + bn(4)
                + conv(3, 4, 8, False) + bn(8) + conv(3, 8, 8, False) + bn(8) + dense(8, 3))
    assert m.count_params() == expected


def test_compact_count():
    m = models.compact()
    # The 48x48 face folded into 24x24x4, then stages of 32/64/128/256 at 24/12/6/3 pixels,
    # two convolutions at 6x6.
    expected = (conv(3, 4, 32, False) + bn(32) + conv(3, 32, 64, False) + bn(64)
                + conv(3, 64, 128, False) + bn(128) + conv(3, 128, 128, False) + bn(128)
                + conv(3, 128, 256, False) + bn(256) + dense(256, 7))
    assert m.count_params() == expected
    assert [layer.name for layer in m.layers][:4] == ["image", "rescale", "stem_split", "stem_permute"]


def test_hybrid_count():
    m = models.cnn_hog_hybrid()
    expected = (conv(3, 1, 32, False) + bn(32) + conv(3, 32, 64, False) + bn(64) + conv(3, 64, 128, False)
                + bn(128) + dense(6 * 6 * 128 + 900, 256) + dense(256, 7))
    assert m.count_params() == expected


@pytest.fixture(scope="module")
def every_model():
    built = [(name, models.get(name, compile=False)) for name in sorted(models.MODELS)]
    return built + [("cnn_hog_hybrid", models.cnn_hog_hybrid(compile=False))]


def test_every_batch_norm_keeps_up_with_short_runs(every_model):
    # One momentum for every model, the hybrid included: Keras's 0.99 lags behind a short run.
    from fercourse.models.blocks import BN_MOMENTUM

    assert BN_MOMENTUM == 0.9
    for name, m in every_model:
        momenta = {layer.momentum for layer in m.layers if isinstance(layer, keras.layers.BatchNormalization)}
        assert momenta <= {BN_MOMENTUM}, (name, momenta)


def test_every_model_takes_0_to_255_pixels_the_same_way(every_model):
    for name, m in every_model:
        image = m.get_layer("image")
        assert m.get_layer("rescale").scale == pytest.approx(1 / 255), name
        assert m.get_layer("probs").activation.__name__ == "softmax", name
        assert image.output.shape[1:] == (48, 48, 1), name


def test_compiled_models_share_loss_and_metric():
    for m in (models.compact(), models.cnn_hog_hybrid(filters=(4,), dense_units=4)):
        config = m.get_compile_config()
        assert (config["loss"], config["metrics"]) == ("sparse_categorical_crossentropy", ["accuracy"]), m.name


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_every_model_predicts_probabilities(name):
    m = models.get(name, compile=False)
    x = np.random.default_rng(0).integers(0, 256, (2, 48, 48, 1)).astype("float32")
    p = np.asarray(m(x, training=False))
    assert p.shape == (2, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_models_rescale_pixels_inside():
    m = models.compact(compile=False)
    assert any(type(layer).__name__ == "Rescaling" for layer in m.layers)


@pytest.mark.parametrize("shape", [(48, 48), (48, 48, 1, 1), "48x48"])
def test_bad_input_shape_is_explained(shape):
    with pytest.raises(ValueError, match="input_shape must be"):
        models.breuer_kimmel(input_shape=shape)


def test_too_small_images_are_explained():
    with pytest.raises(ValueError, match="too small.*at least 16x16"):
        models.alizadeh_fazel_deep(input_shape=(12, 12, 1))


def test_bad_num_classes_is_explained():
    with pytest.raises(ValueError, match="num_classes"):
        models.mememoji(num_classes=1)
