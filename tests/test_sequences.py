"""SequenceData and the clip-level operations (windows, resampling, temporal interpolation)."""

import numpy as np
import pytest

from fercourse import facs
from fercourse.datasets import SequenceData, make_sequences
from fercourse.datasets import sequences as seq
from fercourse.datasets.synthetic import SequenceData as FromSynthetic


def _clips(n=3, t=10, **kw):
    frames = np.tile(np.arange(t, dtype=np.uint8)[None, :, None, None] * 10, (n, 1, 4, 4))
    args = dict(frames=frames, aus=np.zeros((n, t, len(facs.AUS)), np.float32),
                emotion=np.arange(n) % 6, onset=np.full(n, 2), apex=np.full(n, 4), offset=np.full(n, 6),
                micro=np.ones(n, bool), subjects=np.arange(n), fps=30.0)
    args.update(kw)
    return SequenceData(**args)


def test_sequence_data_is_one_class_everywhere():
    assert FromSynthetic is SequenceData
    s = make_sequences(2, frames=24, seed=1)
    assert isinstance(s, SequenceData) and s.name == "synthetic" and s.length == 24


def test_window_indices_centre_shift_and_pad():
    assert seq.window_indices(20, 8, 12, 5).tolist() == [8, 9, 10, 11, 12]
    assert seq.window_indices(20, 9, 9, 3).tolist() == [8, 9, 10]
    # shifted, not cut, at the clip's ends
    assert seq.window_indices(20, 0, 1, 6).tolist() == [0, 1, 2, 3, 4, 5]
    assert seq.window_indices(20, 18, 19, 6).tolist() == [14, 15, 16, 17, 18, 19]
    # a clip shorter than the window repeats its last frame
    assert seq.window_indices(3, 0, 2, 5).tolist() == [0, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="interval"):
        seq.window_indices(10, 5, 12, 4)
    with pytest.raises(ValueError, match="positive"):
        seq.window_indices(10, 1, 2, 0)


def test_interpolate_blends_neighbours_and_keeps_dtype():
    frames = np.array([[0, 0], [100, 200], [200, 255]], np.uint8)
    out = seq.interpolate(frames, [0, 0.5, 1.25, 2])
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0], [50, 100], [125, 214], [200, 255]]
    floats = seq.interpolate(np.array([0.0, 1.0], np.float32), [0.25])
    assert floats.dtype == np.float32 and floats.tolist() == [0.25]
    with pytest.raises(ValueError, match="positions"):
        seq.interpolate(frames, [3.5])


def test_resample_lengthens_and_shortens():
    clip = np.arange(5, dtype=np.float32) * 2  # 0 2 4 6 8
    assert seq.resample(clip, 9).tolist() == list(np.arange(9, dtype=float))
    assert seq.resample(clip, 3).tolist() == [0, 4, 8]
    assert seq.resample(clip, 4, "nearest").tolist() == [0, 2, 6, 8]  # rint of 0, 1.33, 2.67, 4
    assert seq.map_index([0, 2, 4], 5, 9).tolist() == [0, 4, 8]
    with pytest.raises(ValueError, match="method"):
        seq.resample(clip, 3, "cubic")


def test_interval_index_maps_frames_of_a_stretched_interval():
    # 10..20 brought to 6 frames: one new frame per 2 old ones
    assert seq.interval_index([10, 14, 20], 10, 20, 6).tolist() == [0, 2, 5]
    # one interval per clip; a one-frame interval does not divide by zero
    got = seq.interval_index(np.array([4, 7]), np.array([0, 7]), np.array([8, 7]), 5)
    assert got.tolist() == [2, 0] and got.dtype == np.int64


def test_sequence_data_window_moves_the_timing():
    s = _clips(t=10)
    w = s.window(4)  # interval 2..6, centred: frames 2..5
    assert w.frames.shape == (3, 4, 4, 4)
    assert w.frames[0, :, 0, 0].tolist() == [20, 30, 40, 50]
    assert (w.onset[0], w.apex[0], w.offset[0]) == (0, 2, 3)  # offset moved onto the last frame
    a = s.window(3, around="apex")
    assert a.frames[0, :, 0, 0].tolist() == [30, 40, 50] and a.apex[0] == 1
    assert a.aus.shape == (3, 3, len(facs.AUS))
    with pytest.raises(ValueError, match="around"):
        s.window(3, around="onset")


