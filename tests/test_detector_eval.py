"""Tests of fercourse.detector_eval: the LFW test set, recall and false positives, speed."""

from __future__ import annotations

import numpy as np
import pytest

from fercourse import detector_eval, faces


def test_detection_testset_and_scores():
    images, is_face, box = detector_eval.detection_testset()
    assert images.shape == (200, 160, 160) and images.dtype == np.uint8
    assert is_face.sum() == 100 and is_face[:100].all()
    # A box on the face scores a hit, one beside it does not, and any box on a non-face counts.
    boxes = [np.array([box])] + [np.array([[0, 0, 30, 30]])] + [np.zeros((0, 4), int)] * 98 \
        + [np.array([[5, 5, 40, 40]])] + [np.zeros((0, 4), int)] * 99
    score = detector_eval.score_boxes(boxes, is_face, box)
    assert score["recall"] == pytest.approx(0.01)
    assert score["false_positives"] == 1 and score["extra_boxes"] == 1
    with pytest.raises(ValueError, match="boxes"):
        detector_eval.score_boxes(boxes[:-1], is_face, box)


def test_score_boxes_with_a_face_box_per_image():
    truth = np.array([[0, 0, 50, 50], [100, 100, 40, 40], [0, 0, 1, 1]])
    found = [np.array([[2, 2, 48, 48]]), np.array([[0, 0, 50, 50]]), np.array([[9, 9, 9, 9]])]
    score = detector_eval.score_boxes(found, [True, True, False], truth)
    assert list(score["found"]) == [True, False]
    assert score["extra_boxes"] == 1 and score["false_positives"] == 1
    with pytest.raises(ValueError, match="face_box"):
        detector_eval.score_boxes(found, [True, True, False], truth[:2])


def test_benchmark_frame_is_the_astronaut_on_grey():
    frame = detector_eval.benchmark_frame(320, 200)
    assert frame.shape == (200, 320, 3) and frame.dtype == np.uint8
    assert (frame[:, :60] == 128).all() and (frame[:, -60:] == 128).all()   # grey bands either side
    assert len(faces.detect_faces(frame)) == 1


def test_time_detector_and_evaluate_detector():
    images, is_face, box = detector_eval.detection_testset(face_side=60, pad=20)
    picked = np.r_[0:5, 100:105]
    ms = detector_eval.time_detector(np.zeros((60, 80), np.uint8), repeats=2)
    assert ms > 0
    result = detector_eval.evaluate_detector(images[picked], is_face[picked], box, repeats=1,
                                             frame=np.zeros((60, 80), np.uint8), **faces.TUNED_PARAMS)
    boxes = [faces.detect_faces(im, **faces.TUNED_PARAMS) for im in images[picked]]
    expected = detector_eval.score_boxes(boxes, is_face[picked], box)
    assert result["recall"] == expected["recall"] and result["false_positives"] == expected["false_positives"]
    assert result["ms_per_frame"] > 0
