"""Tests of fercourse.explain: every gradient-based map against finite differences on tiny models.

The models are 8x8 (or 48x48 where a face is needed) with a handful of filters, so each test
runs in a second or two.  Smooth activations (tanh, softplus) make central differences exact
to float32 rounding where a map is a true gradient.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fercourse import explain
from fercourse.explain.gradients import class_score_function, input_gradients

SIDE = 8
K = 3


def _tiny(activation="tanh", softmax_layer=True, seed=0):
    """8x8 grey input -> conv (tanh) -> conv -> GAP -> 3 scores (-> softmax)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIDE, SIDE, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation=activation, name="conv1")(x)
    x = keras.layers.Conv2D(5, 3, padding="same", name="conv2")(x)
    x = keras.layers.Activation("softplus", name="conv2_act")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    if softmax_layer:
        x = keras.layers.Dense(K, name="logits")(x)
        out = keras.layers.Activation("softmax", name="probs")(x)
    else:
        out = keras.layers.Dense(K, activation="softmax", name="probs")(x)
    return keras.Model(inputs, out, name="tiny")


def _faces(n=3, seed=1, side=SIDE):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side), dtype=np.uint8)


def _logits(model, x):
    """The pre-softmax scores by forward passes only (the layer named 'logits')."""
    sub = keras.Model(model.inputs[0], model.get_layer("logits").output)
    return keras.ops.convert_to_numpy(sub(np.asarray(x, np.float32), training=False))


def _finite_difference(f, x, eps=4.0):
    """Central differences of a scalar function of one (H, W, 1) float image, per pixel."""
    x = np.asarray(x, np.float64)
    flat = x.reshape(-1)
    steps = np.repeat(flat[None], 2 * flat.size, 0)
    idx = np.arange(flat.size)
    steps[2 * idx, idx] += eps
    steps[2 * idx + 1, idx] -= eps
    values = f(steps.reshape(-1, *x.shape).astype(np.float32))
    return ((values[0::2] - values[1::2]) / (2 * eps)).reshape(x.shape)


def _close(a, b, tol=2e-2):
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= tol * scale, f"max difference {np.abs(a - b).max():.3g}, scale {scale:.3g}"


# --------------------------------------------------------------------------- gradients
def test_class_scores_are_the_pre_softmax_scores():
    model = _tiny()
    x = _faces().astype(np.float32)[..., None]
    scores = keras.ops.convert_to_numpy(class_score_function(model)(x))
    np.testing.assert_allclose(scores, _logits(model, x), rtol=1e-5, atol=1e-6)
    # a Dense layer with a built-in softmax: scores differ from log-probabilities by a per-row constant
    fused = _tiny(softmax_layer=False)
    scores = keras.ops.convert_to_numpy(class_score_function(fused)(x))
    logp = np.log(keras.ops.convert_to_numpy(fused(x)))
    np.testing.assert_allclose(scores - scores[:, :1], logp - logp[:, :1], rtol=1e-4, atol=1e-4)


def test_input_gradients_match_finite_differences_and_select_rows():
    model = _tiny()
    x = _faces(2).astype(np.float32)[..., None]
    scores = class_score_function(model)
    weights = np.array([[1, 0, 0], [0, 0.5, 0.5]], np.float32)
    values, grads = input_gradients(scores, x, weights)
    logits = _logits(model, x)
    np.testing.assert_allclose(values, (logits * weights).sum(1), rtol=1e-5, atol=1e-6)
    for i in range(2):
        fd = _finite_difference(lambda z: _logits(model, z) @ weights[i], x[i])
        _close(grads[i], fd)
    top_values, _ = input_gradients(scores, x)
    np.testing.assert_allclose(top_values, logits.max(1), rtol=1e-5)
    with pytest.raises(ValueError, match="weights must be"):
        input_gradients(scores, x, weights[:1])


