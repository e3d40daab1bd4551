"""Tests of fercourse.facs: the AU table, prototypes, relations, circumplex and helpers."""

import numpy as np
import pytest

from fercourse import facs
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT

FACEBEHAVIORNET_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26)


def test_au_table_holds_facebehaviornets_17_in_a_fixed_order():
    assert set(FACEBEHAVIORNET_AUS) <= set(facs.AUS)
    assert list(facs.AUS) == sorted(facs.AUS)
    for au in facs.AUS:
        info = facs.AU_TABLE[au]
        assert info.number == au and info.name and info.muscles
        assert info.region in facs.REGIONS


def test_every_emotion_has_prototype_relation_and_circumplex_entry():
    for emotion in EMOTIONS_WITH_CONTEMPT:
        assert emotion in facs.PROTOTYPES and emotion in facs.RELATIONS and emotion in facs.CIRCUMPLEX
        v, a = facs.CIRCUMPLEX[emotion]
        assert -1 <= v <= 1 and -1 <= a <= 1
        for key, value in facs.PROTOTYPES[emotion].items():
            facs.parse_au(key)
            assert 0 < value <= 1
        for kind in ("prototypical", "observational"):
            for au, w in facs.RELATIONS[emotion][kind].items():
                assert au in facs.AU_INDEX and 0 < w <= 1


def test_circumplex_quadrants_follow_russell():
    v, a = facs.valence_arousal("happy")
    assert v > 0.5 and a > 0
    v, a = facs.valence_arousal("sad")
    assert v < 0 and a < 0
    for e in ("angry", "fear"):
        v, a = facs.valence_arousal(e)
        assert v < 0 and a > 0.5
    assert facs.valence_arousal("neutral") == (0.0, 0.0)


@pytest.mark.parametrize("key", [12, "12", "AU12", "au12", " AU12 "])
def test_parse_au_reads_the_usual_spellings(key):
    assert facs.parse_au(key) == (12, "both")


def test_unilateral_aus_act_on_one_side():
    sides = facs.au_sides({"R14": 0.8, "AU6": 0.3})
    j14, j6 = facs.au_index(14), facs.au_index(6)
    assert sides[0, j14] == pytest.approx(0.8) and sides[1, j14] == 0
    assert sides[0, j6] == sides[1, j6] == pytest.approx(0.3)
    assert facs.au_vector({"L14": 0.5})[j14] == pytest.approx(0.5)


@pytest.mark.parametrize("bad", ["AU3", 3, "AU99", "smile", "R", 1.5, None])
def test_bad_au_name_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="action unit|AU"):
        facs.au_vector({bad: 0.5})


@pytest.mark.parametrize("value", [-0.1, 1.01, float("nan"), "high"])
def test_intensity_outside_0_1_is_a_clear_error(value):
    with pytest.raises(ValueError, match="0..1"):
        facs.au_vector({"AU12": value})


def test_vector_input_is_checked_too():
    with pytest.raises(ValueError, match="0..1"):
        facs.au_vector(np.full(len(facs.AUS), 1.5))
    with pytest.raises(ValueError, match="shape"):
        facs.au_vector(np.zeros(5))


def test_au_vector_and_au_dict_round_trip():
    spec = {1: 0.2, 12: 0.9, 26: 0.5}
    assert facs.au_dict(facs.au_vector(spec)) == pytest.approx(spec)


def test_nearest_prototype_finds_each_prototype_even_when_faint():
    for emotion in EMOTIONS:
        assert facs.nearest_prototype(facs.prototype_vector(emotion, 0.4)) == emotion
    assert facs.nearest_prototype({}) == "neutral"
    # a blink alone is no expression
    assert facs.nearest_prototype({45: 1.0}) == "neutral"
    best, scores = facs.nearest_prototype({12: 0.8, 6: 0.6}, return_scores=True)
    assert best == "happy" and set(scores) == set(EMOTIONS)


def test_au_probabilities_mark_prototypical_and_observational_aus():
    p = facs.au_probabilities("sad")
    assert p[facs.au_index(15)] == facs.PROTOTYPE_KEEP_RATE
    # AU6 is observational for sadness (weight 0.5) and not in its EMFACS prototype
    assert p[facs.au_index(6)] == pytest.approx(facs.PROTOTYPE_KEEP_RATE * 0.5)
    assert p[facs.au_index(26)] == facs.AU_BACKGROUND_RATE
    assert p[facs.au_index(45)] == 0


def test_contempt_prototype_is_one_sided():
    sides = facs.prototype_sides("contempt")
    assert sides[0].sum() > 0 and sides[1].sum() == 0


def test_au_table_frame():
    table = facs.au_table()
    assert list(table.index) == list(facs.AUS)
    assert "happy" in table.loc[12, "in prototypes of"]


def test_chapter1_checks_accept_right_and_reject_wrong_answers():
    from fercourse.datasets import FaceData
    from fercourse.exercises import ch01

    assert ch01.check_lower_face({12: 0.9, 25: 0.4}, "happy")
    assert not ch01.check_lower_face({6: 0.8, 12: 0.5}, "happy")  # AU6 is upper face
    assert not ch01.check_lower_face({15: 0.8}, "happy")
    assert not ch01.check_lower_face({"AU3": 0.5}, "happy")

    assert ch01.check_find_duplicates(ch01._reference_duplicates)
    assert not ch01.check_find_duplicates(lambda images: [[3, 7]])
    assert not ch01.check_find_duplicates(lambda images: 1 / 0)

    labels = np.array([0, 0, 1, 2, 0, 1, 1, 2])
    data = FaceData(images=np.zeros((8, 4, 4), np.uint8), labels=labels,
                    splits=np.array(["Training"] * 5 + ["PrivateTest"] * 3), class_names=EMOTIONS,
                    name="tiny", source="test")
    assert ch01.majority_baseline(data) == pytest.approx(0.0)  # Training's commonest is 0, absent in test
    assert ch01.check_majority_baseline(data, 0.0)
    assert not ch01.check_majority_baseline(data, 1 / 3)


def test_expression_aus_are_the_course_aus_without_eye_closure_in_order():
    assert facs.EYE_CLOSURE_AUS == (43, 45)
    assert len(facs.EXPRESSION_AUS) == 17 and not set(facs.EXPRESSION_AUS) & {43, 45}
    assert list(facs.EXPRESSION_AUS) == [au for au in facs.AUS if au in facs.EXPRESSION_AUS]
    assert set(facs.EXPRESSION_AUS) | {43, 45} == set(facs.AUS)
