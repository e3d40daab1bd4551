"""Measuring a live run (fercourse.live_scores): box matching, scores against the script, timings."""

from __future__ import annotations

import numpy as np
import pytest

from fercourse import live, live_scores, testvideo
from fercourse.labels import EMOTIONS, EMOTIONS_MERGED


@pytest.fixture(scope="module")
def video():
    """Two seconds at 10 frames/s, 320x240: the second face walks in and out."""
    return testvideo.make_test_video(seconds=2.0, fps=10, size=(320, 240), hold=0.5, transition=0.1)


def perfect_results(video, wrong_face=None, drop_face=None, crops=False):
    """FrameResults that say exactly what the script says (one face made wrong or missing).

    With ``crops``, each face's crop is an 8x8 patch filled with its true class index.
    """
    results = []
    for i in range(len(video)):
        records = []
        for row in video.truth[video.truth.frame == i].itertuples():
            if row.face_id == drop_face:
                continue
            label = EMOTIONS.index(row.emotion)
            crop = np.full((8, 8), label, np.uint8) if crops else None
            if row.face_id == wrong_face:
                label = (label + 1) % len(EMOTIONS)
            probs = np.eye(len(EMOTIONS))[label]
            records.append(live.FaceRecord(row.face_id, (row.x, row.y, row.w, row.h), probs, probs,
                                           EMOTIONS[label], True, crop))
        results.append(live.FrameResult(i, i / video.fps, records, {}, True))
    return results


# --------------------------------------------------------------------------- matching boxes

def test_match_boxes_pairs_by_overlap():
    a = [[0, 0, 10, 10], [100, 100, 10, 10]]
    b = [[101, 99, 10, 10], [50, 50, 5, 5], [1, 1, 10, 10]]
    assert sorted(live_scores.match_boxes(a, b, 0.3)) == [(0, 2), (1, 0)]
    assert live_scores.match_boxes(a, [], 0.3) == []


def test_match_boxes_takes_the_largest_overlap_first():
    # b[0] overlaps both a's; it goes to a[1], its better match, and a[0] takes b[1]
    a = [[0, 0, 10, 10], [4, 0, 10, 10]]
    b = [[5, 0, 10, 10], [0, 0, 9, 10]]
    assert sorted(live_scores.match_boxes(a, b, 0.3)) == [(0, 1), (1, 0)]
    assert live_scores.match_boxes(a, b, 0.95) == []


# --------------------------------------------------------------------------- scoring

def test_a_perfect_run_scores_perfectly(video):
    score = live_scores.score_run(perfect_results(video), video, EMOTIONS)
    assert score["recall"] == 1.0 and score["accuracy"] == 1.0 and score["accuracy_all"] == 1.0
    assert score["id_switches"] == 0 and score["false_boxes"] == 0 and score["frames"] == len(video)
    assert score["flicker"] == pytest.approx(score["true_changes"]) and score["true_changes"] > 0
    assert len(score["matches"]) == len(video.truth)


def test_wrong_and_missing_faces_cost_accuracy(video):
    wrong = live_scores.score_run(perfect_results(video, wrong_face=1), video, EMOTIONS)
    missing = live_scores.score_run(perfect_results(video, drop_face=1), video, EMOTIONS)
    share = (video.truth.face_id == 1).mean()
    assert 0 < wrong["accuracy"] < 1 and wrong["recall"] == 1.0
    assert missing["accuracy"] == 1.0 and missing["accuracy_all"] < 1 and missing["recall"] < 1
    assert 1 - missing["accuracy_all"] == pytest.approx(share, abs=0.2)


