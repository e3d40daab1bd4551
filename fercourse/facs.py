"""Facial action units and emotions: the course's domain knowledge, stated once.

The Facial Action Coding System (FACS) :cite:`ekman1978facs` describes any facial
movement as a combination of *action units* (AUs), each the visible effect of one muscle
or muscle group.  This module holds

- :data:`AU_TABLE` -- each AU the course uses, with its name, muscles and face region;
- :data:`AUS` -- the AU numbers in the one fixed order of every AU-intensity array in
  the course (the synthetic faces' ``aus``, multi-task heads, AU detectors);
- :data:`PROTOTYPES` -- the EMFACS prototype of each emotion :cite:`friesen1983emfacs`;
- :data:`RELATIONS` -- the emotion -> AU relationship table of Du, Tao & Martinez
  :cite:`du2014compound` as FaceBehaviorNet uses it :cite:`kollias2021facebehaviornet`;
- :data:`CIRCUMPLEX` -- valence and arousal of each emotion on Russell's circumplex
  :cite:`russell1980circumplex`;
- :data:`COMPOUNDS` -- compound expressions (happily surprised...) and their AUs, from
  Du, Tao & Martinez's Table 1 :cite:`du2014compound`;
- helpers: :func:`au_vector`, :func:`au_sides`, :func:`prototype_vector`,
  :func:`nearest_prototype`, :func:`au_probabilities`, :func:`au_table`.

Intensities are numbers in 0..1 (FACS's letter grades A..E map to about 0.2..1.0; see
:data:`FACS_GRADES`).  Emotion names and their order come from :mod:`fercourse.labels`.

Why one module of about 450 lines, above the package's ~400: half of it is the tables
themselves, with their sources and notes, and every table and helper is keyed by the same AU
numbers and emotion names; split, "the domain knowledge, stated once" would be stated in
several places.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .labels import CONTEMPT, EMOTIONS, EMOTIONS_WITH_CONTEMPT

__all__ = [
    "ActionUnit", "AU_TABLE", "AUS", "AU_INDEX", "REGIONS", "FACS_GRADES",
    "PROTOTYPES", "PROTOTYPE_NOTES", "RELATIONS", "RELATION_NOTES", "CIRCUMPLEX",
    "au_index", "au_vector", "au_sides", "au_dict", "prototype_vector", "prototype_sides",
    "nearest_prototype", "valence_arousal", "prototype_intensity", "au_probabilities", "au_table",
    "parse_au", "COMPOUNDS", "COMPOUND_NOTES",
]


@dataclass(frozen=True)
class ActionUnit:
    """One FACS action unit."""

    number: int
    name: str
    muscles: str
    region: str
    """Where on the face its effect shows: one of :data:`REGIONS`."""

    @property
    def code(self) -> str:
        return f"AU{self.number}"


REGIONS = ("brows", "eyes", "cheeks", "nose", "mouth", "chin", "jaw")
"""The face regions an AU can act on, top to bottom."""

AU_TABLE: dict[int, ActionUnit] = {
    au.number: au
    for au in (
        ActionUnit(1, "Inner brow raiser", "frontalis, pars medialis", "brows"),
        ActionUnit(2, "Outer brow raiser", "frontalis, pars lateralis", "brows"),
        ActionUnit(4, "Brow lowerer", "corrugator supercilii, depressor supercilii, procerus", "brows"),
        ActionUnit(5, "Upper lid raiser", "levator palpebrae superioris", "eyes"),
        ActionUnit(6, "Cheek raiser", "orbicularis oculi, pars orbitalis", "cheeks"),
        ActionUnit(7, "Lid tightener", "orbicularis oculi, pars palpebralis", "eyes"),
        ActionUnit(9, "Nose wrinkler", "levator labii superioris alaeque nasi", "nose"),
        ActionUnit(10, "Upper lip raiser", "levator labii superioris", "mouth"),
        ActionUnit(12, "Lip corner puller", "zygomaticus major", "mouth"),
        ActionUnit(14, "Dimpler", "buccinator", "mouth"),
        ActionUnit(15, "Lip corner depressor", "depressor anguli oris (triangularis)", "mouth"),
        ActionUnit(17, "Chin raiser", "mentalis", "chin"),
        ActionUnit(20, "Lip stretcher", "risorius, with platysma", "mouth"),
        ActionUnit(23, "Lip tightener", "orbicularis oris", "mouth"),
        ActionUnit(24, "Lip pressor", "orbicularis oris", "mouth"),
        ActionUnit(25, "Lips part", "depressor labii inferioris, or relaxed mentalis / orbicularis oris", "mouth"),
        ActionUnit(26, "Jaw drop", "masseter relaxed; temporalis and internal pterygoid relaxed", "jaw"),
        ActionUnit(43, "Eyes closed", "levator palpebrae superioris relaxed; orbicularis oculi, pars palpebralis", "eyes"),
        ActionUnit(45, "Blink", "levator palpebrae superioris relaxed; orbicularis oculi, pars palpebralis", "eyes"),
    )
}
"""The AUs of the course: FaceBehaviorNet's 17 plus eye closure (43) and blink (45)."""

