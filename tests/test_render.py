"""Tests of fercourse.render: determinism, AU effects (monotone, local), inputs."""

import numpy as np
import pytest

from fercourse import facs, render


def diff(a, b):
    return np.abs(a.astype(np.float64) - b.astype(np.float64))


def test_shape_dtype_and_sizes():
    img = render.render_face()
    assert img.shape == (48, 48) and img.dtype == np.uint8
    assert render.render_face({12: 1}, size=96).shape == (96, 96)
    # a face, not a blank: the image has structure
    assert img.std() > 15


def test_same_inputs_and_seed_give_identical_images():
    def draw(seed):
        rng = np.random.default_rng(seed)
        ident, pose, light = render.Identity.random(rng), render.Pose.random(rng), render.Lighting.random(rng)
        light.noise = 3.0
        return render.render_face({6: 0.7, 12: 0.9}, ident, pose, light, rng=rng)

    assert np.array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


@pytest.mark.parametrize("au", facs.AUS)
def test_each_au_changes_its_own_region_more_with_intensity(au):
    masks = render.au_region_masks(48)
    neutral = render.render_face({})
    change = [diff(render.render_face({au: v}), neutral).sum() for v in (0.25, 0.5, 0.75, 1.0)]
    assert change[0] > 0, f"AU{au} at 0.25 changes nothing"
    assert all(b > a for a, b in zip(change, change[1:])), f"AU{au} change not monotone: {change}"
    d = diff(render.render_face({au: 1.0}), neutral)
    inside = d[masks[au]].sum() / d.sum()
    assert inside > 0.7, f"only {inside:.0%} of AU{au}'s change lies in its {facs.AU_TABLE[au].region} region"
    # and the region is a part of the face, not the whole image
    assert masks[au].mean() < 0.35


def test_regions_are_where_the_region_names_say():
    m = render.au_region_masks(48)
    rows = lambda mask: np.flatnonzero(mask.any(axis=1))
    assert rows(m[1]).mean() < rows(m[5]).mean() < rows(m[12]).mean() < rows(m[17]).mean()


def test_contempt_is_one_sided():
    neutral = render.render_face({})
    d = diff(render.render_face(facs.PROTOTYPES["contempt"]), neutral)
    right, left = d[:, :24].sum(), d[:, 24:].sum()  # the person's right is the image's left
    assert right > 3 * left


def test_lip_corners_move_up_for_au12_and_down_for_au15():
    i = render.IDX["corner.R"][0]
    y0 = render.landmarks({})[i, 1]
    assert render.landmarks({12: 1})[i, 1] < y0 < render.landmarks({15: 1})[i, 1]


def test_pose_moves_the_face():
    a = render.render_face(pose=render.Pose(roll=10))
    assert diff(a, render.render_face()).mean() > 2


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="AU3"):
        render.render_face({3: 0.5})
    with pytest.raises(ValueError, match="0..1"):
        render.render_face({12: 2})
    with pytest.raises(ValueError, match="size"):
        render.render_face(size=8)
    with pytest.raises(TypeError, match="Identity"):
        render.render_face(identity="me")


def test_batch_matches_single():
    aus = np.zeros((3, len(facs.AUS)), np.float32)
    aus[1, facs.au_index(12)] = 1
    batch = render.render_faces(aus)
    assert np.array_equal(batch[1], render.render_face(aus[1]))


def test_face_builder_redraws_and_names_the_nearest_prototype():
    pytest.importorskip("ipywidgets")
    from fercourse import widgets

    box = widgets.face_builder(display_size=64)
    assert set(box.sliders) == set(facs.AUS)
    assert "neutral" in box.summary.value
    box.sliders[12].value = 0.9
    box.sliders[6].value = 0.7
    assert "happy" in box.summary.value and "valence +" in box.summary.value


def test_describe_aus_scales_affect_with_intensity():
    from fercourse import widgets

    weak = widgets.describe_aus(facs.prototype_vector("sad", 0.3))
    strong = widgets.describe_aus(facs.prototype_vector("sad", 1.0))
    assert "sad" in weak and "sad" in strong
    v_weak = float(weak.split("valence ")[1].split(",")[0])
    v_strong = float(strong.split("valence ")[1].split(",")[0])
    assert v_strong < v_weak < 0
