"""Partial labels as data: targets and masks from datasets, labels hidden at chosen rates, datasets mixed."""

import numpy as np
import pytest

from fercourse import facs
from fercourse.datasets import FaceData
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT
from fercourse.partial_labels import hide_labels, label_counts, mix, multitask_arrays


def faces(n, class_names=EMOTIONS, extras=None, name="toy", seed=0):
    rng = np.random.default_rng(seed)
    return FaceData(images=rng.integers(0, 255, (n, 8, 8)).astype(np.uint8), labels=np.arange(n) % len(class_names),
                    splits=np.array(["Training", "PublicTest"] * (n // 2) + ["Training"] * (n % 2)),
                    class_names=tuple(class_names), name=name, source="test", extras=extras or {})


def test_all_three_labels_from_synthetic_like_data():
    n = 6
    aus = np.zeros((n, len(facs.AUS)), np.float32)
    aus[0, facs.AU_INDEX[12]] = 0.8
    aus[1, facs.AU_INDEX[12]] = 0.1                          # below FACS trace level: not present
    data = faces(n, extras={"aus": aus, "valence": np.linspace(-1, 1, n), "arousal": np.zeros(n)})
    x, y, w = multitask_arrays(data)
    assert x.shape == (n, 8, 8)
    assert y["aus"].shape == (n, 17) and y["aus"][0].sum() == 1 and y["aus"][1].sum() == 0
    assert y["va"][:, 0] == pytest.approx(np.linspace(-1, 1, n))
    assert all((w[t] == 1).all() for t in ("expression", "aus", "va"))
    x_tr, y_tr, w_tr = multitask_arrays(data, "Training")
    assert len(x_tr) == 3 and len(y_tr["aus"]) == 3 and len(w_tr["va"]) == 3


def test_expression_only_data_masks_the_rest():
    x, y, w = multitask_arrays(faces(4))
    assert (w["expression"] == 1).all() and not w["aus"].any() and not w["va"].any()
    assert not y["aus"].any() and not y["va"].any()


def test_classes_are_mapped_by_name_and_unknown_ones_masked():
    names = ("happy", "contempt", "angry")                     # an order of its own, and contempt
    data = FaceData(images=np.zeros((3, 8, 8), np.uint8), labels=np.array([0, 1, 2]), splits=np.full(3, ""),
                    class_names=names, name="ck-like", source="test",
                    extras={"aus": np.array([[0.5] * len(facs.AUS), [np.nan] * len(facs.AUS), [0.0] * len(facs.AUS)])})
    _, y, w = multitask_arrays(data)
    assert y["expression"][[0, 2]].tolist() == [EMOTIONS.index("happy"), EMOTIONS.index("angry")]
    assert w["expression"].tolist() == [1, 0, 1]
    assert w["aus"].tolist() == [1, 0, 1] and not y["aus"][1].any()
    assert "contempt" in EMOTIONS_WITH_CONTEMPT


def test_hide_labels_keeps_exact_shares_and_is_seeded():
    w = {"expression": np.ones(200, np.float32), "aus": np.ones(200, np.float32), "va": np.ones(200, np.float32)}
    w["va"][:100] = 0                                        # VA known for half the faces to begin with
    hidden = hide_labels(w, {"aus": 0.1, "va": 0.3}, seed=1)
    assert hidden["aus"].sum() == 20 and hidden["va"].sum() == 30
    assert not hidden["va"][:100].any(), "a label that was missing stays missing"
    assert (hidden["expression"] == 1).all()
    assert w["aus"].sum() == 200, "the masks passed in are not changed"
    again = hide_labels(w, {"aus": 0.1, "va": 0.3}, seed=1)
    other = hide_labels(w, {"aus": 0.1, "va": 0.3}, seed=2)
    assert np.array_equal(hidden["aus"], again["aus"]) and not np.array_equal(hidden["aus"], other["aus"])
    assert hide_labels(w, {"aus": 0.0})["aus"].sum() == 0 and hide_labels(w, {"aus": 1.0})["aus"].sum() == 200
    with pytest.raises(ValueError, match="0..1"):
        hide_labels(w, {"aus": 1.5})
    with pytest.raises(ValueError, match="no mask"):
        hide_labels(w, {"pose": 0.5})


def test_mix_draws_in_the_chosen_proportions():
    syn = multitask_arrays(faces(40, extras={"aus": np.zeros((40, len(facs.AUS))), "valence": np.zeros(40),
                                             "arousal": np.zeros(40)}, name="synthetic"))
    fer = multitask_arrays(faces(100, name="fer2013", seed=1))
    x, y, w, source = mix({"synthetic": syn, "fer2013": fer}, {"synthetic": 1, "fer2013": 3}, n=80, seed=0)
    assert len(x) == 80 and (source == "synthetic").sum() == 20 and (source == "fer2013").sum() == 60
    assert w["aus"][source == "synthetic"].all() and not w["aus"][source == "fer2013"].any()
    assert y["aus"].shape == (80, 17) and y["expression"].shape == (80,)
    assert not (source[:20] == "synthetic").all(), "the faces are shuffled"
    x2, *_ = mix({"synthetic": syn, "fer2013": fer}, {"synthetic": 1, "fer2013": 3}, n=80, seed=0)
    assert np.array_equal(x, x2)
    x_all, _, _, src = mix({"synthetic": syn, "fer2013": fer}, {"synthetic": 1, "fer2013": 1})
    assert len(x_all) == 80 and (src == "synthetic").sum() == 40, "by default, as many faces as the parts allow"
    counts = label_counts(w, source)
    assert counts.loc["synthetic", "aus"] == 20 and counts.loc["fer2013", "aus"] == 0
    with pytest.raises(ValueError, match="lower n"):
        mix({"synthetic": syn, "fer2013": fer}, {"synthetic": 1, "fer2013": 1}, n=100)
    with pytest.raises(ValueError, match="not among"):
        mix({"synthetic": syn}, {"ck+": 1})
    small = multitask_arrays(FaceData(images=np.zeros((4, 6, 6), np.uint8), labels=np.zeros(4, int),
                                      splits=np.full(4, ""), class_names=EMOTIONS, name="s", source="t"))
    with pytest.raises(ValueError, match="shape"):
        mix({"a": syn, "b": small}, {"a": 1, "b": 1})