AUS: tuple[int, ...] = tuple(AU_TABLE)
"""AU numbers in the fixed order of every AU-intensity array in the course."""

EYE_CLOSURE_AUS: tuple[int, ...] = (43, 45)
"""Eye closure and blink: in no expression's prototype; in clips, the blinks are distractors."""

EXPRESSION_AUS: tuple[int, ...] = tuple(au for au in AUS if au not in EYE_CLOSURE_AUS)
"""FaceBehaviorNet's 17 AUs: the course's AUs without eye closure and blink, in :data:`AUS` order."""

AU_INDEX: dict[int, int] = {au: i for i, au in enumerate(AUS)}
"""Column of each AU in an AU-intensity array."""

FACS_GRADES = {"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 1.0}
"""FACS intensity grades (trace, slight, marked, severe, maximum) as numbers in 0..1.

FACS grades are ordinal; spacing them evenly is this course's choice.
"""

# --- EMFACS prototypes --------------------------------------------------------------------------

PROTOTYPES: dict[str, dict[str, float]] = {
    "angry": {"4": 0.8, "5": 0.6, "7": 0.8, "23": 0.8},
    "disgust": {"9": 0.8, "10": 0.6, "15": 0.6, "17": 0.4},
    "fear": {"1": 0.8, "2": 0.6, "4": 0.6, "5": 0.8, "7": 0.4, "20": 0.8, "25": 0.6, "26": 0.4},
    "happy": {"6": 0.8, "12": 1.0, "25": 0.4},
    "sad": {"1": 0.8, "4": 0.6, "15": 0.8, "17": 0.4},
    "surprise": {"1": 1.0, "2": 1.0, "5": 0.6, "25": 0.6, "26": 0.8},
    "neutral": {},
    CONTEMPT: {"R12": 0.5, "R14": 0.8},
}
"""EMFACS prototype of each emotion: AU -> intensity at the expression's apex.

The AU sets follow EMFACS :cite:`friesen1983emfacs` as usually summarised
(happiness 6+12, sadness 1+4+15, surprise 1+2+5B+26, fear 1+2+4+5+7+20+26,
anger 4+5+7+23, disgust 9+15+16, contempt R12A+R14A).  Keys are AU numbers as strings;
a prefix ``R`` or ``L`` marks a unilateral AU on the person's right or left side (the
right side appears on the *left* of the image).  The intensities, and the two changes
listed in :data:`PROTOTYPE_NOTES`, are this course's choices.
"""

PROTOTYPE_NOTES = {
    "disgust": "EMFACS disgust is 9+15+16; AU16 (lower lip depressor) is not among the course's "
               "AUs, so the prototype uses 9+15 with AU10 and AU17 from Du et al. (2014).",
    "surprise": "EMFACS surprise is 1+2+5B+26; AU25 is added because a dropped jaw parts the lips.",
    "fear": "EMFACS fear is 1+2+4+5+7+20+26; AU25 is added because a dropped jaw parts the lips.",
    "happy": "EMFACS happiness is 6+12; AU25 (slight) is added for the open-lipped smile.",
    "sad": "EMFACS sadness is 1+4+15; AU17 (observed in 67% of sad faces, Du et al. 2014) is added.",
    "contempt": "Contempt is one-sided: R12A+R14A, the right lip corner tightened and raised.",
}

# --- Du, Tao & Martinez relationship table ------------------------------------------------------

RELATIONS: dict[str, dict[str, dict[int, float]]] = {
    "angry": {"prototypical": {4: 1.0, 7: 1.0, 24: 1.0},
              "observational": {10: 0.26, 17: 0.52, 23: 0.29}},
    "disgust": {"prototypical": {9: 1.0, 10: 1.0, 17: 1.0},
                "observational": {4: 0.31, 24: 0.26}},
    "fear": {"prototypical": {1: 1.0, 4: 1.0, 20: 1.0, 25: 1.0},
             "observational": {2: 0.57, 5: 0.63, 26: 0.33}},
    "happy": {"prototypical": {12: 1.0, 25: 1.0},
              "observational": {6: 0.51}},
    "sad": {"prototypical": {4: 1.0, 15: 1.0},
            "observational": {1: 0.60, 6: 0.50, 17: 0.67}},
    "surprise": {"prototypical": {1: 1.0, 2: 1.0, 25: 1.0, 26: 1.0},
                 "observational": {5: 0.66}},
    "neutral": {"prototypical": {}, "observational": {}},
    CONTEMPT: {"prototypical": {12: 1.0, 14: 1.0}, "observational": {}},
}
"""Emotion -> AU relationship: the AUs each emotion shows, with weights.

From Table 1 of Du, Tao & Martinez :cite:`du2014compound`, in the form FaceBehaviorNet
:cite:`kollias2021facebehaviornet` uses for its co-annotation and distribution-matching
losses: *prototypical* AUs (weight 1) are those all subjects showed; *observational* AUs
carry the fraction of subjects who showed them.  See :data:`RELATION_NOTES` for the
entries that had to be chosen.
"""

RELATION_NOTES = {
    "sad": "Du et al. also list AU11 (nasolabial deepener, 0.26) for sadness; it is not among "
           "the 17 AUs and is left out.",
    "neutral": "A neutral face shows no AU; the table has no row for it in Du et al., so it is empty here.",
    "contempt": "Du et al. do not study contempt; its row is the EMFACS prototype (12 and 14, weight 1), "
                "a choice of this course.",
}

# --- Russell's circumplex ---------------------------------------------------------------------

_CIRCUMPLEX_ANGLE = {
    "happy": 7.8,       # 'happy'
    "surprise": 69.8,   # 'astonished'
    "angry": 99.0,      # 'angry'
    "fear": 116.9,      # 'afraid'
    "disgust": 135.0,   # chosen: between 'annoyed' and 'distressed'
    CONTEMPT: 150.0,    # chosen: between 'distressed' and 'miserable'
    "sad": 207.5,       # 'sad'
}
_CIRCUMPLEX_RADIUS = 0.8

CIRCUMPLEX: dict[str, tuple[float, float]] = {
    emotion: (
        round(_CIRCUMPLEX_RADIUS * float(np.cos(np.radians(_CIRCUMPLEX_ANGLE[emotion]))), 3),
        round(_CIRCUMPLEX_RADIUS * float(np.sin(np.radians(_CIRCUMPLEX_ANGLE[emotion]))), 3),
    )
    if emotion in _CIRCUMPLEX_ANGLE else (0.0, 0.0)
    for emotion in EMOTIONS_WITH_CONTEMPT
}
"""(valence, arousal) of each emotion, each in -1..1.

Angles are those of the matching words in the direct circular scaling of Russell's
circumplex :cite:`russell1980circumplex` (happy 7.8 deg, astonished 69.8, angry 99.0,
afraid 116.9, sad 207.5).  Disgust and contempt are not on Russell's circle; their angles
(135 and 150 deg) are chosen.  The radius 0.8 for all emotions and neutral at the origin
are chosen too: only the direction carries Russell's finding.
"""

# --- parsing and vectors ---------------------------------------------------------------------------


def parse_au(key) -> tuple[int, str]:
    """Read an AU key: ``12``, ``"12"``, ``"AU12"``, ``"R12"``, ``"L14"`` -> (number, side).

    ``side`` is ``"both"``, ``"right"`` or ``"left"`` (the person's right and left).

    Raises
    ------
    ValueError
        naming the key when it is not an AU of :data:`AUS`.
    """
    side = "both"
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        number = int(key)
    elif isinstance(key, str):
        text = key.strip().upper()
        if text[:1] in ("R", "L") and not text.startswith("AU"):
            side = "right" if text[0] == "R" else "left"
            text = text[1:]
        if text.startswith("AU"):
            text = text[2:]
        if not text.isdigit():
            raise ValueError(
                f"{key!r} is not an action unit; write a number such as 12, 'AU12' or 'R12' "
                f"(one of {', '.join(map(str, AUS))})"
            )
        number = int(text)
    else:
        raise ValueError(f"action unit keys must be ints or strings such as 'AU12'; got {key!r}")
    if number not in AU_INDEX:
        raise ValueError(
            f"AU{number} (from key {key!r}) is not one of the course's action units: "
            f"{', '.join(map(str, AUS))}"
        )
    return number, side


def au_index(au) -> int:
    """Column of an AU (``12`` or ``"AU12"``) in AU-intensity arrays."""
    return AU_INDEX[parse_au(au)[0]]


def _check_intensity(key, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"intensity of {key!r} must be a number in 0..1; got {value!r}") from None
    if not (0.0 <= value <= 1.0):
        raise ValueError(f"intensity of {key!r} must lie in 0..1; got {value}")
    return value


def au_sides(aus) -> np.ndarray:
    """AU intensities per side: a (2, len(AUS)) float32 array, rows (person's right, left).

    Parameters
    ----------
    aus : mapping or array
        A mapping ``{AU: intensity}`` whose keys :func:`parse_au` reads (``"R14"`` acts on
        one side only), a (len(AUS),) vector (both sides alike), or a (2, len(AUS)) array.

    Raises
    ------
    ValueError
        for an unknown AU, an intensity outside 0..1 or an array of the wrong shape.
    """
    n = len(AUS)
    if isinstance(aus, Mapping):
        out = np.zeros((2, n), np.float32)
        for key, value in aus.items():
            number, side = parse_au(key)
            value = _check_intensity(key, value)
            j = AU_INDEX[number]
            if side in ("both", "right"):
                out[0, j] = max(out[0, j], value)
            if side in ("both", "left"):
                out[1, j] = max(out[1, j], value)
        return out
    arr = np.array(aus, dtype=np.float32, ndmin=1)
    if arr.shape == (n,):
        arr = np.vstack((arr, arr))
    if arr.shape != (2, n):
        raise ValueError(
            f"AU intensities must be a mapping, a ({n},) vector in the order of facs.AUS, "
            f"or a (2, {n}) array (right, left); got shape {arr.shape}"
        )
    if not (arr.min() >= 0 and arr.max() <= 1):  # written so that NaN fails too
        bad = np.argwhere(~((arr >= 0) & (arr <= 1)))[0]
        raise ValueError(
            f"AU intensities must lie in 0..1; AU{AUS[bad[-1]]} has {arr[tuple(bad)]}"
        )
    return arr


def au_vector(aus) -> np.ndarray:
    """AU intensities as a (len(AUS),) float32 vector in the order of :data:`AUS`.

    A unilateral AU (``"R14"``) counts with its intensity, as FACS codes it for AU
    detection.  ``au_vector({"AU12": 0.8, 6: 0.5})``.
    """
    return au_sides(aus).max(axis=0)


def au_dict(vector, threshold: float = 0.0) -> dict[int, float]:
    """The inverse of :func:`au_vector`: ``{AU number: intensity}`` for AUs above ``threshold``."""
    vector = au_vector(vector)
    return {au: round(float(v), 3) for au, v in zip(AUS, vector) if v > threshold}


def _check_emotion(emotion: str) -> str:
    if emotion not in PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}; valid: {', '.join(EMOTIONS_WITH_CONTEMPT)}")
    return emotion


