"""Micro-expression measures: UF1 / UAR from pooled predictions, LOSO folds, LBP-TOP, onset->apex
change, and spotting onset / apex / offset on synthetic clips."""

import numpy as np
import pytest

from fercourse import evaluate, loso, micro, spotting
from fercourse.datasets import make_sequences


# --------------------------------------------------------------------------- UF1 and UAR
def test_uf1_and_uar_match_hand_computed_values():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    # class 0: TP 2, FP 0, FN 1 -> F1 4/5; class 1: TP 1, FP 1, FN 1 -> 1/2; class 2: TP 1, FP 1, FN 0 -> 2/3
    assert evaluate.uf1(y_true, y_pred) == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)
    # recalls 2/3, 1/2, 1
    assert evaluate.uar(y_true, y_pred) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert loso.scores(y_true, y_pred) == pytest.approx(
        {"accuracy": 4 / 6, "uf1": (4 / 5 + 1 / 2 + 2 / 3) / 3, "uar": (2 / 3 + 1 / 2 + 1) / 3})


def test_uf1_averages_over_the_true_classes_only():
    # class 2 is never true: predicting it costs recall of class 0, but it gets no F1 of its own
    assert evaluate.uf1([0, 0, 1, 1], [0, 2, 1, 1]) == pytest.approx((2 / 3 + 1) / 2)
    with pytest.raises(ValueError, match="labels"):
        evaluate.uf1([0, 1], [0])


def test_pooled_scores_differ_from_the_mean_of_fold_scores():
    y = np.array([0, 1, 0, 0, 1, 1])
    p = np.array([0, 1, 1, 1, 1, 1])
    pooled = evaluate.uf1(y, p)
    per_fold = np.mean([evaluate.uf1(y[:2], p[:2]), evaluate.uf1(y[2:], p[2:])])
    # pooled: class 0 TP 1, FN 2 -> F1 1/2; class 1 TP 3, FP 2 -> 3/4.  Folds: 1.0 and (0 + 2/3) / 2
    assert pooled == pytest.approx((1 / 2 + 3 / 4) / 2) and per_fold == pytest.approx((1 + 1 / 3) / 2)


# --------------------------------------------------------------------------- LOSO
def test_loso_folds_one_subject_each_in_order():
    subjects = np.array([3, 1, 1, 2, 3])
    folds = loso.folds(subjects)
    assert [f[0] for f in folds] == [1, 2, 3]
    assert [sorted(f[2].tolist()) for f in folds] == [[1, 2], [3], [0, 4]]
    for _, tr, te in folds:
        assert set(subjects[tr]).isdisjoint(subjects[te]) and len(tr) + len(te) == 5
    with pytest.raises(ValueError, match="two subjects"):
        loso.folds([4, 4, 4])


def test_cross_predict_pools_each_clip_from_its_own_fold():
    subjects = np.array([0, 0, 1, 1, 2])
    y = np.array([1, 1, 0, 0, 1])

    def majority(tr, te):  # the training majority class, as probabilities
        probs = np.zeros((len(te), 2))
        probs[:, np.bincount(y[tr], minlength=2).argmax()] = 1
        return probs

    pooled = loso.cross_predict(majority, subjects)
    # subject 0 out: train y = 0 0 1 -> 0; subject 1 out: 1 1 1 -> 1; subject 2 out: 1 1 0 0 -> 0 (tie: first)
    assert pooled.argmax(axis=1).tolist() == [0, 0, 1, 1, 0]
    with pytest.raises(ValueError, match="returned 1 predictions for the 2 clips"):
        loso.cross_predict(lambda tr, te: np.zeros(1), subjects)


# --------------------------------------------------------------------------- LBP-TOP
def test_lbp_top_shape_and_normalised_histograms():
    clip = np.random.default_rng(0).integers(0, 256, (8, 24, 24)).astype(np.uint8)
    v = micro.lbp_top(clip, blocks=(2, 3))
    assert v.shape == (micro.lbp_top_length((2, 3)),) == (2 * 3 * 3 * 59,)
    assert np.allclose(v.reshape(-1, 59).sum(axis=1), 1)
    u = micro.lbp_top(clip, blocks=(2, 2), method="uniform")
    assert u.shape == (2 * 2 * 3 * 10,)
    assert micro.lbp_top_features(np.stack([clip, clip])).shape == (2, micro.lbp_top_length())


def test_lbp_top_time_planes_see_change_the_frame_plane_does_not():
    rng = np.random.default_rng(1)
    frame = rng.integers(60, 120, (24, 24)).astype(np.uint8)
    still = np.stack([frame] * 6)
    brightening = np.stack([frame + 20 * k for k in range(6)]).astype(np.uint8)
    a = micro.lbp_top(still, blocks=(1, 1)).reshape(3, 59)
    b = micro.lbp_top(brightening, blocks=(1, 1)).reshape(3, 59)
    assert np.allclose(a[0], b[0])            # XY: each frame's texture is the same
    assert not np.allclose(a[1:], b[1:])      # XT, YT: the brightening shows over time


