"""Chapter 9's exercise checks say "correct" to right answers and why not to wrong ones."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fercourse import live, testvideo
from fercourse.exercises import ch09
from fercourse.labels import EMOTIONS


# --------------------------------------------------------------------------- the moving average

def test_ema_check_accepts_the_time_constant_form():
    def mine(previous, current, dt, tau):
        if previous is None or tau == 0:
            return current
        return previous + (1 - math.exp(-dt / tau)) * (current - previous)

    assert ch09.check_ema(mine)


def test_ema_check_refuses_a_fixed_weight_per_frame():
    verdict = ch09.check_ema(lambda p, c, dt, tau: c if p is None or tau == 0 else 0.7 * p + 0.3 * c)
    assert not verdict and "frame rate" in str(verdict)


def test_ema_check_reports_the_new_face_and_crashes():
    verdict = ch09.check_ema(lambda p, c, dt, tau: p + (1 - math.exp(-dt / tau)) * (c - p))
    assert not verdict and "TypeError" in str(verdict)
    verdict = ch09.check_ema(lambda p, c, dt, tau: np.zeros_like(c) if p is None else live.ema(p, c, dt, tau))
    assert not verdict and "first time" in str(verdict)


# --------------------------------------------------------------------------- the budget

TABLE = pd.DataFrame({
    "detect_every": [1, 1, 3, 3, 5, 5],
    "smoothing": [0.0, 0.5, 0.0, 0.5, 0.0, 0.5],
    "ms_per_frame": [45.0, 45.1, 30.0, 30.1, 28.0, 28.2],
    "accuracy": [0.60, 0.61, 0.60, 0.60, 0.50, 0.52],
    "flicker": [3.0, 0.8, 3.1, 0.9, 3.3, 0.7],
})


def test_setting_check_accepts_the_least_flicker_within_the_limits():
    assert ch09.check_setting(TABLE, {"detect_every": 3, "smoothing": 0.5}, budget_ms=33)


@pytest.mark.parametrize("choice, message", [
    ({"detect_every": 1, "smoothing": 0.5}, "over the budget"),
    ({"detect_every": 5, "smoothing": 0.5}, "below the best"),
    ({"detect_every": 3, "smoothing": 0.0}, "also meets both limits"),
    ({"detect_every": 2, "smoothing": 0.5}, "not a setting"),
    ({"k": 3}, "must be a dict"),
])
def test_setting_check_says_what_is_wrong(choice, message):
    verdict = ch09.check_setting(TABLE, choice, budget_ms=33)
    assert not verdict and message in str(verdict)


def test_setting_check_needs_the_columns():
    with pytest.raises(ValueError, match="columns"):
        ch09.check_setting(TABLE.drop(columns="flicker"), {"detect_every": 3, "smoothing": 0.5}, budget_ms=33)


# --------------------------------------------------------------------------- hysteresis

@pytest.fixture(scope="module")
def noisy_run():
    """A run whose model is right by a hair: the true class at 0.45, a rival at 0.40, plus noise."""
    video = testvideo.make_test_video(seconds=4.0, fps=10, size=(320, 240))
    rng = np.random.default_rng(0)
    results = []
    for i in range(len(video)):
        records = []
        for row in video.truth[video.truth.frame == i].itertuples():
            true = EMOTIONS.index(row.emotion)
            probs = np.full(len(EMOTIONS), 0.15 / (len(EMOTIONS) - 2))
            probs[true], probs[(true + 1) % len(EMOTIONS)] = 0.45, 0.40
            probs = np.clip(probs + rng.normal(0, 0.06, len(probs)), 1e-3, None)
            probs /= probs.sum()
            records.append(live.FaceRecord(row.face_id, (row.x, row.y, row.w, row.h), probs, probs, "", True))
        results.append(live.FrameResult(i, i / video.fps, records, {}, True))
    return results, video


def margin_rule(previous, probs, margin=0.15):
    best = int(np.argmax(probs))
    if previous is None or probs[best] > probs[previous] + margin:
        return best
    return previous


def test_hysteresis_check_accepts_a_margin_rule(noisy_run):
    results, video = noisy_run
    verdict = ch09.check_hysteresis(margin_rule, results, video, EMOTIONS)
    assert verdict, str(verdict)


def test_hysteresis_check_refuses_no_change_and_a_frozen_label(noisy_run):
    results, video = noisy_run
    verdict = ch09.check_hysteresis(lambda prev, p: int(np.argmax(p)), results, video, EMOTIONS)
    assert not verdict and "cut it" in str(verdict)
    verdict = ch09.check_hysteresis(lambda prev, p: 3, results, video, EMOTIONS)
    assert not verdict and "at most" in str(verdict)
    verdict = ch09.check_hysteresis(lambda prev, p: "happy", results, video, EMOTIONS)
    assert not verdict and "class index" in str(verdict)


def test_apply_rule_shows_the_rule_as_one_hot(noisy_run):
    results, _ = noisy_run
    shown = ch09.apply_rule(margin_rule, results[:5], EMOTIONS)
    for before, after in zip(results[:5], shown):
        for r, s in zip(before.faces, after.faces):
            assert s.probs.sum() == 1.0 and np.array_equal(s.raw, r.raw) and s.label == EMOTIONS[np.argmax(s.probs)]