def prototype_sides(emotion: str, intensity: float = 1.0) -> np.ndarray:
    """The EMFACS prototype of ``emotion`` as a (2, len(AUS)) per-side array, scaled."""
    _check_intensity("intensity", intensity)
    return au_sides(PROTOTYPES[_check_emotion(emotion)]) * np.float32(intensity)


def prototype_vector(emotion: str, intensity: float = 1.0) -> np.ndarray:
    """The EMFACS prototype of ``emotion`` as a (len(AUS),) vector, scaled by ``intensity``."""
    return prototype_sides(emotion, intensity).max(axis=0)


def valence_arousal(emotion: str, intensity: float = 1.0) -> tuple[float, float]:
    """(valence, arousal) of ``emotion`` expressed at ``intensity`` (0..1).

    The course's one affect rule: an expression sits on the circumplex in its emotion's
    direction (:data:`CIRCUMPLEX`), as far out as it is intense -- a faint smile is mildly
    pleasant, a neutral face sits at the origin.  The synthetic faces' ground truth and the
    face builder's reading both come from here.
    """
    v, a = CIRCUMPLEX[_check_emotion(emotion)]
    scale = _check_intensity("intensity", intensity)
    return v * scale, a * scale


def prototype_intensity(aus, emotion: str) -> float:
    """How strongly an AU vector expresses ``emotion``, in 0..1.

    The vector's projection on the emotion's EMFACS prototype, relative to the prototype's
    own length (1 for the prototype itself, 0.5 for it at half intensity), capped at 1;
    0 for ``neutral``, which has no AUs.
    """
    vec, proto = au_vector(aus), prototype_vector(emotion)
    if not proto.any():
        return 0.0
    return float(np.clip(vec @ proto / (proto @ proto), 0.0, 1.0))


