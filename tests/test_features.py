"""Tests of fercourse.features (HOG) and the CNN+HOG hybrid model."""

from __future__ import annotations

import numpy as np
import pytest

from fercourse import features
from fercourse.features import HOG_METHODS, hog_features, hog_image, hog_length, image_gradients


def _step(vertical=True, size=48):
    """A dark-to-light step edge through the middle of the image."""
    img = np.zeros((size, size), np.uint8)
    img[:, size // 2:] = 200
    return img if vertical else np.ascontiguousarray(img.T)


def _bin_energy(descriptor, n_bins=9):
    return descriptor.reshape(-1, n_bins).sum(axis=0)


def _faces(n=6, seed=0):
    rng = np.random.default_rng(seed)
    # smooth random blobs: gradients in every direction, like a face's
    base = rng.integers(0, 256, (n, 12, 12)).astype(np.float32)
    return np.kron(base, np.ones((4, 4), np.float32)).astype(np.uint8)


# ------------------------------------------------------------------------ lengths
@pytest.mark.parametrize("method", HOG_METHODS)
@pytest.mark.parametrize("shape, ppc, cpb, bins", [
    ((48, 48), 8, 2, 9),
    ((48, 48), 6, 2, 9),
    ((48, 48), 4, 3, 12),
    ((32, 48), (8, 4), (1, 2), 6),
])
def test_length_follows_the_formula(method, shape, ppc, cpb, bins):
    ppc2 = (ppc, ppc) if np.ndim(ppc) == 0 else ppc
    cpb2 = (cpb, cpb) if np.ndim(cpb) == 0 else cpb
    expected = ((shape[0] // ppc2[0] - cpb2[0] + 1) * (shape[1] // ppc2[1] - cpb2[1] + 1)
                * cpb2[0] * cpb2[1] * bins)
    assert hog_length(shape, orientations=bins, pixels_per_cell=ppc, cells_per_block=cpb) == expected
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (3, *shape), dtype=np.uint8)
    out = hog_features(images, orientations=bins, pixels_per_cell=ppc, cells_per_block=cpb, method=method)
    assert out.shape == (3, expected)
    assert out.dtype == np.float32


def test_default_length_for_48x48_faces_is_900():
    assert hog_length() == 900
    assert hog_features(_faces(2)).shape == (2, 900)


# ------------------------------------------------------------------------ values
@pytest.mark.parametrize("method", HOG_METHODS)
def test_vertical_edge_votes_for_the_horizontal_gradient_bins(method):
    energy = _bin_energy(hog_features(_step(vertical=True)[None], method=method)[0])
    # A vertical edge has a horizontal gradient, 0 degrees.  Bin 0 spans 0-20 degrees and bin 8
    # 160-180; OpenCV shares a 0-degree vote between them (their centres are 10 and 170), while
    # scikit-image puts it all in bin 0.
    assert energy[0] + energy[8] > 0.99 * energy.sum() > 0
    assert energy[0] >= energy[8]
    assert energy[4] == 0  # the vertical-gradient bin (80-100 degrees) is empty


@pytest.mark.parametrize("method", HOG_METHODS)
def test_horizontal_edge_votes_for_the_vertical_gradient_bin(method):
    energy = _bin_energy(hog_features(_step(vertical=False)[None], method=method)[0])
    assert energy[4] > 0.99 * energy.sum() > 0


@pytest.mark.parametrize("method", HOG_METHODS)
def test_diagonal_edge_votes_near_45_degrees(method):
    img = np.where(np.add.outer(np.arange(48), np.arange(48)) >= 48, 200, 0).astype(np.uint8)
    energy = _bin_energy(hog_features(img[None], method=method)[0])
    # gradient down and to the right: 45 degrees lies in bin 2 (40-60), next to bin 1's centre
    assert energy[1] + energy[2] > 0.95 * energy.sum()
    assert energy[2] > energy[1]


@pytest.mark.parametrize("method", HOG_METHODS)
def test_uniform_image_has_a_zero_descriptor(method):
    out = hog_features(np.full((2, 48, 48), 77, np.uint8), method=method)
    assert np.all(out == 0)


@pytest.mark.parametrize("method", HOG_METHODS)
def test_blocks_are_l2_hys_normalised_and_contrast_invariant(method):
    faces = _faces(3)
    out = hog_features(faces, method=method).reshape(3, 25, 36)
    norms = np.linalg.norm(out, axis=-1)
    assert np.all(norms[norms > 0] < 1.0 + 1e-4)
    assert out.max() <= 0.2 / 0.2 + 1e-6  # clipped at 0.2 then renormalised: nothing above 1
    # halving the contrast changes the gradients, not the normalised descriptor (up to rounding)
    half = hog_features((faces // 2).astype(np.uint8), method=method)
    assert np.corrcoef(half.ravel(), out.ravel())[0, 1] > 0.99


def test_the_two_methods_share_one_layout():
    faces = _faces(8, seed=3)
    a = hog_features(faces, method="opencv")
    b = hog_features(faces, method="skimage")
    # Not equal (interpolation and block window differ) but the same numbers in the same places:
    # the per-image correlation is high, and far higher than after shuffling the layout.
    same = np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)])
    perm = np.random.default_rng(0).permutation(a.shape[1])
    shuffled = np.mean([np.corrcoef(x[perm], y)[0, 1] for x, y in zip(a, b)])
    assert same > 0.6
    assert same > shuffled + 0.4