def test_lbp_top_rejects_bad_clips():
    with pytest.raises(ValueError, match=r"\(T, H, W\)"):
        micro.lbp_top(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="too small"):
        micro.lbp_top(np.zeros((2, 24, 24), np.uint8))
    with pytest.raises(ValueError, match="method"):
        micro.lbp_top(np.zeros((4, 24, 24), np.uint8), method="ror")


def test_onset_apex_difference_and_flow():
    frames = np.zeros((2, 5, 32, 32), np.uint8)
    frames[:, :, 10:20, 8:16] = 200
    frames[0, 3, 10:20, 8:16], frames[0, 3, 10:20, 10:18] = 0, 200  # block moved 2 pixels right
    diff = micro.onset_apex_difference(frames, [0, 0], [3, 3])
    assert diff.shape == (2, 32, 32, 1) and diff[1].max() == 0 and diff[0].min() == -200
    flow = micro.onset_apex_flow(frames, [0, 0], [3, 3])
    assert flow.shape == (2, 32, 32, 2)
    assert flow[0, 12:18, 14:18, 0].mean() > 0.5 and np.abs(flow[1]).max() < 1e-3
    small = micro.onset_apex_flow(frames, [0, 0], [3, 3], size=16)
    assert small.shape == (2, 16, 16, 2) and small[0, 6:9, 7:9, 0].mean() > 0.25  # half the pixels, half the motion
    assert micro.onset_apex_difference(frames, [0, 0], [3, 3], size=16).shape == (2, 16, 16, 1)
    with pytest.raises(ValueError, match="onset <= apex"):
        micro.onset_apex_difference(frames, [3, 3], [1, 1])


# --------------------------------------------------------------------------- spotting
def test_spot_by_threshold_crossing():
    s = np.array([0, 0, 1, 3, 5, 3, 1, 0, 0], float)
    found = spotting.spot(s, fps=10, threshold=0.3)   # level 1.5: frames 3..5
    assert (found.onset[0], found.apex[0], found.offset[0]) == (3, 4, 5)
    assert found.duration[0] == pytest.approx(0.2) and found.micro[0]
    slow = spotting.spot(s, fps=2, threshold=0.1)     # level 0.5: frames 2..6, 2 s
    assert (slow.onset[0], slow.offset[0]) == (2, 6) and not slow.micro[0]
    with pytest.raises(ValueError, match="threshold"):
        spotting.spot(s, fps=10, threshold=1.5)


def test_interval_iou_by_hand():
    assert spotting.interval_iou([2], [5], [4], [7]).tolist() == [2 / 6]
    assert spotting.interval_iou([0, 0], [3, 3], [0, 5], [3, 6]).tolist() == [1.0, 0.0]


def test_strength_is_distance_from_the_first_frame_or_a_contrast():
    f = np.zeros((1, 7, 2))
    f[0, 3] = [3, 4]
    assert spotting.expression_strength(f)[0].tolist() == [0, 0, 0, 5, 0, 0, 0]
    drift = np.linspace(0, 6, 7)[None, :, None] * np.ones((1, 1, 2))   # a steady drift
    assert spotting.expression_strength(drift)[0, -1] > 8
    assert np.allclose(spotting.expression_strength(drift, contrast=2)[0, 2:5], 0)  # ignored by the contrast


def test_spotting_a_synthetic_clip_finds_its_apex():
    clips = make_sequences(4, frames=30, fps=30, seed=4, micro_fraction=0.0, blinks=False, head_motion=False)
    features = clips.frames.reshape(4, 30, -1).astype(np.float32)   # pixels as the simplest features
    found = spotting.spot(spotting.expression_strength(features), clips.fps)
    result = spotting.score(found, clips)
    assert result["apex_within"] == 1.0, result["apex_error"]
    assert result["mean_iou"] > 0.3 and result["micro_accuracy"] >= 0.75


def test_stabilise_undoes_a_shift():
    clips = make_sequences(1, frames=24, seed=2, blinks=False, head_motion=False)
    clip = clips.frames[0].copy()
    clip[5] = np.roll(clip[0], 2, axis=1)
    steady = spotting.stabilise(clip)
    before = np.abs(clip[5, 8:40, 8:40].astype(int) - clip[0, 8:40, 8:40]).mean()
    after = np.abs(steady[5, 8:40, 8:40].astype(int) - clip[0, 8:40, 8:40]).mean()
    assert after < before / 3 and steady.shape == clip.shape
    assert spotting.stabilise(clips.frames).shape == clips.frames.shape