def nearest_prototype(aus, emotions=EMOTIONS, return_scores: bool = False):
    """The emotion whose EMFACS prototype lies nearest (cosine) to an AU vector.

    Each prototype is compared with the AU vector *after* fitting its intensity, so a
    faint smile is still nearest to ``happy``; an all-zero vector is ``neutral``.  Blinks
    and eye closure (AU43, AU45) are ignored: they belong to no prototype.

    Parameters
    ----------
    aus : mapping or (len(AUS),) vector
    emotions : the candidates (default FER2013's seven).
    return_scores : also return ``{emotion: similarity}``.
    """
    v = au_vector(aus).astype(np.float64)
    keep = np.isin(AUS, EXPRESSION_AUS)
    v = v * keep
    norm_v = np.linalg.norm(v)
    scores = {}
    for emotion in emotions:
        p = prototype_vector(emotion).astype(np.float64) * keep
        norm_p = np.linalg.norm(p)
        if norm_p == 0:
            # neutral: near when the face barely moves (cosine has no direction for zero)
            scores[emotion] = float(1.0 - min(1.0, 3.0 * norm_v))
        else:
            scores[emotion] = float(v @ p / (norm_v * norm_p)) if norm_v > 0 else 0.0
    best = max(scores, key=scores.get)
    return (best, scores) if return_scores else best