# --------------------------------------------------------------------------- maps
@pytest.mark.parametrize("class_index", [None, 2])
def test_saliency_is_the_absolute_gradient(class_index):
    model = _tiny()
    faces = _faces(2)
    sal = explain.saliency(model, faces, class_index)
    assert sal.shape == (2, SIDE, SIDE) and sal.dtype == np.float32
    for i in range(2):
        c = int(np.argmax(_logits(model, faces[i:i + 1, ..., None]))) if class_index is None else class_index
        fd = _finite_difference(lambda z: _logits(model, z)[:, c], faces[i, ..., None])
        _close(sal[i], np.abs(fd[..., 0]))


def test_smoothgrad_averages_gradients_of_noisy_copies():
    model = _tiny()
    faces = _faces(1)
    np.testing.assert_allclose(explain.smoothgrad(model, faces, 1, noise=0.0, samples=3),
                               explain.saliency(model, faces, 1), rtol=1e-5, atol=1e-9)
    samples, noise, seed = 4, 0.1, 7
    smooth = explain.smoothgrad(model, faces, 1, samples=samples, noise=noise, seed=seed)
    # the same noise as the function draws: one batch of `samples` copies of the one face
    noisy = faces[..., None].astype(np.float32).repeat(samples, 0)
    noisy += np.random.default_rng(seed).normal(0, noise * 255, noisy.shape).astype(np.float32)
    fd = np.mean([_finite_difference(lambda z: _logits(model, z)[:, 1], n) for n in noisy], axis=0)
    _close(smooth[0], np.abs(fd[..., 0]))
    assert not np.allclose(smooth, explain.saliency(model, faces, 1))


