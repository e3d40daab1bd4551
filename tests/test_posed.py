"""CK+'s synthetic stand-in (fercourse.datasets.posed): CK+'s structure, and what it does to splits."""

import numpy as np
import pytest

from fercourse import facs
from fercourse.datasets import ckplus, make_posed_faces
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT


def test_posed_stand_in():
    data = make_posed_faces(6, sequences_per_subject=3, seed=5)
    assert data.class_names == EMOTIONS_WITH_CONTEMPT and data.name == "posed-synthetic"
    assert len(data) == 6 * 3 * 4 and len(np.unique(data.subjects)) == 6
    assert len(np.unique(data.extras["sequences"])) == 18
    neutral = data.extras["neutral"]
    assert neutral.sum() == 18 and (data.labels[neutral] == EMOTIONS.index("neutral")).all()
    assert (data.extras["aus"][neutral] == 0).all()
    # each subject poses different emotions; every class but neutral gets sequences
    peaks = data.select(~neutral)
    assert set(peaks.labels) <= set(range(len(EMOTIONS_WITH_CONTEMPT))) - {EMOTIONS.index("neutral")}
    for s in np.unique(peaks.subjects):
        assert len(set(peaks.labels[peaks.subjects == s])) == 3
    # presence follows intensity at FACS's trace grade
    np.testing.assert_array_equal(data.extras["au_present"], data.extras["aus"] >= facs.FACS_GRADES["A"])
    # frames of one sequence are near copies; different sequences are not
    img = peaks.images.astype(float)
    seq = peaks.extras["sequences"]
    same = np.mean([np.abs(img[i] - img[i + 1]).mean() for i in range(len(seq) - 1) if seq[i] == seq[i + 1]])
    other = np.mean([np.abs(img[i] - img[i + 3]).mean() for i in range(len(seq) - 3) if seq[i] != seq[i + 3]])
    assert same < other / 2
    again = make_posed_faces(6, sequences_per_subject=3, seed=5)
    np.testing.assert_array_equal(data.images, again.images)
    no_contempt = make_posed_faces(4, sequences_per_subject=6, contempt=False, include_neutral=False, seed=1)
    assert EMOTIONS_WITH_CONTEMPT.index("contempt") not in no_contempt.labels and len(no_contempt) == 4 * 6 * 3


def test_posed_stand_in_arguments():
    with pytest.raises(ValueError, match="n_subjects"):
        make_posed_faces(1)
    with pytest.raises(ValueError, match="sequences_per_subject"):
        make_posed_faces(3, sequences_per_subject=8)
    with pytest.raises(ValueError, match="intensity"):
        make_posed_faces(3, intensity=(0.9, 0.5))


def test_posed_stand_in_is_packed_as_ckplus_is():
    data = make_posed_faces(2, sequences_per_subject=2, peak_frames=2, seed=3)
    assert set(data.extras) == set(ckplus._ARRAYS) - {"images", "labels", "subjects"}
    assert data.extras["frames"].dtype == np.int64 and data.extras["neutral"].dtype == bool
    assert data.extras["au_present"].dtype == np.int8 and data.extras["aus"].dtype == np.float32
    assert data.extras["aus"].shape == (len(data), len(facs.AUS)) and not np.isnan(data.extras["aus"]).any()
    assert data.images.shape == (len(data), 48, 48) and (data.splits == "").all()
    # per sequence of peak_frames + 8 frames: the neutral first frame, then the last peak_frames
    for seq in np.unique(data.extras["sequences"]):
        frames = data.extras["frames"][data.extras["sequences"] == seq]
        assert frames[0] == 1 and frames[1:].tolist() == [9, 10]
    assert "make_posed_faces(n_subjects=2" in data.source