AU_BACKGROUND_RATE = 0.04
"""Probability that an AU unrelated to the shown emotion is present (synthetic faces)."""

PROTOTYPE_KEEP_RATE = 0.85
"""Probability that a prototype AU is present in one sampled face (synthetic faces)."""


def au_probabilities(emotion: str) -> np.ndarray:
    """P(AU present | emotion) used to sample the synthetic faces, one per :data:`AUS`.

    An AU of the EMFACS prototype, or prototypical in :data:`RELATIONS`, is present with
    :data:`PROTOTYPE_KEEP_RATE`; an observational AU with ``PROTOTYPE_KEEP_RATE`` times its
    weight (its weight is the fraction of Du et al.'s subjects who showed it); any other AU
    with :data:`AU_BACKGROUND_RATE`, and blinks are handled apart (never from this table).
    These rates are the course's choice: they make some faces lack a telling AU and some
    show an unrelated one.
    """
    _check_emotion(emotion)
    p = np.full(len(AUS), AU_BACKGROUND_RATE, np.float64)
    rel = RELATIONS[emotion]
    for au, w in rel["observational"].items():
        p[AU_INDEX[au]] = max(p[AU_INDEX[au]], PROTOTYPE_KEEP_RATE * w)
    for au in rel["prototypical"]:
        p[AU_INDEX[au]] = PROTOTYPE_KEEP_RATE
    for key in PROTOTYPES[emotion]:
        p[AU_INDEX[parse_au(key)[0]]] = PROTOTYPE_KEEP_RATE
    p[AU_INDEX[43]] = p[AU_INDEX[45]] = 0.0
    return p


