"""Tests of the synthetic FACS faces and sequences (fercourse.datasets.synthetic)."""

import numpy as np
import pytest

from fercourse import facs
from fercourse.datasets import make_faces, make_sequences
from fercourse.datasets.synthetic import SequenceData, sample_aus
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT, SPLITS


@pytest.fixture(scope="module")
def faces():
    return make_faces(140, seed=5)


def test_shapes_dtypes_and_ground_truth(faces):
    n = len(faces)
    assert faces.name == "synthetic" and faces.class_names == EMOTIONS
    assert faces.images.shape == (n, 48, 48) and faces.images.dtype == np.uint8
    assert faces.labels.dtype == np.int64 and set(faces.labels) == set(range(7))
    assert faces.extras["aus"].shape == (n, len(facs.AUS)) and faces.extras["aus"].dtype == np.float32
    for key in ("valence", "arousal", "intensity"):
        assert faces.extras[key].shape == (n,) and faces.extras[key].dtype == np.float32
    assert set(faces.splits) == set(SPLITS)
    assert faces.extras["aus"].min() >= 0 and faces.extras["aus"].max() <= 1


def test_same_seed_same_arrays_other_seed_other_arrays():
    a, b, c = make_faces(30, seed=11), make_faces(30, seed=11), make_faces(30, seed=12)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.extras["aus"], b.extras["aus"]) and np.array_equal(a.splits, b.splits)
    assert not np.array_equal(a.images, c.images)


def test_default_seed_comes_from_config(monkeypatch):
    monkeypatch.setenv("FERCOURSE_SEED", "7")
    assert np.array_equal(make_faces(12).images, make_faces(12, seed=7).images)


def test_splits_are_subject_independent(faces):
    groups = [set(faces.subjects[faces.splits == s]) for s in SPLITS]
    assert all(groups)
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    share = np.mean(faces.splits == "Training")
    assert 0.6 < share < 0.95


def test_contempt_and_size_options():
    d = make_faces(24, seed=1, contempt=True, size=64)
    assert d.class_names == EMOTIONS_WITH_CONTEMPT and d.images.shape[1:] == (64, 64)
    assert (d.labels == 7).sum() == 3


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="split_fractions"):
        make_faces(10, split_fractions=(0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="intensity"):
        make_faces(10, intensity=(0.5, 1.5))
    with pytest.raises(ValueError, match="n must"):
        make_faces(0)


def test_sampled_au_statistics_match_the_tables():
    rng = np.random.default_rng(0)
    for emotion in ("happy", "sad", "surprise", "disgust", "angry", "fear"):
        draws = np.array([sample_aus(emotion, 0.8, rng).max(axis=0) for _ in range(800)])
        freq = (draws > 0).mean(axis=0)
        expected = facs.au_probabilities(emotion)
        # every AU appears about as often as the table says (binomial s.e. <= 0.018)
        assert np.abs(freq - expected).max() < 0.07, (emotion, freq.round(2), expected.round(2))
        # the prototype's AUs, when present, are stronger than unrelated ones
        proto = facs.prototype_vector(emotion) > 0
        unrelated = expected == facs.AU_BACKGROUND_RATE
        proto_level = draws[:, proto][draws[:, proto] > 0].mean()
        other_level = draws[:, unrelated][draws[:, unrelated] > 0].mean()
        assert proto_level > other_level + 0.1, (emotion, proto_level, other_level)


def test_neutral_faces_have_only_faint_aus():
    rng = np.random.default_rng(1)
    draws = np.array([sample_aus("neutral", 1.0, rng) for _ in range(300)])
    assert draws.max() <= 0.25 and (draws > 0).mean() > 0.05


def test_contempt_is_sampled_one_sided():
    rng = np.random.default_rng(2)
    draws = np.array([sample_aus("contempt", 0.9, rng) for _ in range(200)])
    j = facs.au_index(14)
    assert draws[:, 0, j].mean() > 0.3 and draws[:, 1, j].max() == 0


def test_sequences_shapes_and_timing():
    s = make_sequences(8, frames=24, fps=30, seed=3, micro_fraction=0.5)
    assert isinstance(s, SequenceData)
    assert s.frames.shape == (8, 24, 48, 48) and s.frames.dtype == np.uint8
    assert s.aus.shape == (8, 24, len(facs.AUS))
    assert np.all(s.onset < s.apex) and np.all(s.apex < s.offset) and np.all(s.offset < 24)
    assert s.micro.sum() == 4
    assert np.all(s.duration[s.micro] < 0.5) and np.all(s.duration[~s.micro] >= 0.5)
    # micro-expressions are subtler than macro ones
    peak = s.aus[:, :, :-2].max(axis=(1, 2))
    assert peak[s.micro].max() <= 0.5 < peak[~s.micro].max()


def test_sequences_peak_at_the_labelled_apex():
    s = make_sequences(6, frames=30, seed=4, micro_fraction=0.0, blinks=False, head_motion=False)
    expressive = np.array([au not in (43, 45) for au in facs.AUS])
    strength = s.aus[:, :, expressive].sum(axis=2)
    assert np.array_equal(strength.argmax(axis=1), s.apex)
    assert np.all(strength[np.arange(6), s.onset] == 0)
    # the picture changes most at the apex, too
    for i in range(6):
        change = np.abs(s.frames[i].astype(float) - s.frames[i, 0].astype(float)).mean(axis=(1, 2))
        assert abs(int(change.argmax()) - s.apex[i]) <= 2, (change.round(1), s.apex[i])


def test_sequences_same_seed_same_clips_and_bad_args():
    a, b = make_sequences(2, frames=24, seed=9), make_sequences(2, frames=24, seed=9)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.aus, b.aus)
    with pytest.raises(ValueError, match="0.7 s"):
        make_sequences(2, frames=10, fps=30)