def _one_relu_model(dense_weights):
    """conv (ReLU) -> GAP -> one linear score: guided backprop can be worked out by hand."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIDE, SIDE, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(len(dense_weights), 3, padding="same", name="conv")(x)
    x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(1, name="score")
    model = keras.Model(inputs, dense(x))
    dense.set_weights([np.asarray(dense_weights, np.float32)[:, None], np.zeros(1, np.float32)])
    return model


def test_guided_backprop_keeps_only_positive_signals():
    # With one ReLU, guided backprop is the ordinary gradient of the score whose negative
    # dense weights are set to zero (those channels send back negative signals only).
    weights = [1.5, -2.0, 0.7, -0.3]
    model = _one_relu_model(weights)
    clipped = _one_relu_model(np.maximum(weights, 0))
    clipped.get_layer("conv").set_weights(model.get_layer("conv").get_weights())
    faces = _faces(2, seed=5)
    guided = explain.guided_backprop(model, faces, 0)
    for i in range(2):
        def score(z):
            return keras.ops.convert_to_numpy(clipped(z))[:, 0]

        fd = _finite_difference(score, faces[i, ..., None], eps=0.25)
        _close(guided[i], fd[..., 0], tol=5e-2)
    ordinary = explain.saliency(model, faces, 0)
    assert not np.allclose(np.abs(guided), ordinary, atol=1e-6), "guided backprop should not be the gradient"


def test_guided_copy_uses_the_current_weights():
    model = _one_relu_model([1.0, 1.0])
    faces = _faces(1, seed=2)
    before = explain.guided_backprop(model, faces, 0)
    model.get_layer("score").set_weights([np.array([[2.0], [2.0]], np.float32), np.zeros(1, np.float32)])
    np.testing.assert_allclose(explain.guided_backprop(model, faces, 0), 2 * before, rtol=1e-5, atol=1e-9)


def test_guided_relu_replaces_builtin_relu_activations():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIDE, SIDE, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.Activation("relu", name="act")(x)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, out)
    copy = explain.maps.guided_copy(model)
    assert copy.get_layer("conv").activation is explain.maps.guided_relu
    assert isinstance(copy.get_layer("act"), explain.maps.GuidedReLU)
    x = _faces(2).astype(np.float32)[..., None]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(copy(x)), keras.ops.convert_to_numpy(model(x)),
                               rtol=1e-5)


def test_grad_cam_matches_finite_differences_of_the_head():
    model = _tiny()
    faces = _faces(2)
    cam = explain.grad_cam(model, faces, 0, upsample=False)
    assert explain.default_cam_layer(model) == "conv2_act"
    a = explain.activation_maps(model, faces, "conv2_act")
    assert cam.shape == a.shape[:3]
    head = keras.Model(model.get_layer("conv2_act").output, model.get_layer("logits").output)
    for i in range(2):
        g = _finite_difference(lambda z: keras.ops.convert_to_numpy(head(z))[:, 0], a[i], eps=1e-2)
        want = np.maximum((g.mean(axis=(0, 1)) * a[i]).sum(-1), 0)
        _close(cam[i], want)
    up = explain.grad_cam(model, faces, 0)
    assert up.shape == (2, SIDE, SIDE)
    np.testing.assert_allclose(up, cam, rtol=1e-5)   # same size: nothing to upsample


def test_grad_cam_generalises_cam_for_a_gap_dense_head():
    # Selvaraju et al.: with global average pooling and one dense layer, alpha_k = w_kc / (h w)
    model = _tiny()
    faces = _faces(2)
    cam = explain.grad_cam(model, faces, 1, layer="conv2_act", upsample=False)
    a = explain.activation_maps(model, faces, "conv2_act")
    w = model.get_layer("logits").kernel.numpy()[:, 1]
    _close(cam, np.maximum((a * w).sum(-1) / (SIDE * SIDE), 0), tol=1e-4)


def test_grad_cam_upsamples_coarse_maps():
    model = _tiny()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIDE, SIDE, 1))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="c1")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="c2")(x)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, out)
    assert explain.default_cam_layer(model) == "c2"
    assert explain.grad_cam(model, _faces(2), upsample=False).shape == (2, SIDE // 2, SIDE // 2)
    assert explain.grad_cam(model, _faces(2)).shape == (2, SIDE, SIDE)


def _quadrant_model():
    """Scores that read only the top-left 4x4 quadrant."""
    keras.utils.set_random_seed(4)
    inputs = keras.Input((SIDE, SIDE, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Cropping2D(((0, SIDE // 2), (0, SIDE // 2)))(x)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    return keras.Model(inputs, out)


def test_occlusion_is_the_drop_in_probability():
    model = _quadrant_model()
    faces = _faces(2, seed=9)
    occ = explain.occlusion(model, faces, 1, patch=4, stride=4, fill=0)
    assert occ.shape == (2, SIDE, SIDE)
    # Patches the model never sees change nothing -- up to float32 rounding, which differs with
    # the batch a face is predicted in and with the CPU's kernels (AVX2 vs AVX-512: one ulp).
    np.testing.assert_allclose(occ[:, 4:, :], 0, atol=1e-6)
    np.testing.assert_allclose(occ[:, :, 4:], 0, atol=1e-6)
    hidden = faces.copy()
    hidden[:, :4, :4] = 0
    p = keras.ops.convert_to_numpy(model(faces[..., None].astype(np.float32)))[:, 1]
    q = keras.ops.convert_to_numpy(model(hidden[..., None].astype(np.float32)))[:, 1]
    np.testing.assert_allclose(occ[:, 0, 0], p - q, rtol=1e-5, atol=1e-6)
    # overlapping patches: each pixel gets the mean over the patches that covered it
    dense = explain.occlusion(model, faces, 1, patch=4, stride=2, fill="mean")
    assert np.abs(dense[:, :4, :4]).max() > 1e-3 and np.abs(dense[:, 6:, 6:]).max() < 1e-6


def test_maps_explain_the_predicted_class_by_default():
    model = _tiny()
    faces = _faces(4)
    pred = explain.predicted_classes(model, faces)
    assert pred.dtype == np.int64 and pred.shape == (4,)
    for method in (explain.saliency, explain.guided_backprop, explain.grad_cam, explain.occlusion):
        np.testing.assert_allclose(method(model, faces), method(model, faces, pred), rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- layers
def test_first_layer_filters_of_a_plain_convolution():
    model = _tiny()
    filters = explain.first_layer_filters(model)
    kernel = model.get_layer("conv1").kernel.numpy()
    assert filters.shape == (4, 3, 3)
    np.testing.assert_allclose(filters, np.moveaxis(kernel[:, :, 0, :], -1, 0) / 255, rtol=1e-5, atol=1e-8)


def test_first_layer_filters_through_a_space_to_depth_stem():
    from fercourse import models

    model = models.compact(input_shape=(16, 16, 1), widths=(4, 4), blocks=(1, 1))
    full = explain.first_layer_filters(model, crop=False)      # (filters, 16, 16)
    cropped = explain.first_layer_filters(model)
    assert cropped.shape == (4, 6, 6), "a 3x3 kernel on 2x2-folded pixels spans 6x6 pixels"
    conv = keras.Model(model.inputs[0], model.get_layer("conv0_1").output)
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 1)).astype(np.float32)
    out = keras.ops.convert_to_numpy(conv(images))[:, 4, 4, :]  # the centre of the 8x8 map
    np.testing.assert_allclose(out, np.einsum("nhw,fhw->nf", images[..., 0], full), rtol=1e-4, atol=1e-5)


def test_activation_maps_and_sparsity():
    model = _one_relu_model([1.0, -1.0, 0.5])
    faces = _faces(4)
    maps = explain.activation_maps(model, faces, "relu")
    assert maps.shape == (4, SIDE, SIDE, 3) and maps.min() >= 0
    assert explain.relu_layer_names(model) == ["relu"]
    np.testing.assert_allclose(explain.sparsity(model, faces), [np.mean(maps == 0)])
    np.testing.assert_allclose(explain.sparsity(model, faces, ["relu", "conv"]),
                               [np.mean(maps == 0), 0.0])


# --------------------------------------------------------------------------- dreams
def test_class_images_raise_their_class_score():
    model = _tiny()
    images = explain.class_images(model, [0, 2], steps=8, octaves=2, seed=1)
    assert images.shape == (2, SIDE, SIDE) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 255
    start = np.clip(np.random.default_rng(1).normal(128, 8, (2, SIDE, SIDE)), 0, 255)
    before = _logits(model, start[..., None])
    after = _logits(model, images[..., None])
    assert after[0, 0] > before[0, 0] and after[1, 2] > before[1, 2]


def test_deep_dream_excites_the_layer():
    model = _tiny()
    faces = _faces(2)
    dreamt = explain.deep_dream(model, faces, "conv2_act", steps=6, octaves=2)
    for unit in (None, 3):
        # no jitter or blur: on an 8x8 image they would undo much of a step
        out = explain.deep_dream(model, faces, "conv2_act", unit=unit, steps=6, octaves=2, jitter=0, blur=0)
        a0 = explain.activation_maps(model, faces, "conv2_act")
        a1 = explain.activation_maps(model, np.round(out).astype(np.uint8), "conv2_act")
        if unit is None:
            assert (a1 ** 2).mean() > (a0 ** 2).mean()
        else:
            assert a1[..., unit].mean() > a0[..., unit].mean()
    assert dreamt.shape == (2, SIDE, SIDE)
    with pytest.raises(ValueError, match="unit must be a channel"):
        explain.deep_dream(model, faces, "conv2_act", unit=5)


# --------------------------------------------------------------------------- sanity check
def test_rank_correlation_is_spearmans():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4, 4)), rng.normal(size=(3, 4, 4))
    b[0] = a[0] ** 3           # same order
    b[1] = -a[1]               # reversed
    r = explain.rank_correlation(a, b)
    np.testing.assert_allclose(r[:2], [1.0, -1.0])
    np.testing.assert_allclose(r[2], spearmanr(a[2].ravel(), b[2].ravel())[0])
    with pytest.raises(ValueError, match="differ in shape"):
        explain.rank_correlation(a, b[:2])


def test_untrained_twin_is_the_architecture_with_fresh_weights():
    model = _tiny()
    twin = explain.untrained_twin(model, seed=1)
    assert [l.name for l in twin.layers] == [l.name for l in model.layers]
    assert not np.allclose(twin.get_layer("conv1").kernel.numpy(), model.get_layer("conv1").kernel.numpy())
    again = explain.untrained_twin(model, seed=1)
    np.testing.assert_array_equal(again.get_layer("conv1").kernel.numpy(),
                                  twin.get_layer("conv1").kernel.numpy())


def test_randomisation_check_compares_trained_with_random_maps():
    model = _tiny()
    faces = _faces(3)
    r = explain.randomisation_check(model, faces, "grad_cam", seed=2)
    assert r.shape == (3,) and np.all(np.abs(r[np.isfinite(r)]) <= 1 + 1e-9)
    twin = explain.untrained_twin(model, seed=2)
    pred = explain.predicted_classes(model, faces)
    want = explain.rank_correlation(explain.saliency(model, faces, pred), explain.saliency(twin, faces, pred))
    np.testing.assert_allclose(explain.randomisation_check(model, faces, "saliency", seed=2), want, rtol=1e-6)
    with pytest.raises(ValueError, match="valid methods"):
        explain.randomisation_check(model, faces, "lime")


# --------------------------------------------------------------------------- errors
def test_unknown_layer_lists_the_valid_ones():
    model = _tiny()
    with pytest.raises(ValueError, match=r"no layer 'conv9'.*conv1, conv2"):
        explain.activation_maps(model, _faces(), "conv9")
    with pytest.raises(ValueError, match="no layer"):
        explain.grad_cam(model, _faces(), layer="conv9")


def test_grad_cam_needs_a_convolution():
    inputs = keras.Input((SIDE, SIDE, 1))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    with pytest.raises(ValueError, match="no convolutional layer"):
        explain.grad_cam(keras.Model(inputs, out), _faces())
    with pytest.raises(ValueError, match="feature maps"):
        explain.grad_cam(_tiny(), _faces(), layer="gap")


def test_class_index_out_of_range():
    model = _tiny()
    for method in (explain.saliency, explain.grad_cam, explain.occlusion, explain.guided_backprop):
        with pytest.raises(ValueError, match=r"class_index 3 is out of range.*0\.\.2"):
            method(model, _faces(), 3)
    with pytest.raises(ValueError, match="out of range"):
        explain.class_images(model, [-1])
    with pytest.raises(ValueError, match="entries for 3 faces"):
        explain.saliency(model, _faces(), [0, 1])
    with pytest.raises(TypeError, match="integer"):
        explain.saliency(model, _faces(), 1.5)


def test_faces_of_the_wrong_shape_or_dtype():
    model = _tiny()
    with pytest.raises(TypeError, match="uint8"):
        explain.saliency(model, _faces().astype(np.float32))
    with pytest.raises(ValueError, match=r"\(N, 8, 8\).*face\[None\]"):
        explain.saliency(model, _faces()[0])
    with pytest.raises(ValueError, match=r"got shape \(3, 9, 9\)"):
        explain.grad_cam(model, _faces(side=9))
    with pytest.raises(ValueError, match="got shape"):
        explain.activation_maps(model, np.zeros((0, SIDE, SIDE), np.uint8), "conv1")


def test_activation_maps_of_several_layers_at_once():
    model = _tiny()
    faces = _faces(3)
    both = explain.activation_maps(model, faces, ["conv1", "gap"])
    assert isinstance(both, list) and len(both) == 2
    np.testing.assert_allclose(both[0], explain.activation_maps(model, faces, "conv1"), rtol=1e-6)
    np.testing.assert_allclose(both[1], explain.activation_maps(model, faces, "gap"), rtol=1e-6)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        explain.activation_maps(model, faces, ["conv1", "nope"])
