import numpy as np
import pytest

from fercourse.labels import EMOTIONS, EMOTIONS_MERGED, merge_disgust


def test_fer2013_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_merge_disgust_maps_by_name():
    merged = merge_disgust(np.arange(7))
    assert [EMOTIONS_MERGED[i] for i in merged] == ["angry", "angry", "fear", "happy", "sad", "surprise", "neutral"]


def test_merge_disgust_rejects_out_of_range():
    with pytest.raises(ValueError, match="0..6"):
        merge_disgust([0, 7])