def au_table():
    """The AU table as a pandas DataFrame (for a chapter to display)."""
    import pandas as pd

    rows = []
    for au in AU_TABLE.values():
        shown_in = [e for e in EMOTIONS_WITH_CONTEMPT
                    if any(parse_au(k)[0] == au.number for k in PROTOTYPES[e])]
        rows.append({"AU": au.number, "name": au.name, "muscles": au.muscles,
                     "region": au.region, "in prototypes of": ", ".join(shown_in)})
    return pd.DataFrame(rows).set_index("AU")


# --- Du, Tao & Martinez compound expressions ------------------------------------------------------

COMPOUNDS: dict[str, dict] = {
    "happily surprised": {"emotions": ("happy", "surprise"), "aus": (1, 2, 12, 25)},
    "happily disgusted": {"emotions": ("happy", "disgust"), "aus": (10, 12, 25)},
    "sadly surprised": {"emotions": ("sad", "surprise"), "aus": (1, 4, 25, 26)},
    "sadly disgusted": {"emotions": ("sad", "disgust"), "aus": (4, 10)},
    "fearfully angry": {"emotions": ("fear", "angry"), "aus": (4, 20, 25)},
    "fearfully surprised": {"emotions": ("fear", "surprise"), "aus": (1, 2, 5, 20, 25)},
    "fearfully disgusted": {"emotions": ("fear", "disgust"), "aus": (1, 4, 10, 20, 25)},
    "angrily surprised": {"emotions": ("angry", "surprise"), "aus": (4, 25, 26)},
    "angrily disgusted": {"emotions": ("angry", "disgust"), "aus": (4, 10, 17)},
    "disgustedly surprised": {"emotions": ("disgust", "surprise"), "aus": (1, 2, 5, 10)},
}
"""Compound expressions: the two basic emotions each combines, and the AUs it shows.

From Table 1 of Du, Tao & Martinez :cite:`du2014compound`: the *consistently active* AUs of each
compound category, those shown by more than 70 % of their subjects.  The AUs the table lists in
brackets (shown by some subjects only, with their percentages) are left out.  See
:data:`COMPOUND_NOTES` for the categories left out.
"""

COMPOUND_NOTES = {
    "left out": "Du et al. study 15 compound categories; ten are kept here.  Sadly fearful, sadly angry, "
                "appalled, hatred and awed are left out: their AU sets could not be checked against the "
                "table with certainty here, and the last three are not named after two basic emotions.",
    "variants": "Only the consistently active AUs (more than 70 % of subjects) are kept; the variants each "
                "category shows in some subjects are not.",
    "names": "The component emotions are named as in fercourse.labels (happy, surprise, fear, angry, "
             "disgust, sad); Du et al. call them happily, surprised, fearfully, angrily, disgustedly, sadly.",
}