def test_single_channel_axis_and_threads_give_the_same_result():
    faces = _faces(10, seed=5)
    plain = hog_features(faces)
    assert np.array_equal(hog_features(faces[..., None]), plain)
    assert np.array_equal(hog_features(faces, n_jobs=3), plain)
    assert hog_features(faces[:0]).shape == (0, 900)


def test_image_gradients_of_a_step():
    gx, gy, mag, ang = image_gradients(_step())
    assert gx[10, 23] == 200 and gx[10, 24] == 200 and gx[10, 10] == 0
    assert np.all(gy == 0)
    assert np.all(ang[mag > 0] == 0)


def test_hog_image_draws_glyphs_along_the_edge():
    picture = hog_image(_step())
    assert picture.shape == (48, 48) and picture.dtype == np.float32
    # the cells on the edge hold a vertical line glyph; cells far from it stay dark
    assert picture[:, 20:28].sum() > 0
    assert picture[:, :8].sum() == 0
    cell = picture[8:16, 16:24]                      # a cell just left of the edge
    columns, rows = cell.sum(axis=0), cell.sum(axis=1)
    assert columns[3:5].sum() > 0.9 * columns.sum()  # a vertical line down the cell's middle...
    assert np.count_nonzero(rows) >= 6               # ...running most of the cell's height


# ------------------------------------------------------------------------ bad inputs
def test_float_images_get_a_clear_error():
    with pytest.raises(TypeError, match=r"images must be a uint8 array.*float32"):
        hog_features(np.zeros((2, 48, 48), np.float32))


def test_wrong_dimensionality_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"images must be a batch of images \(N, H, W\).*shape \(48, 48\)"):
        hog_features(np.zeros((48, 48), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(2, 48, 48, 3\)"):
        hog_features(np.zeros((2, 48, 48, 3), np.uint8))
    with pytest.raises(ValueError, match=r"face must be one image"):
        hog_image(np.zeros((2, 48, 48), np.uint8))


def test_wrong_image_size_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"50x48 do not split into cells of 8x8.*height 50"):
        hog_features(np.zeros((1, 50, 48), np.uint8))
    with pytest.raises(ValueError, match=r"smaller than one block"):
        hog_features(np.zeros((1, 8, 8), np.uint8))


def test_bad_parameters_get_clear_errors():
    with pytest.raises(ValueError, match="method='sift' is not known"):
        hog_features(_faces(1), method="sift")
    with pytest.raises(ValueError, match="pixels_per_cell"):
        hog_features(_faces(1), pixels_per_cell=(8, 8, 8))
    with pytest.raises(ValueError, match="orientations"):
        hog_features(_faces(1), orientations=0)


# ------------------------------------------------------------------------ the hybrid model
@pytest.fixture(scope="module")
def hybrid():
    from fercourse.models.hybrid import cnn_hog_hybrid

    return cnn_hog_hybrid(filters=(4, 8), dense_units=16)


def test_hybrid_has_two_inputs_and_a_softmax_output(hybrid):
    shapes = {t.name.split(":")[0]: tuple(t.shape) for t in hybrid.inputs}
    assert shapes == {"image": (None, 48, 48, 1), "hog": (None, 900)}
    assert tuple(hybrid.output_shape) == (None, 7)
    # HOG joins the flattened image features before the fully connected layer
    joined = hybrid.get_layer("joined").output.shape[-1]
    assert joined == hybrid.get_layer("cnn_features").output.shape[-1] + 900
    assert hybrid.get_layer("fc1").input.shape[-1] == joined


def test_hybrid_predicts_probabilities_from_faces_and_their_hog(hybrid):
    faces = _faces(4)
    probs = hybrid.predict({"image": faces[..., None], "hog": hog_features(faces)}, verbose=0)
    assert probs.shape == (4, 7)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_hybrid_twin_without_hog_differs_only_by_the_hog_input():
    from fercourse.models.hybrid import cnn_hog_hybrid

    with_hog = cnn_hog_hybrid(filters=(4, 8), dense_units=16, num_classes=6, hog_dim=hog_length(orientations=6),
                              compile=False)
    without = cnn_hog_hybrid(filters=(4, 8), dense_units=16, num_classes=6, use_hog=False, compile=False)
    assert len(without.inputs) == 1 and tuple(without.output_shape) == (None, 6)
    assert getattr(with_hog, "optimizer", None) is None
    extra = with_hog.count_params() - without.count_params()
    assert extra == hog_length(orientations=6) * 16   # the fc1 weights from the HOG inputs


def test_hybrid_bad_arguments_get_clear_errors():
    from fercourse.models.hybrid import cnn_hog_hybrid

    with pytest.raises(ValueError, match="hog_dim"):
        cnn_hog_hybrid(hog_dim=0)
    with pytest.raises(ValueError, match="input_shape"):
        cnn_hog_hybrid(input_shape=(48, 48))
    with pytest.raises(ValueError, match="too small"):
        cnn_hog_hybrid(input_shape=(4, 4, 1))