def test_sequence_data_resample_keeps_duration():
    s = make_sequences(4, frames=30, fps=30, seed=2)
    r = s.resample(59)
    assert r.frames.shape[1] == 59 and r.aus.shape[1] == 59 and r.fps == pytest.approx(60.0)
    assert np.allclose(r.duration, s.duration, atol=1 / 60)
    assert np.all(r.apex == 2 * s.apex)
    # per-clip AUs (as CASME II codes them) are left as they are
    c = _clips(aus=np.ones((3, len(facs.AUS)), np.float32)).resample(19)
    assert c.aus.shape == (3, len(facs.AUS)) and c.clip_aus.shape == (3, len(facs.AUS))


def test_sequence_data_select_and_per_clip_fps():
    s = _clips(n=4, fps=np.array([30.0, 60.0, 30.0, 60.0]), clips=np.array(list("abcd")))
    sub = s.select([1, 3])
    assert len(sub) == 2 and sub.clips.tolist() == ["b", "d"] and sub.fps.tolist() == [60.0, 60.0]
    assert np.allclose(s.duration, [4 / 30, 4 / 60, 4 / 30, 4 / 60])
    assert "30-60 fps" in repr(s)
    assert "at 60 fps" in repr(sub)  # one rate per clip, all the same: said once
    assert "class" in s.describe()


@pytest.mark.parametrize("change, match", [
    (dict(onset=np.array([5, 2, 2])), "onset 5, apex 4"),
    (dict(offset=np.array([6, 6, 10])), "< 10"),
    (dict(fps=0.0), "fps"),
    (dict(emotion=np.array([0, 1, 9])), "labels outside"),
    (dict(aus=np.zeros((3, 5, 2), np.float32)), "aus has shape"),
    (dict(clips=np.array(["a"])), "clips has 1"),
])
def test_sequence_data_rejects_bad_fields(change, match):
    with pytest.raises(ValueError, match=match):
        _clips(**change)


def test_bad_timing_names_the_clip():
    with pytest.raises(ValueError, match="clip b"):
        _clips(clips=np.array(["a", "b", "c"]), apex=np.array([4, 9, 4]))


def test_interval_stretches_each_expression_to_the_same_length():
    s = _clips(n=2, t=10, onset=np.array([2, 1]), apex=np.array([4, 2]), offset=np.array([6, 5]))
    e = s.interval(5)
    # clip 0: frames 2..6 as they are; clip 1: 1..5 as they are too (5 frames each)
    assert e.frames[0, :, 0, 0].tolist() == [20, 30, 40, 50, 60]
    assert e.onset.tolist() == [0, 0] and e.offset.tolist() == [4, 4] and e.apex.tolist() == [2, 1]
    assert e.fps.tolist() == [30.0, 30.0]
    w = s.interval(9, context=1)  # 1..7 and 0..6: 7 frames each, stretched to 9
    assert w.frames[0, 0, 0, 0] == 10 and w.frames[0, -1, 0, 0] == 70
    assert np.allclose(w.duration, s.duration, atol=1 / w.fps.min())
    with pytest.raises(ValueError, match="length"):
        s.interval(1)
    with pytest.raises(ValueError, match="context"):
        s.interval(5, context=-1)


def test_interval_can_stop_at_the_apex():
    s = _clips(n=2, t=10, onset=np.array([2, 1]), apex=np.array([4, 5]), offset=np.array([6, 8]))
    r = s.interval(3, end="apex")
    assert r.frames[0, :, 0, 0].tolist() == [20, 30, 40] and r.frames[1, :, 0, 0].tolist() == [10, 30, 50]
    assert r.apex.tolist() == [2, 2] and r.offset.tolist() == [2, 2] and r.onset.tolist() == [0, 0]
    with pytest.raises(ValueError, match="end"):
        s.interval(3, end="middle")