def test_raw_scores_the_models_own_argmax(video):
    results = perfect_results(video)
    for result in results:          # the label shown stays right, the model's own is wrong
        for r in result.faces:
            r.raw = np.roll(r.raw, 1)
    assert live_scores.score_run(results, video, EMOTIONS)["accuracy"] == 1.0
    assert live_scores.score_run(results, video, EMOTIONS, use="raw")["accuracy"] == 0.0
    with pytest.raises(ValueError, match="'shown' or 'raw'"):
        live_scores.score_run(results, video, EMOTIONS, use="best")
    with pytest.raises(ValueError, match="results for a video of"):
        live_scores.score_run(results + results[:1], video, EMOTIONS)


def test_disgust_counts_as_anger_for_six_classes():
    assert live_scores._class_of("disgust", EMOTIONS_MERGED) == "angry"
    with pytest.raises(ValueError, match="not among the model's classes"):
        live_scores._class_of("fear", ("happy", "sad"))


def test_flicker_counts_label_changes_per_second():
    def result(i, labels):
        recs = [live.FaceRecord(k, (0, 0, 1, 1), np.eye(3)[lab], np.eye(3)[lab], "", True) for k, lab in labels]
        return live.FrameResult(i, i / 10, recs, {}, True)

    # face 0 changes twice in 4 frames, face 1 never in 4 frames: 2 changes over 0.8 s
    run = [result(0, [(0, 0), (1, 2)]), result(1, [(0, 1), (1, 2)]), result(2, [(0, 1), (1, 2)]),
           result(3, [(0, 0), (1, 2)])]
    assert live_scores.flicker(run, fps=10) == pytest.approx(2 / 0.8)
    assert np.isnan(live_scores.flicker([], fps=10))


def test_labelled_crops_keep_found_faces_outside_transitions(video):
    crops, labels, ids = live_scores.labelled_crops(perfect_results(video, crops=True), video, EMOTIONS)
    steady = video.truth[~video.truth.transition]
    assert len(crops) == len(labels) == len(ids) == len(steady)
    assert (crops[:, 0, 0] == labels).all(), "a crop was paired with another face's label"
    assert set(ids) == {0, 1}
    with pytest.raises(ValueError, match="hold no crops"):
        live_scores.labelled_crops(perfect_results(video), video, EMOTIONS)
    with pytest.raises(ValueError, match="nothing to calibrate"):
        live_scores.labelled_crops([live.FrameResult(i, 0.0, [], {}, True) for i in range(3)], video, EMOTIONS)


# --------------------------------------------------------------------------- timings

def timed_run(totals):
    """FrameResults whose stages take 1 ms (grey) and the rest of each total (detect)."""
    return [live.FrameResult(i, i / 10, [], {"grey": 1.0, "detect": t - 1.0, "total": t}, i % 2 == 0)
            for i, t in enumerate(totals)]


def test_timing_table_has_a_row_per_frame_and_the_stages_in_order():
    table = live_scores.timing_table(timed_run([10.0, 20.0, 30.0]))
    assert list(table.columns) == ["detected", "faces", "grey", "detect", "total"]
    assert table.total.tolist() == [10.0, 20.0, 30.0] and table.detected.tolist() == [True, False, True]
    assert live_scores.timing_table([]).empty


def test_latency_summary_gives_percentiles_shares_and_frame_rate():
    summary = live_scores.latency_summary(timed_run([100.0, 10.0, 20.0, 30.0, 40.0]), skip=1)
    assert summary.attrs["frames"] == 4 and summary.attrs["fps"] == pytest.approx(1000 / 25)
    assert summary.loc["mean", "total"] == 25 and summary.loc["p50", "total"] == 25
    assert summary.loc["p95", "total"] == pytest.approx(np.percentile([10, 20, 30, 40], 95))
    assert summary.loc["share", "grey"] == pytest.approx(1 / 25) and summary.loc["share", "total"] == 1
    with pytest.raises(ValueError, match="no frames"):
        live_scores.latency_summary(timed_run([10.0]), skip=1)
    with pytest.raises(ValueError, match="no timings"):
        live_scores.latency_summary([live.FrameResult(0, 0.0, [], {}, True)])
