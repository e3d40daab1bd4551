"""Compound expressions: the table in facs, synthetic compound faces, zero- and few-shot recognition."""

import numpy as np
import pytest

from fercourse import compound, facs
from fercourse.labels import EMOTIONS
from fercourse.multitask import AUS


def test_compound_table_is_consistent_with_the_basic_table():
    sets = set()
    for name, entry in facs.COMPOUNDS.items():
        e1, e2 = entry["emotions"]
        assert e1 in EMOTIONS and e2 in EMOTIONS and e1 != e2 and "neutral" not in (e1, e2)
        for au in entry["aus"]:
            assert au in AUS, f"{name}: AU{au} is not one of the 17"
        # Du et al.: a compound is made of its components' AUs -- every AU of the compound is one
        # that one of the two basic emotions shows (prototypical or observational) in Table 1.
        related = set()
        for e in (e1, e2):
            related |= set(facs.RELATIONS[e]["prototypical"]) | set(facs.RELATIONS[e]["observational"])
        assert set(entry["aus"]) <= related, f"{name}: {set(entry['aus']) - related} belong to neither {e1} nor {e2}"
        sets.add(frozenset(entry["aus"]))
    assert len(sets) == len(facs.COMPOUNDS), "two compounds share one AU set: zero-shot could not tell them apart"
    assert "left out" in facs.COMPOUND_NOTES


def test_templates_and_names():
    t = compound.compound_templates()
    assert t.shape == (len(facs.COMPOUNDS), 17)
    row = t[list(facs.COMPOUNDS).index("happily surprised")]
    assert {AUS[i] for i in np.flatnonzero(row)} == set(facs.COMPOUNDS["happily surprised"]["aus"])
    with pytest.raises(ValueError, match="unknown compound"):
        compound.compound_names(["gleefully bored"])


def test_sample_compound_aus_follows_the_sampling_rates():
    rng = np.random.default_rng(0)
    draws = np.array([compound.sample_compound_aus("angrily surprised", 1.0, rng) for _ in range(3000)])
    present = (draws > 0).mean(axis=0)
    tied = [facs.AU_INDEX[a] for a in facs.COMPOUNDS["angrily surprised"]["aus"]]
    other = [i for i in range(len(facs.AUS)) if i not in tied and facs.AUS[i] not in (43, 45)]
    assert np.allclose(present[tied], facs.PROTOTYPE_KEEP_RATE, atol=0.03)
    assert np.allclose(present[other], facs.AU_BACKGROUND_RATE, atol=0.02)
    assert present[facs.AU_INDEX[45]] == 0
    assert draws[:, tied].max() <= 1.25 * compound.COMPOUND_APEX + 1e-6
    with pytest.raises(ValueError, match="0..1"):
        compound.sample_compound_aus("angrily surprised", 1.5, rng)


def test_make_compound_faces():
    faces = compound.make_compound_faces(3, compounds=["happily surprised", "sadly disgusted"], seed=4, size=32)
    assert faces.images.shape == (6, 32, 32) and faces.images.dtype == np.uint8
    assert np.bincount(faces.labels).tolist() == [3, 3]
    assert faces.class_names == ("happily surprised", "sadly disgusted")
    assert faces.extras["aus"].shape == (6, len(facs.AUS))
    again = compound.make_compound_faces(3, compounds=["happily surprised", "sadly disgusted"], seed=4, size=32)
    assert np.array_equal(faces.images, again.images)
    other = compound.make_compound_faces(3, compounds=["happily surprised", "sadly disgusted"], seed=5, size=32)
    assert not np.array_equal(faces.images, other.images)
    with pytest.raises(ValueError, match="n_per_class"):
        compound.make_compound_faces(0)


def test_zero_shot_from_perfect_outputs():
    names = compound.compound_names()
    t = compound.compound_templates()
    labels = np.arange(len(names))
    assert compound.zero_shot_accuracy(labels, p_aus=t) == 1.0
    p_e = np.full((len(names), 7), 0.01)
    for k, c in enumerate(names):
        for e in facs.COMPOUNDS[c]["emotions"]:
            p_e[k, EMOTIONS.index(e)] = 0.45
    assert compound.zero_shot_accuracy(labels, p_expression=p_e) == 1.0
    both = compound.zero_shot_scores(t, p_e)
    assert both.shape == (len(names), len(names))
    assert np.allclose(both, compound.zero_shot_scores(t) + compound.zero_shot_scores(p_expression=p_e))
    # one AU off still ranks the right compound first when the rest fits
    noisy = t.copy()
    noisy[:, AUS.index(14)] = 0.6
    assert compound.zero_shot_accuracy(labels, p_aus=noisy) == 1.0
    with pytest.raises(ValueError, match="give the AU"):
        compound.zero_shot_scores()
    with pytest.raises(ValueError, match=r"\(N, 17\)"):
        compound.zero_shot_scores(np.zeros((2, 5)))


def test_few_shot_on_separable_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 15)
    f = rng.normal(size=(60, 8)) + 6 * np.eye(4, 8)[y]
    table = compound.few_shot(f, y, shots=(1, 5), draws=3, seed=1)
    assert len(table) == 6 and set(table["shots"]) == {1, 5}
    assert (table["chance"] == 0.25).all()
    assert table.loc[table.shots == 5, "accuracy"].min() > 0.9
    with pytest.raises(ValueError, match="shots must be"):
        compound.few_shot(f, y, shots=(15,))
