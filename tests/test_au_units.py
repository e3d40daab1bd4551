"""Tests of fercourse.au_units: correlations, partial correlations, regions, the measurement."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fercourse import au_units, facs, render


def test_correlations_are_pearsons():
    rng = np.random.default_rng(0)
    f, t = rng.normal(size=(50, 4)), rng.normal(size=(50, 3))
    t[:, 0] = 2 * f[:, 1] + 0.1 * rng.normal(size=50)
    r = au_units.correlations(f, t)
    assert r.shape == (4, 3)
    np.testing.assert_allclose(r, np.corrcoef(f.T, t.T)[:4, 4:], atol=1e-12)
    f[:, 2] = 5.0                                   # a dead unit
    assert np.all(au_units.correlations(f, t)[2] == 0)
    with pytest.raises(ValueError, match="same N"):
        au_units.correlations(f, t[:10])
    with pytest.raises(ValueError, match="at least 3"):
        au_units.correlations(f[:2], t[:2])


def test_partial_correlations_remove_what_the_label_explains():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 200)
    au = labels * 1.0 + 0.3 * rng.normal(size=600)            # the AU mostly follows the label
    emotion_unit = labels * 1.0 + 0.3 * rng.normal(size=600)  # a unit that knows only the label
    au_unit = au + 0.1 * rng.normal(size=600)                 # a unit that follows the AU itself
    feats = np.c_[emotion_unit, au_unit]
    r = au_units.correlations(feats, au[:, None])[:, 0]
    assert r[0] > 0.8 and r[1] > 0.9                          # both look like AU units...
    pr = au_units.partial_correlations(feats, au[:, None], labels)[:, 0]
    assert abs(pr[0]) < 0.15 and pr[1] > 0.9                  # ...only one is, within expressions
    within = au - np.array([au[labels == c].mean() for c in range(3)])[labels]
    np.testing.assert_allclose(pr[1], np.corrcoef(au_unit - np.array(
        [au_unit[labels == c].mean() for c in range(3)])[labels], within)[0, 1], atol=1e-12)
    with pytest.raises(ValueError, match="labels must be"):
        au_units.partial_correlations(feats, au[:, None], labels[:5])


def test_best_units_take_the_largest_positive_r():
    r = np.array([[0.1, -0.9], [0.6, 0.2], [0.3, 0.4]])
    best, best_r = au_units.best_units(r)
    np.testing.assert_array_equal(best, [1, 2])
    np.testing.assert_allclose(best_r, [0.6, 0.4])
    assert au_units.count_reached(best_r, 0.5) == 1


def test_au_columns_and_area_shares():
    rng = np.random.default_rng(2)
    aus = rng.random((5, len(facs.AUS)))
    cols = au_units.au_columns(aus, (12, 4))
    np.testing.assert_array_equal(cols, aus[:, [facs.AU_INDEX[12], facs.AU_INDEX[4]]])
    assert len(au_units.AUS17) == 17 and 43 not in au_units.AUS17 and 45 not in au_units.AUS17
    masks = render.au_region_masks(48)
    np.testing.assert_allclose(au_units.area_shares((12, 1)), [masks[12].mean(), masks[1].mean()])
    with pytest.raises(ValueError, match="fercourse.facs.AUS order"):
        au_units.au_columns(aus[:, :5])


def _crop_model(rows, cols, size=48):
    """Two units that read only the pixels in rows x cols: unit 0 their brightness, unit 1 its opposite."""
    inputs = keras.Input((size, size, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Cropping2D(((rows[0], size - rows[1]), (cols[0], size - cols[1])))(x)
    conv = keras.layers.Conv2D(2, 1, use_bias=True, activation="relu", name="units")
    out = conv(x)
    conv.set_weights([np.array([[[[1.0, -1.0]]]], np.float32), np.array([0.0, 1.0], np.float32)])
    return keras.Model(inputs, out)


def test_region_share_of_the_gradient_is_where_the_unit_reads():
    rows, cols = (28, 40), (14, 34)
    model = _crop_model(rows, cols)
    faces = np.random.default_rng(3).integers(60, 200, (6, 48, 48), dtype=np.uint8)
    intensity = np.full((6, 2), 0.5)
    read = np.zeros((48, 48), bool)
    read[rows[0]:rows[1], cols[0]:cols[1]] = True
    masks = render.au_region_masks(48)
    shares = au_units.region_shares(model, faces, "units", [0, 0], (12, 1), intensity)
    np.testing.assert_allclose(shares, [(read & masks[12]).sum() / read.sum(),
                                        (read & masks[1]).sum() / read.sum()], rtol=1e-6)
    intensity[:, 1] = 0.0                           # no face shows the second AU
    assert np.isnan(au_units.region_shares(model, faces, "units", [0, 0], (12, 1), intensity)[1])


def test_region_share_of_the_activation():
    inputs = keras.Input((48, 48, 1))
    conv = keras.layers.Conv2D(1, 1, use_bias=False, activation="relu", name="units")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.ones((1, 1, 1, 1), np.float32)])
    masks = render.au_region_masks(48)
    faces = np.zeros((3, 48, 48), np.uint8)
    faces[:, masks[25]] = 200                      # bright only where AU25 acts
    faces[0, 0, 0] = 200                           # and one pixel outside
    share = au_units.region_shares(model, faces, "units", [0], (25,), np.ones((3, 1)), where="activation")
    np.testing.assert_allclose(share, masks[25].sum() * 3 / (masks[25].sum() * 3 + 1))
    with pytest.raises(ValueError, match="where="):
        au_units.region_shares(model, faces, "units", [0], (25,), np.ones((3, 1)), where="saliency")


def test_pooled_activations_mean_and_max():
    model = _crop_model((0, 48), (0, 48))
    faces = np.random.default_rng(4).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    mean = au_units.pooled_activations(model, faces, "units")
    mx = au_units.pooled_activations(model, faces, "units", "max")
    x = faces / 255.0
    np.testing.assert_allclose(mean[:, 0], x.mean((1, 2)), rtol=1e-5)
    np.testing.assert_allclose(mx[:, 0], x.max((1, 2)), rtol=1e-5)
    with pytest.raises(ValueError, match="pooling"):
        au_units.pooled_activations(model, faces, "units", "median")


def test_pixel_and_label_features():
    faces = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    assert au_units.pixel_features(faces).shape == (2, 16)
    np.testing.assert_array_equal(au_units.label_features(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="uint8"):
        au_units.pixel_features(faces.astype(float))
    with pytest.raises(ValueError, match="0..2"):
        au_units.label_features(np.array([3]), 3)


def test_measure_finds_a_unit_that_reads_the_mouth():
    from fercourse.datasets import make_faces

    held = make_faces(120, seed=5)
    # unit 0 is the mouth region's brightness, which a smile raises (r = 0.22 on these faces)
    model = _crop_model((30, 40), (16, 32))
    res = au_units.measure(model, held.images, held.extras["aus"], "units", labels=held.labels)
    assert res.r.shape == (2, 17) and res.aus == au_units.AUS17
    np.testing.assert_allclose(res.best_r, res.r.max(0))
    j = res.aus.index(12)
    assert res.best_unit[j] == 0 and res.best_r[j] > 0.15
    np.testing.assert_allclose(res.r[0], -res.r[1], atol=1e-5)   # unit 1 is 1 - unit 0 (float32)
    assert np.all(np.isfinite(res.partial_r)) and np.all(np.abs(res.partial_r) <= 1)
    ok = np.isfinite(res.region_share)
    assert np.all((res.region_share[ok] >= 0) & (res.region_share[ok] <= 1))
    np.testing.assert_allclose(res.region_ratio, res.region_share / res.area_share)
    assert res.region_ratio[res.aus.index(25)] > 2, "a unit reading only the mouth looks at the mouth"
    assert res.reached(0.0) >= res.reached(0.5)
    assert np.all(np.isnan(au_units.measure(model, held.images, held.extras["aus"], "units").partial_r))
    with pytest.raises(ValueError, match="no layer"):
        au_units.measure(model, held.images, held.extras["aus"], "conv9")
    with pytest.raises(ValueError, match="rows of AU"):
        au_units.measure(model, held.images[:5], held.extras["aus"], "units")


def test_unit_gradient_maps_read_only_the_cropped_pixels():
    rows, cols = (10, 20), (5, 15)
    model = _crop_model(rows, cols)
    faces = np.random.default_rng(6).integers(60, 200, (3, 48, 48), dtype=np.uint8)
    g = au_units.unit_gradient_maps(model, faces, "units", [0, 1, 0])
    assert g.shape == (3, 48, 48)
    outside = np.ones((48, 48), bool)
    outside[rows[0]:rows[1], cols[0]:cols[1]] = False
    assert np.all(g[:, outside] == 0)
    # the mean over a 10x10 crop of x / 255: each pixel's gradient is 1 / (100 * 255)
    np.testing.assert_allclose(g[:, ~outside], 1 / (100 * 255), rtol=1e-5)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        au_units.unit_gradient_maps(model, faces, "units", 2)
