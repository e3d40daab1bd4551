"""Augmentation: mirror, affine jitter and erasing, drawn from the caller's random generator."""

import numpy as np
import pytest

from fercourse import augment

SIDE = 16


def rng(seed=0):
    return np.random.default_rng(seed)


def test_flip_mirrors_about_half_of_a_batch():
    aug = augment.augmentation("flip")
    x = rng().integers(0, 256, (200, SIDE, SIDE, 1)).astype("float32")
    out = aug(x, rng(3))
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(mirrored | kept) and 70 < mirrored.sum() < 130
    np.testing.assert_array_equal(aug(x, rng(3), training=False), x)


def test_affine_moves_pixels_keeps_shape_dtype_and_border():
    aug = augment.augmentation("standard")
    assert isinstance(aug, augment.RandomAffine) and aug.geometric
    x = rng(1).integers(0, 256, (16, SIDE, SIDE, 1)).astype("uint8")
    out = aug(x, rng(4))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert all(not np.array_equal(o, i) and not np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x))
    flat = np.full((4, SIDE, SIDE), 120.0, dtype="float32")  # border replication: no black wedges
    np.testing.assert_allclose(aug(flat, rng(4)), flat, atol=1e-3)
    # uint8 faces are rounded back to whole grey levels, not truncated (which would darken them).
    as_float = aug(x.astype("float32"), rng(4))
    assert abs(out.astype(float).mean() - as_float.mean()) < 0.05
    np.testing.assert_array_equal(aug(x, rng(4)), out)  # the same generator state, the same faces


def test_clips_get_one_transform_per_clip():
    aug = augment.augmentation("standard")
    frame = rng(2).integers(0, 256, (SIDE, SIDE)).astype("float32")
    clips = np.repeat(np.stack([frame, frame[::-1]])[:, None], 5, axis=1)  # (2, 5, H, W): still clips
    out = aug(clips[..., None], rng(5))
    assert out.shape == (2, 5, SIDE, SIDE, 1)
    for clip in out:
        assert all(np.array_equal(clip[0], f) for f in clip[1:])  # every frame moved alike
    assert not np.array_equal(out[0, 0, ..., 0], frame)


def test_erasing_greys_one_rectangle_per_face():
    aug = augment.RandomAffine(rotation=0, shift=0, zoom=0, flip=False, erase=1.0)
    x = rng(2).integers(0, 256, (20, SIDE, SIDE)).astype("float32")
    out = aug(x, rng(5))
    for o, i in zip(out, x):
        changed = ~np.isclose(o, i)
        rows, cols = np.flatnonzero(changed.any(1)), np.flatnonzero(changed.any(0))
        assert changed.sum() > 0
        box = np.zeros_like(changed)
        box[rows.min():rows.max() + 1, cols.min():cols.max() + 1] = True
        assert np.all(changed <= box)
        np.testing.assert_allclose(np.unique(o[box]), [i.mean()], rtol=1e-5)


def test_bad_arguments_and_shapes_are_explained():
    with pytest.raises(ValueError, match="rotation must be >= 0"):
        augment.RandomAffine(rotation=-1)
    with pytest.raises(ValueError, match=r"erase is a probability in \[0, 1\]"):
        augment.RandomAffine(erase=2)
    with pytest.raises(ValueError, match="zoom must be below 1"):
        augment.RandomAffine(zoom=1.5)
    with pytest.raises(ValueError, match=r"grey images \(N, H, W\[, 1\]\) or clips"):
        augment.RandomAffine()(np.zeros((2, SIDE, SIDE, 3)), rng())
    with pytest.raises(ValueError, match="augment='rotate' is not known"):
        augment.augmentation("rotate")
    assert augment.augmentation(False) is None and augment.augmentation("none") is None
