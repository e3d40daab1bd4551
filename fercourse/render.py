"""The face renderer: action-unit intensities in, a grayscale face out.

A face is a set of *landmarks* (brows, lids, lips, jaw...) in a canonical frame where the
face is about 2 units wide, x to the image's right and y down.  Every movement is linear
in that frame, as in an active shape model::

    landmarks = template + identity @ IDENTITY_BASIS + aus_right @ AU_BASIS_RIGHT + aus_left @ AU_BASIS_LEFT

so one AU moves its own landmarks (AU12 pulls the lip corners up and out), whatever else
the face does.  AUs that show as skin folds rather than movement (forehead lines of AU1/2,
the vertical lines of AU4, the nose wrinkles of AU9, crow's feet of AU6, dimples of AU14)
darken a soft *shading* layer in proportion to their intensity.

Drawing is done with OpenCV's anti-aliased polygons at twice the output size and then
area-downsampled, which is what makes a 48x48 face look drawn rather than pixelated
while keeping the renderer fast (see ``benchmarks/bench_render.py`` for faces per second
on one core).  Identity, pose and lighting are small dataclasses with a
``random(rng)`` constructor.

The AU table itself (names, regions, prototypes) lives in :mod:`fercourse.facs`.

Why one module of about 800 lines, above the package's ~400: it holds one idea, a face model
and its drawing, and most of its length is data -- the landmark template, the movement of each
AU and identity shape, the polygons drawn.  The model and the drawing index the same private
tables (landmark groups, derived points, polygons); split in two, every change to the face
would touch both files, and a reader would hold both open to follow one face.  Its sections,
in order: the landmark template; AU movements; identity shapes; depth and derived points;
identity, pose and lighting; drawing; where each AU acts.
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass

import cv2
import numpy as np

from . import facs

__all__ = ["Identity", "Pose", "Lighting", "render_face", "render_faces", "au_region_masks",
           "REGION_BOXES", "SUPERSAMPLE"]

SUPERSAMPLE = 2
"""Drawing resolution relative to the output: 2 keeps edges smooth at 48x48 and stays fast."""

_SHIFT = 2  # OpenCV fixed-point bits: quarter-pixel precision, so small AU moves are continuous
_FIX = float(1 << _SHIFT)
_SCALE = 0.4  # canonical unit in output pixels, as a fraction of the image size (FER2013-like framing)
_CENTER = (0.5, 0.43)  # where the canonical origin (between the eyes, a bit below) lands

# --------------------------------------------------------------------------------------------
# The landmark template.  Side groups are given for the person's LEFT side (x > 0, the image's
# right) and mirrored; names ending in ".R" / ".L" are the person's right / left.
# --------------------------------------------------------------------------------------------


def _arc(x0, x1, y_ends, bulge, n, power=1.0):
    t = np.linspace(0.0, 1.0, n)
    x = x0 + (x1 - x0) * t
    y = y_ends[0] + (y_ends[1] - y_ends[0]) * t - bulge * np.sin(np.pi * t) ** power
    return np.stack([x, y], 1)


_SIDE_GROUPS = {
    "brow": np.array([[0.12, -0.45], [0.27, -0.51], [0.43, -0.54], [0.59, -0.52], [0.74, -0.46]]),
    "eye_up": _arc(0.22, 0.66, (-0.18, -0.20), 0.10, 7, 0.8),        # inner corner .. outer corner
    "eye_lo": _arc(0.22, 0.66, (-0.18, -0.20), -0.06, 7)[1:-1],       # 5 points under eye_up[1:6]
    "iris": np.array([[0.44, -0.19]]),
    "crease": _arc(0.26, 0.64, (-0.26, -0.28), 0.09, 5),
    "socket": np.array([[0.42, -0.31]]),
    "cheek": np.array([[0.56, 0.16]]),
    "ala": np.array([[0.14, 0.30]]),
    "nostril": np.array([[0.075, 0.36]]),
    "nose_side": np.array([[0.08, -0.14], [0.10, 0.08], [0.16, 0.26]]),
    "fold": np.array([[0.19, 0.33], [0.29, 0.50], [0.36, 0.71]]),
    "corner": np.array([[0.31, 0.685]]),
    "ulip_out": np.array([[0.21, 0.625], [0.075, 0.585]]),          # outer .. inner
    "ulip_in": np.array([[0.20, 0.680], [0.08, 0.683]]),
    "llip_in": np.array([[0.20, 0.686], [0.08, 0.690]]),
    "llip_out": np.array([[0.21, 0.765], [0.09, 0.805]]),
    "dimple": np.array([[0.37, 0.66]]),
    "outline": np.array([[0.42, -1.47], [0.74, -1.30], [0.93, -0.98], [1.00, -0.55], [1.00, -0.15],
                         [0.97, 0.22], [0.90, 0.55], [0.76, 0.86], [0.55, 1.08], [0.29, 1.21]]),
    "hairline": np.array([[0.95, -0.42], [0.84, -0.80], [0.47, -0.97]]),
    "ear": np.array([[1.00, -0.10]]),
}
_MID_GROUPS = {
    "m_top": [0.0, -1.52], "m_hair": [0.0, -1.02], "m_glabella": [0.0, -0.40],
    "m_bridge": [0.0, -0.05], "m_nosetip": [0.0, 0.28], "m_nosebot": [0.0, 0.36],
    "m_ulip_out": [0.0, 0.60], "m_ulip_in": [0.0, 0.683], "m_llip_in": [0.0, 0.690],
    "m_llip_out": [0.0, 0.825], "m_sulcus": [0.0, 0.93], "m_chin": [0.0, 1.24],
}


def _build_template():
    points, sides, index = [], [], {}
    k = 0
    for name, pts in _SIDE_GROUPS.items():
        for suffix, sign in ((".R", -1.0), (".L", 1.0)):
            p = pts.copy()
            p[:, 0] *= sign
            index[name + suffix] = np.arange(k, k + len(p))
            points.append(p)
            sides.append(np.full(len(p), sign))
            k += len(p)
    for name, pt in _MID_GROUPS.items():
        index[name] = np.array([k])
        points.append(np.array([pt]))
        sides.append(np.zeros(1))
        k += 1
    return np.concatenate(points), np.concatenate(sides), index


TEMPLATE, _SIDE, IDX = _build_template()
N_LANDMARKS = len(TEMPLATE)

# --------------------------------------------------------------------------------------------
# AU movements: per group, (dx, dy) per point for the person's left side; dx > 0 is away from
# the midline (mirrored for the right side).  Values are canonical units at intensity 1.
# --------------------------------------------------------------------------------------------

_t = _SIDE_GROUPS
_lid_gap = _t["eye_lo"][:, 1] - _t["eye_up"][1:-1, 1]  # how far the upper lid travels to close


def _v(*values):
    return np.array(values, dtype=np.float64)


_AU_MOVES = {
    1: {"brow": (0, -_v(0.14, 0.11, 0.06, 0.03, 0.01))},
    2: {"brow": (0, -_v(0.01, 0.03, 0.07, 0.11, 0.12))},
    4: {"brow": (-_v(0.06, 0.05, 0.035, 0.02, 0.01), _v(0.10, 0.09, 0.07, 0.05, 0.03)),
        "crease": (0, _v(0.02, 0.02, 0.015, 0.01, 0.0))},
    5: {"eye_up": (0, -_v(0, 0.035, 0.06, 0.07, 0.06, 0.035, 0)), "crease": (0, -0.035)},
    6: {"eye_lo": (0, -_v(0.03, 0.04, 0.045, 0.045, 0.04)), "eye_up": (0, _v(0, 0.01, 0.015, 0.015, 0.02, 0.02, 0.01)),
        "cheek": (0.02, -0.12)},
    7: {"eye_lo": (0, -_v(0.035, 0.05, 0.055, 0.05, 0.035)), "eye_up": (0, _v(0, 0.015, 0.025, 0.025, 0.025, 0.015, 0))},
    9: {"ala": (0.02, -0.05), "nostril": (0.01, -0.04), "nose_side": (0, _v(0, -0.01, -0.03)),
        "fold": (0, _v(-0.04, -0.02, 0.0)), "ulip_out": (0, -_v(0.01, 0.02))},
    10: {"ulip_out": (0, -_v(0.05, 0.07)), "ulip_in": (0, -_v(0.06, 0.08)), "m_ulip_out": (0, -0.07),
         "m_ulip_in": (0, -0.085), "fold": (0, _v(-0.03, -0.02, 0.0)), "ala": (0, -0.015), "corner": (0, -0.01)},
    12: {"corner": (0.07, -0.09), "ulip_out": (_v(0.04, 0.015), -_v(0.045, 0.01)),
         "ulip_in": (_v(0.045, 0.012), -_v(0.055, 0.012)), "llip_in": (_v(0.045, 0.012), -_v(0.05, 0.01)),
         "llip_out": (_v(0.035, 0.01), -_v(0.025, 0.005)), "m_llip_out": (0, -0.01),
         "fold": (_v(0.01, 0.03, 0.05), -_v(0.0, 0.03, 0.06)), "dimple": (0.05, -0.06)},
    14: {"corner": (-0.045, -0.015), "ulip_in": (_v(-0.02, 0), 0), "llip_in": (_v(-0.02, 0), 0),
         "ulip_out": (_v(-0.015, 0), 0), "llip_out": (_v(-0.015, 0), 0), "dimple": (-0.02, 0)},
    15: {"corner": (-0.005, 0.09), "ulip_out": (0, _v(0.04, 0.005)), "ulip_in": (0, _v(0.045, 0.01)),
         "llip_in": (0, _v(0.045, 0.01)), "llip_out": (0, _v(0.04, 0.01)), "dimple": (0, 0.05),
         "fold": (0, _v(0, 0, 0.03))},
    17: {"m_llip_out": (0, -0.07), "llip_out": (0, -_v(0.05, 0.07)), "llip_in": (0, -_v(0.02, 0.03)),
         "m_llip_in": (0, -0.035), "m_ulip_in": (0, -0.02), "ulip_in": (0, -_v(0.01, 0.02)),
         "m_sulcus": (0, -0.07), "m_chin": (0, -0.04), "corner": (0, 0.02)},
    20: {"corner": (0.08, 0.02), "ulip_out": (_v(0.05, 0.02), _v(0.015, 0.01)), "m_ulip_out": (0, 0.012),
         "ulip_in": (_v(0.05, 0.02), 0), "llip_in": (_v(0.05, 0.02), 0),
         "llip_out": (_v(0.05, 0.02), -_v(0.03, 0.035)), "m_llip_out": (0, -0.035), "fold": (_v(0, 0, 0.03), 0)},
    23: {"corner": (-0.05, 0), "ulip_out": (_v(-0.025, 0), 0.045), "m_ulip_out": (0, 0.045),
         "llip_out": (_v(-0.025, 0), -_v(0.05, 0.06)), "m_llip_out": (0, -0.06),
         "ulip_in": (_v(-0.03, -0.01), 0), "llip_in": (_v(-0.03, -0.01), 0)},
    24: {"ulip_out": (0, 0.05), "m_ulip_out": (0, 0.05), "llip_out": (0, -_v(0.07, 0.08)),
         "m_llip_out": (0, -0.085), "llip_in": (0, -0.01), "m_llip_in": (0, -0.01), "corner": (-0.015, 0)},
    25: {"ulip_in": (0, -_v(0.035, 0.045)), "m_ulip_in": (0, -0.045), "llip_in": (0, _v(0.05, 0.065)),
         "m_llip_in": (0, 0.07), "llip_out": (0, 0.03), "m_llip_out": (0, 0.03)},
    26: {"llip_in": (0, _v(0.13, 0.17)), "m_llip_in": (0, 0.18), "llip_out": (0, _v(0.14, 0.17)),
         "m_llip_out": (0, 0.18), "m_sulcus": (0, 0.18), "m_chin": (0, 0.17),
         "outline": (0, _v(0, 0, 0, 0, 0, 0, 0.02, 0.07, 0.12, 0.155)), "corner": (-0.02, 0.045),
         "ulip_in": (0, -_v(0.015, 0.02)), "m_ulip_in": (0, -0.02), "fold": (0, _v(0, 0.01, 0.04))},
    43: {"eye_up": (0, np.r_[0, _lid_gap, 0] * 1.05), "crease": (0, 0.03)},
    45: {"eye_up": (0, np.r_[0, _lid_gap, 0] * 1.05), "crease": (0, 0.03)},
}

# Identity: unit changes of face shape, each driven by a coefficient in -1..1.
_IDENTITY_MOVES = {
    "face_width": lambda p, s: np.c_[0.07 * p[:, 0] * (np.abs(p[:, 0]) > 0.7), 0 * s],
    "face_length": lambda p, s: np.c_[0 * s, 0.07 * np.clip(p[:, 1], 0, None) * (np.abs(p[:, 0]) > 0.5)
                                      + 0.05 * np.clip(p[:, 1] - 0.9, 0, None)],
    "jaw_width": lambda p, s: np.c_[0.09 * p[:, 0] * np.clip(p[:, 1], 0, 1) * (np.abs(p[:, 0]) > 0.45), 0 * s],
    "chin_length": lambda p, s: np.c_[0 * s, 0.06 * (p[:, 1] > 1.0)],
    "eye_spacing": lambda p, s: np.c_[0.035 * s * _in(p, (0.15, 0.75), (-0.45, -0.05)), 0 * s],
    "eye_size": lambda p, s: np.c_[0.08 * (np.abs(p[:, 0]) - 0.44) * s, 0.12 * (p[:, 1] + 0.19)]
    * _in(p, (0.2, 0.7), (-0.4, -0.09))[:, None],
    "brow_height": lambda p, s: np.c_[0 * s, -0.05 * _in(p, (0.1, 0.8), (-0.6, -0.4))],
    "brow_arch": lambda p, s: np.c_[0 * s, -0.04 * _in(p, (0.35, 0.65), (-0.6, -0.4))],
    "nose_length": lambda p, s: np.c_[0 * s, 0.045 * _in(p, (-0.01, 0.2), (0.2, 0.45))
                                      + 0.02 * _in(p, (-0.01, 0.4), (0.5, 0.85))],
    "nose_width": lambda p, s: np.c_[0.035 * s * _in(p, (0.05, 0.2), (0.25, 0.4)), 0 * s],
    "mouth_width": lambda p, s: np.c_[0.06 * p[:, 0] / 0.31 * _in(p, (0.0, 0.4), (0.55, 0.85)), 0 * s],
    "lip_thickness": lambda p, s: np.c_[0 * s, (-0.025 * _in(p, (-0.01, 0.25), (0.55, 0.64))
                                                + 0.035 * _in(p, (-0.01, 0.25), (0.75, 0.85)))],
    "forehead": lambda p, s: np.c_[0 * s, -0.12 * _in(p, (-0.01, 0.9), (-1.05, -0.75))
                                   - 0.06 * _in(p, (0.9, 1.0), (-0.5, -0.4))],
}


def _in(p, xr, yr):
    ax = np.abs(p[:, 0])
    return ((ax >= xr[0]) & (ax <= xr[1]) & (p[:, 1] >= yr[0]) & (p[:, 1] <= yr[1])).astype(float)


IDENTITY_SHAPES = tuple(_IDENTITY_MOVES)


def _build_bases():
    n_au = len(facs.AUS)
    right = np.zeros((n_au, N_LANDMARKS, 2))
    left = np.zeros((n_au, N_LANDMARKS, 2))
    for au, moves in _AU_MOVES.items():
        j = facs.AU_INDEX[au]
        for group, (dx, dy) in moves.items():
            d = np.stack(np.broadcast_arrays(np.asarray(dx, float), np.asarray(dy, float)), -1)
            if group.startswith("m_"):
                # a midline point follows both sides half each
                right[j, IDX[group]] += 0.5 * d
                left[j, IDX[group]] += 0.5 * d
            else:
                right[j, IDX[group + ".R"]] += d * [-1.0, 1.0]
                left[j, IDX[group + ".L"]] += d
    ident = np.stack([f(TEMPLATE, _SIDE) for f in _IDENTITY_MOVES.values()])
    return (right.reshape(n_au, -1), left.reshape(n_au, -1), ident.reshape(len(ident), -1))


_AU_RIGHT, _AU_LEFT, _IDENTITY_BASIS = _build_bases()
_FULL_BASIS = np.concatenate([_IDENTITY_BASIS, _AU_RIGHT, _AU_LEFT]).astype(np.float64)

# Depth of each landmark (how far it stands out of the face plane), for yaw.
_DEPTH = np.full(N_LANDMARKS, 0.12)
for _name, _d in (("m_nosetip", 0.45), ("m_nosebot", 0.35), ("m_bridge", 0.25), ("ala", 0.25),
                  ("nostril", 0.3), ("nose_side", 0.3), ("outline", -0.05), ("ear", -0.2),
                  ("hairline", 0.0), ("m_top", 0.0), ("m_hair", 0.05), ("m_chin", 0.2)):
    for _key in ([_name] if _name.startswith("m_") else [_name + ".R", _name + ".L"]):
        _DEPTH[IDX[_key]] = _d


# Derived points: each a fixed mix of landmarks plus an offset in the canonical frame (skin
# folds beside a lip corner, forehead lines above a brow, the neck below the jaw...).  Being
# linear, they are computed for all faces by one matrix product, and pose moves them with
# everything else.  Offsets of side groups are given for the person's left side and mirrored.
_TAPER = np.array([0.8, 1.0, 0.9, 0.7, 0.4])


def _build_derived():
    rows, offsets, thick, didx = [], [], [], {}

    def add(name, mix, offset, brow=None):
        """mix: list of {landmark index: weight} per point; offset (m, 2)."""
        start = N_LANDMARKS + len(rows)
        offset = np.asarray(offset, float).reshape(-1, 2)
        if len(offset) != len(mix):
            raise AssertionError(f"derived group {name}: {len(mix)} points, {len(offset)} offsets")
        for m, o in zip(mix, offset):
            w = np.zeros(N_LANDMARKS)
            for k, v in m.items():
                w[k] += v
            rows.append(w)
            offsets.append(o)
        thick.extend(np.zeros((len(mix), 2)) if brow is None else brow)
        didx[name] = np.arange(start, N_LANDMARKS + len(rows))

    def one(group, offsets_, sign=1.0, pick=None):
        ids = IDX[group] if pick is None else IDX[group][pick]
        off = np.array(offsets_, float).reshape(-1, 2) * [sign, 1.0]
        if len(off) == 1:
            off = np.repeat(off, len(ids), 0)
        return [{int(i): 1.0} for i in ids], off

    for side, sign in (("R", -1.0), ("L", 1.0)):
        b = IDX["brow." + side]
        t = 0.025 * _TAPER[:, None] * [0, 1]
        add("brow_top." + side, [{int(i): 1.0} for i in b], -t, brow=-0.03 * _TAPER[:, None] * [0, 1])
        add("brow_bot." + side, [{int(i): 1.0} for i in b], t, brow=0.03 * _TAPER[:, None] * [0, 1])
        for au, pick in ((1, slice(0, 3)), (2, slice(2, 5))):
            for i in range(3):
                add(f"forehead{au}_{i}.{side}", *one("brow." + side, [0, -(0.16 + 0.09 * i)], sign, pick))
        o = int(IDX["eye_up." + side][-1])
        add("crow." + side, [{o: 1.0}] * 6,
            np.array([[0.07, -0.05], [0.2, -0.11], [0.07, 0.02], [0.2, 0.044], [0.07, 0.09], [0.2, 0.198]]) * [sign, 1])
        add("bag6." + side, *one("eye_lo." + side, [0, 0.07]))
        add("bag7." + side, *one("eye_lo." + side, [0, 0.05]))
        low = np.r_[IDX["eye_up." + side][:1], IDX["eye_lo." + side], IDX["eye_up." + side][-1:]]
        add("lowskin." + side, [{int(i): 1.0} for i in low[::-1]], np.repeat([[0, 0.09]], len(low), 0))
        c = int(IDX["corner." + side][0])
        add("fold15." + side, [{c: 1.0}] * 2, np.array([[0.02, 0.04], [0.06, 0.2]]) * [sign, 1])
        add("fold20." + side, [{c: 1.0}] * 2, np.array([[0.04, -0.02], [0.16, 0.05]]) * [sign, 1])
        # the neck starts inside the jaw line and runs down the image
        chin, jaw, gl = int(IDX["m_chin"][0]), int(IDX["outline." + side][7]), int(IDX["m_glabella"][0])
        top = {chin: 0.2, jaw: 0.8}
        bottom = {chin: 0.2 + 1.3, jaw: 0.8, gl: -1.3}
        add("neck." + side, [top, bottom], np.zeros((2, 2)))
        # long hair: beside the face down to the shoulders
        back = IDX["outline." + side][:5]
        top_i = int(IDX["m_top"][0])
        add("hairback." + side, [{int(i): 1.0} for i in back] + [{top_i: 1.0}],
            np.r_[np.repeat([[0.12 * sign, 0]], 5, 0), [[1.2 * sign, 2.9]]])
    def ellipse(name, src, rx, ry, tilt=0.0, n=12, dy=0.0):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        c, s_ = np.cos(np.radians(tilt)), np.sin(np.radians(tilt))
        x, y = rx * np.cos(t), ry * np.sin(t)
        add(name, [{int(IDX[src][0]): 1.0}] * n, np.c_[c * x - s_ * y, s_ * x + c * y + dy])

    for side, sign in (("R", -1.0), ("L", 1.0)):
        ellipse("ear_poly." + side, "ear." + side, 0.1, 0.2)
        ellipse("nostril_poly." + side, "nostril." + side, 0.045, 0.025, tilt=-20 * sign, n=8)
        ellipse("ala_ring." + side, "ala." + side, 0.04, 0.06, n=8)
        ellipse("cheek_poly." + side, "cheek." + side, 0.24, 0.17)
        ellipse("socket_poly." + side, "socket." + side, 0.26, 0.11)
        ellipse("dimple_poly." + side, "dimple." + side, 0.03, 0.08, n=8)
    ellipse("nosetip_poly", "m_nosetip", 0.07, 0.06, n=8)
    ellipse("nose_shadow_poly", "m_nosebot", 0.13, 0.04, dy=0.03, n=10)
    ellipse("sulcus_poly", "m_sulcus", 0.16, 0.05, n=10)
    ellipse("chin_high_poly", "m_chin", 0.16, 0.08, dy=-0.15, n=10)
    ellipse("chin_shadow_poly", "m_chin", 0.5, 0.12, dy=0.12, n=14)
    ellipse("bulge_poly", "m_ulip_out", 0.2, 0.035, dy=-0.04, n=10)
    gl = int(IDX["m_glabella"][0])
    add("glabella_lines", [{gl: 1.0}] * 4, [[-0.06, -0.06], [-0.06, 0.09], [0.06, -0.06], [0.06, 0.09]])
    br = int(IDX["m_bridge"][0])
    add("nose_wrinkles", [{br: 1.0}] * 9,
        [[x, dy + (0.025 if x == 0 else 0)] for dy in (-0.12, -0.04, 0.04) for x in (-0.1, 0.0, 0.1)])
    for name, src, off in (("bulge", "m_ulip_out", [0, -0.04]), ("chin_high", "m_chin", [0, -0.15]),
                           ("chin_shadow", "m_chin", [0, 0.12]), ("nose_shadow", "m_nosebot", [0, 0.03])):
        add(name, [{int(IDX[src][0]): 1.0}], [off])
    # the hair cap stands a little off the skull (5 % out from the glabella)
    cap = np.r_[IDX["outline.R"][3::-1], IDX["m_top"], IDX["outline.L"][:4]]
    add("cap_top", [{int(i): 1.05, gl: -0.05} for i in cap], np.zeros((len(cap), 2)))
    hl = np.r_[IDX["hairline.L"], IDX["m_hair"], IDX["hairline.R"][::-1]]
    add("fringe", [{int(i): 1.0} for i in hl], np.c_[np.zeros(7), 0.3 * np.array([0.0, 0.5, 1.0, 1.1, 1.0, 0.5, 0.0])])
    return np.array(rows), np.array(offsets), np.array(thick), didx


_DERIVED_W, _DERIVED_O, _DERIVED_THICK, _DIDX = _build_derived()
IDX.update(_DIDX)
N_POINTS = N_LANDMARKS + len(_DERIVED_W)
# lids and lips must not cross when several AUs push them: upper <= lower (y grows down)
_UPPER = np.r_[IDX["eye_up.R"][1:-1], IDX["eye_up.L"][1:-1], IDX["ulip_in.R"], IDX["ulip_in.L"], IDX["m_ulip_in"]]
_LOWER = np.r_[IDX["eye_lo.R"], IDX["eye_lo.L"], IDX["llip_in.R"], IDX["llip_in.L"], IDX["m_llip_in"]]

_AU = facs.AU_INDEX

# --------------------------------------------------------------------------------------------
# Identity, pose, lighting
# --------------------------------------------------------------------------------------------

HAIR_STYLES = ("short", "long", "cropped", "fringe")
_shape_getter = operator.attrgetter(*IDENTITY_SHAPES)


@dataclass
class Identity:
    """Who the face belongs to: shape coefficients (-1..1) and tones (0 black .. 1 white)."""

    face_width: float = 0.0
    face_length: float = 0.0
    jaw_width: float = 0.0
    chin_length: float = 0.0
    eye_spacing: float = 0.0
    eye_size: float = 0.0
    brow_height: float = 0.0
    brow_arch: float = 0.0
    nose_length: float = 0.0
    nose_width: float = 0.0
    mouth_width: float = 0.0
    lip_thickness: float = 0.0
    forehead: float = 0.0
    skin: float = 0.62
    hair: float = 0.22
    brow_thickness: float = 0.5
    iris: float = 0.3
    lips: float = 0.82
    """Lip tone relative to the skin."""
    hair_style: int = 0
    glasses: bool = False
    background: float = 0.45
    fold_depth: float = 0.3
    """How marked the nasolabial folds are at rest (age)."""

    @classmethod
    def random(cls, rng) -> "Identity":
        u = rng.random(22)
        shape = {name: 1.6 * (u[i] - 0.5) * 1.25 for i, name in enumerate(IDENTITY_SHAPES)}
        skin = 0.38 + 0.5 * u[13]
        hair_dark = u[14] < 0.8
        return cls(
            **{k: float(np.clip(v, -1, 1)) for k, v in shape.items()},
            skin=float(skin),
            hair=float(0.05 + 0.25 * u[15]) if hair_dark else float(0.45 + 0.4 * u[15]),
            brow_thickness=float(0.2 + 0.8 * u[16]),
            iris=float(0.12 + 0.35 * u[17]),
            lips=float(0.72 + 0.18 * u[18]),
            hair_style=int(u[19] * len(HAIR_STYLES)) % len(HAIR_STYLES),
            glasses=bool(u[20] < 0.08),
            background=float(rng.random()),
            fold_depth=float(0.1 + 0.5 * u[21]),
        )

    def coefficients(self) -> np.ndarray:
        """The shape coefficients, in the order of :data:`IDENTITY_SHAPES`."""
        return np.array(_shape_getter(self), dtype=np.float64)


@dataclass
class Pose:
    """Head pose: in-plane rotation (degrees), scale, shift (fractions of the image), yaw (-1..1)."""

    roll: float = 0.0
    scale: float = 1.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    yaw: float = 0.0

    @classmethod
    def random(cls, rng, amount: float = 1.0) -> "Pose":
        u = rng.random(5) - 0.5
        return cls(roll=float(24 * amount * u[0]), scale=float(1 + 0.16 * amount * u[1]),
                   shift_x=float(0.08 * amount * u[2]), shift_y=float(0.08 * amount * u[3]),
                   yaw=float(0.6 * amount * u[4]))


@dataclass
class Lighting:
    """Light direction (degrees, 0 = from the image's right), strength of its gradient,
    contrast, brightness, gamma, sensor noise (gray levels) and blur (pixels)."""

    direction: float = 135.0
    strength: float = 0.15
    contrast: float = 1.0
    brightness: float = 0.0
    gamma: float = 1.0
    noise: float = 0.0
    blur: float = 0.0

    @classmethod
    def random(cls, rng) -> "Lighting":
        u = rng.random(7)
        return cls(direction=float(360 * u[0]), strength=float(0.3 * u[1]),
                   contrast=float(0.8 + 0.45 * u[2]), brightness=float(0.16 * (u[3] - 0.5)),
                   gamma=float(np.exp(0.5 * (u[4] - 0.5))), noise=float(5 * u[5] ** 2),
                   blur=float(0.6 * u[6] ** 2))


def _check_dataclass(value, cls, name):
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a fercourse.render.{cls.__name__} or None; got {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

_NOISE_BANK: dict[int, np.ndarray] = {}
_GRID: dict[int, tuple] = {}


def _noise_bank(size):
    # Sensor noise is cut at a random offset from a fixed bank of Gaussian noise (made once per
    # size, seeded): much cheaper than drawing fresh normals for every face.
    if size not in _NOISE_BANK:
        _NOISE_BANK[size] = np.random.default_rng(12345).standard_normal((4 * size, 4 * size)).astype(np.float32)
    return _NOISE_BANK[size]


def _grid(size):
    if size not in _GRID:
        g = np.linspace(-1, 1, size, dtype=np.float32)
        _GRID[size] = (g[None, :].repeat(size, 0), g[:, None].repeat(size, 1))
    return _GRID[size]


def landmarks(aus=None, identity=None, pose=None, size=48):
    """Landmark positions in output pixels: an (N_POINTS, 2) float array.

    The first ``N_LANDMARKS`` rows are the landmarks, the rest the points derived from them
    (fold lines, outlines); ``IDX[name]`` gives the rows of a group, e.g. ``IDX["corner.R"]``
    for the person's right lip corner.  Exposed so that a chapter can plot them over a face,
    or a test can measure a movement.
    """
    sides = facs.au_sides({} if aus is None else aus).astype(np.float64)
    identity = _check_dataclass(identity, Identity, "identity")
    pose = _check_dataclass(pose, Pose, "pose")
    return _landmarks(sides, identity, pose, size, 1.0)


def _landmarks(sides, identity, pose, size, factor):
    coef = np.concatenate([identity.coefficients(), sides[0], sides[1]])
    pts = TEMPLATE + (coef @ _FULL_BASIS).reshape(N_LANDMARKS, 2)
    pts[_UPPER, 1] = np.minimum(pts[_UPPER, 1], pts[_LOWER, 1])
    if pose.yaw:
        # a little yaw: features shift by their depth, the far half of the face narrows
        pts[:, 0] = pts[:, 0] * (1 - 0.12 * pose.yaw * np.sign(pts[:, 0])) + pose.yaw * 0.35 * _DEPTH
    pts = np.concatenate([pts, _DERIVED_W @ pts + _DERIVED_O + identity.brow_thickness * _DERIVED_THICK])
    s = _SCALE * size * pose.scale * factor
    c, sn = math.cos(math.radians(pose.roll)), math.sin(math.radians(pose.roll))
    rot = np.array([[c, sn], [-sn, c]]) * s
    offset = np.array([(_CENTER[0] + pose.shift_x) * size, (_CENTER[1] + pose.shift_y) * size]) * factor
    return pts @ rot + offset


def render_face(aus=None, identity=None, pose=None, lighting=None, size=48, rng=None) -> np.ndarray:
    """Draw one grayscale face.

    Parameters
    ----------
    aus : mapping ``{AU: intensity}`` (keys as :func:`fercourse.facs.parse_au` reads them,
        ``"R12"`` for one side), a ``(len(facs.AUS),)`` vector or a ``(2, len(facs.AUS))``
        (right, left) array; intensities in 0..1.  None: a neutral face.
    identity, pose, lighting : :class:`Identity`, :class:`Pose`, :class:`Lighting`, or None
        for the average face, frontal, softly lit from the upper left, without noise.
    size : output width and height in pixels (at least 16).
    rng : numpy Generator for the sensor noise (only used when ``lighting.noise > 0``).

    Returns
    -------
    (size, size) uint8 array.

    Raises
    ------
    ValueError
        for an unknown AU or an intensity outside 0..1 (from :func:`fercourse.facs.au_sides`).
    """
    if isinstance(aus, (str, bytes)):
        # An emotion's name is the likeliest string here; say how to draw one.
        raise ValueError(
            f"aus={aus!r}: expected AU intensities -- a mapping {{AU: intensity}} such as "
            f"{{12: 1.0, 6: 0.5}}, a ({len(facs.AUS)},) vector in the order of facs.AUS or a "
            f"(2, {len(facs.AUS)}) array; to draw an emotion pass its prototype, "
            f"facs.prototype_vector(name), with name one of {', '.join(facs.PROTOTYPES)}"
        )
    sides = facs.au_sides({} if aus is None else aus)
    identity = _check_dataclass(identity, Identity, "identity")
    pose = _check_dataclass(pose, Pose, "pose")
    lighting = _check_dataclass(lighting, Lighting, "lighting")
    if int(size) != size or size < 16:
        raise ValueError(f"size must be an integer of at least 16 pixels; got {size!r}")
    return _render(sides.astype(np.float64), identity, pose, lighting, int(size), rng)


def render_faces(aus, identities=None, poses=None, lightings=None, size=48, rng=None) -> np.ndarray:
    """Draw a batch: ``aus`` (N, len(AUS)) or (N, 2, len(AUS)); the others lists or None."""
    aus = np.asarray(aus, dtype=np.float32)
    n = len(aus)
    out = np.empty((n, size, size), np.uint8)
    for i in range(n):
        out[i] = render_face(aus[i], None if identities is None else identities[i],
                             None if poses is None else poses[i],
                             None if lightings is None else lightings[i], size, rng)
    return out


def _fix(p):
    return np.rint(p * _FIX).astype(np.int32)


def _cat(*names):
    return np.concatenate([IDX[n[1:]][::-1] if n.startswith("-") else IDX[n] for n in names])


# Index arrays of every polygon, made once: drawing then costs one fancy-index per shape.
_POLY = {
    "head": _cat("m_top", "outline.L", "m_chin", "-outline.R"),
    "cap": _cat("cap_top", "hairline.L", "m_hair", "-hairline.R"),
    "cap_fringe": _cat("cap_top", "fringe"),
    "hairback": _cat("hairback.L", "-hairback.R"),
    "neck": _cat("neck.R", "-neck.L"),
    "jaw": np.r_[IDX["outline.L"][5:], IDX["m_chin"], IDX["outline.R"][:4:-1]],
    "uin": _cat("corner.R", "ulip_in.R", "m_ulip_in", "-ulip_in.L", "corner.L"),
    "lin": _cat("corner.R", "llip_in.R", "m_llip_in", "-llip_in.L", "corner.L"),
    "uout": _cat("corner.R", "ulip_out.R", "m_ulip_out", "-ulip_out.L", "corner.L"),
    "lout": _cat("corner.R", "llip_out.R", "m_llip_out", "-llip_out.L", "corner.L"),
}
for _s in ("R", "L"):
    _POLY["brow." + _s] = _cat("brow_top." + _s, "-brow_bot." + _s)
    _POLY["eye." + _s] = _cat("eye_up." + _s, "-eye_lo." + _s)
    _POLY["lid." + _s] = _cat("eye_up." + _s, "-crease." + _s)
    _POLY["low." + _s] = np.r_[IDX["eye_up." + _s][:1], IDX["eye_lo." + _s], IDX["eye_up." + _s][-1:]]
    _POLY["lowskin." + _s] = np.r_[_POLY["low." + _s], IDX["lowskin." + _s]]
    _POLY["noseshade." + _s] = _cat("nose_side." + _s, "m_nosebot", "m_bridge")
_POLY["mouth"] = np.r_[_POLY["uin"], _POLY["lin"][::-1]]
_POLY["upper_lip"] = np.r_[_POLY["uout"], _POLY["uin"][::-1]]
_POLY["lower_lip"] = np.r_[_POLY["lin"], _POLY["lout"][::-1]]
_I = {name: int(idx[0]) for name, idx in IDX.items()}  # first point of each group, for centres
_POLY.update({"crease_in." + _s: IDX["crease." + _s][1:-1] for _s in ("R", "L")})
_SHAPES = {**{k: v for k, v in IDX.items()}, **_POLY}  # polygons win where a name is both


def _gather_table(names):
    """Rows of every shape a layer draws, and where each shape sits among them."""
    rows, where, k = [], {}, 0
    for name in names:
        idx = _SHAPES[name]
        rows.append(idx)
        where[name] = slice(k, k + len(idx))
        k += len(idx)
    return np.concatenate(rows), where


_CANVAS_ROWS, _CS = _gather_table(
    ["hairback", "neck", "head", "cap", "cap_fringe", "mouth", "upper_lip", "lower_lip", "uin", "lin"]
    + [f"{g}.{s}" for g in ("ear_poly", "brow", "eye", "lid", "lowskin", "eye_up", "low", "crease_in",
                            "nostril_poly", "ala_ring") for s in ("R", "L")])
_SHADE_ROWS, _SS = _gather_table(
    ["nosetip_poly", "nose_shadow_poly", "sulcus_poly", "chin_high_poly", "chin_shadow_poly", "jaw"]
    + [f"{g}.{s}" for g in ("cheek_poly", "socket_poly", "fold", "noseshade") for s in ("R", "L")])


def _render(sides, ident, pose, light, size, rng):
    S = SUPERSAMPLE
    big = size * S
    L = _landmarks(sides, ident, pose, size, S)
    P = _fix(L)  # every point in fixed point, at once
    Ps = _fix(L * (1.0 / S))  # the shading layer is drawn at the output size
    Q, Qs = P[_CANVAS_ROWS], Ps[_SHADE_ROWS]  # every shape's points in one gather per layer
    unit = _SCALE * size * pose.scale * S * _FIX  # canonical unit in fixed-point canvas pixels
    us = unit / S
    AA, SH = cv2.LINE_AA, _SHIFT
    aR, aL = sides[0].tolist(), sides[1].tolist()
    a = [max(x, y) for x, y in zip(aR, aL)]
    angle = -pose.roll
    skin = ident.skin * 255
    hair = ident.hair * 255
    fill, ell, lines = cv2.fillPoly, cv2.ellipse, cv2.polylines

    def ri(x):  # a radius, in fixed point
        return max(1, int(x * unit + 0.5))

    def ti(x):  # a line thickness on the canvas (OpenCV takes thickness in whole pixels)
        return max(1, int(x * unit / _FIX + 0.5))

    def ts(x):  # a line thickness on the shading layer
        return max(1, int(x * us / _FIX + 0.5))

    canvas = np.full((big, big), ident.background * 255, np.uint8)
    # hair behind the head, neck, ears, head, hair on top
    if ident.hair_style == 1:
        fill(canvas, [Q[_CS["hairback"]]], hair, AA, SH)
    fill(canvas, [Q[_CS["neck"]], Q[_CS["ear_poly.R"]], Q[_CS["ear_poly.L"]]], skin * 0.8, AA, SH)
    fill(canvas, [Q[_CS["head"]]], skin, AA, SH)
    fill(canvas, [Q[_CS["cap_fringe" if ident.hair_style == 3 else "cap"]]],
         hair if ident.hair_style != 2 else 0.5 * (skin + hair), AA, SH)

    # -- brows, eyes, nose, mouth --------------------------------------------------------------
    # brows take the hair colour, but stay darker than the skin even on fair hair
    fill(canvas, [Q[_CS["brow.R"]], Q[_CS["brow.L"]]], min(0.75 * hair + 0.15 * skin, 0.7 * skin), AA, SH)
    fill(canvas, [Q[_CS["eye.R"]], Q[_CS["eye.L"]]], 205 + 30 * ident.skin, AA, SH)
    ir = ri(0.085 * (1 + 0.1 * ident.eye_size))
    pr = ri(0.035)
    irises = P[[_I["iris.R"], _I["iris.L"]]].tolist()
    for c in irises:
        cv2.circle(canvas, c, ir, ident.iris * 255, -1, AA, SH)
        cv2.circle(canvas, c, pr, 20, -1, AA, SH)
    fill(canvas, [Q[_CS["lid.R"]], Q[_CS["lid.L"]], Q[_CS["lowskin.R"]], Q[_CS["lowskin.L"]]],
         skin * 0.94, AA, SH)
    lines(canvas, [Q[_CS["eye_up.R"]], Q[_CS["eye_up.L"]]], False, 35, ti(0.022), AA, SH)  # lashes
    lines(canvas, [Q[_CS["low.R"]], Q[_CS["low.L"]]], False, skin * 0.6, ti(0.012), AA, SH)
    lines(canvas, [Q[_CS["crease_in.R"]], Q[_CS["crease_in.L"]]], False, skin * 0.75, ti(0.012), AA, SH)
    fill(canvas, [Q[_CS["nostril_poly.R"]], Q[_CS["nostril_poly.L"]]], skin * 0.35, AA, SH)
    lines(canvas, [Q[_CS["ala_ring.R"]], Q[_CS["ala_ring.L"]]], True, skin * 0.8, 2, AA, SH)
    # mouth: the opening, teeth, then the lips over them
    uin, lin = Q[_CS["uin"]], Q[_CS["lin"]]
    if (lin[:, 1] - uin[:, 1]).max() > 0.4 * _FIX:
        fill(canvas, [Q[_CS["mouth"]]], 30, AA, SH)
        teeth = uin.copy()
        np.minimum(uin[:, 1] + int(0.085 * unit), lin[:, 1], out=teeth[:, 1])
        fill(canvas, [np.concatenate([uin[1:-1], teeth[-2:0:-1]])], 215, AA, SH)
    lip = ident.lips * skin
    fill(canvas, [Q[_CS["upper_lip"]]], lip * 0.92, AA, SH)
    fill(canvas, [Q[_CS["lower_lip"]]], lip, AA, SH)
    lines(canvas, [uin], False, lip * 0.45, ti(0.018), AA, SH)
    if ident.glasses:
        for c in irises:
            ell(canvas, c, (ri(0.2), ri(0.14)), angle, 0, 360, 50, ti(0.014), AA, SH)

    # -- shading (128 = unchanged), drawn at the output size: soft light and shadow, skin folds --
    shade = np.full((size, size), 128, np.uint8)
    # per side, or both sides in one call when the face is symmetric (nearly always)
    both = aR == aL
    for group in ((("R", "L"),) if both else (("R",), ("L",))):
        amt = aR if group[0] == "R" else aL
        fill(shade, [Qs[_SS["cheek_poly." + g]] for g in group], 136 + 12 * amt[_AU[6]] + 4 * amt[_AU[12]], AA, SH)
        fill(shade, [Qs[_SS["socket_poly." + g]] for g in group], 108 - 18 * amt[_AU[4]] - 8 * amt[_AU[7]], AA, SH)
        # nasolabial folds deepen with a smile, a sneer or a raised cheek
        depth = (ident.fold_depth * 12 + 30 * amt[_AU[12]] + 30 * amt[_AU[10]] + 25 * amt[_AU[9]]
                 + 10 * amt[_AU[6]])
        lines(shade, [Qs[_SS["fold." + g]] for g in group], False, 128 - depth, ts(0.05), AA, SH)
    fill(shade, [Qs[_SS["nosetip_poly"]]], 150, AA, SH)
    lx = math.cos(math.radians(light.direction))
    fill(shade, [Qs[_SS["noseshade." + ("L" if lx > 0 else "R")]]], 120 - 30 * abs(lx), AA, SH)
    fill(shade, [Qs[_SS["nose_shadow_poly"]]], 105, AA, SH)
    fill(shade, [Qs[_SS["sulcus_poly"]]], 112 - 30 * a[_AU[17]], AA, SH)
    if a[_AU[17]] > 0.01:  # mentalis bunches the chin: a highlight over a deeper sulcus
        fill(shade, [Qs[_SS["chin_high_poly"]]], 128 + 14 * a[_AU[17]], AA, SH)
    lines(shade, [Qs[_SS["jaw"]]], False, 110, ts(0.05), AA, SH)
    fill(shade, [Qs[_SS["chin_shadow_poly"]]], 80, AA, SH)
    if max(a) > 0.01:
        _wrinkles(shade, Ps, aR, aL, a, ts)

    # -- together at the output size, then lighting and noise ------------------------------------
    img = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    sh = cv2.GaussianBlur(shade.astype(np.float32), (5, 5), 1.0)
    X, Y = _grid(size)
    d = math.radians(light.direction)
    sh *= 1 / 128
    if light.strength:
        sh *= 1 + light.strength * (math.cos(d) * X - math.sin(d) * Y)
    img *= sh
    if light.blur > 0.05:
        img = cv2.GaussianBlur(img, (5, 5), light.blur)
    if light.noise > 0:
        if rng is None:
            rng = np.random.default_rng(0)
        i, j = rng.integers(0, 3 * size, 2)
        img += light.noise * _noise_bank(size)[i:i + size, j:j + size]
    if light.contrast != 1.0 or light.brightness:
        img *= light.contrast
        img += 128 * (1 - light.contrast) + 255 * light.brightness
    out = np.clip(img, 0, 255, out=img).astype(np.uint8)
    if light.gamma != 1.0:  # through a lookup table, one per gamma step of 0.01
        out = cv2.LUT(out, _gamma_table(round(light.gamma, 2)))
    return out


@functools.lru_cache(maxsize=512)
def _gamma_table(gamma):
    return np.rint(255 * (np.arange(256) / 255) ** gamma).astype(np.uint8)


def _wrinkles(shade, P, aR, aL, a, ts):
    """Skin folds that show an AU more than any movement does: darker with intensity."""
    AA, SH = cv2.LINE_AA, _SHIFT
    lines = cv2.polylines
    for side, amt in (("R", aR), ("L", aL)):
        for au in (1, 2):  # forehead lines over the inner (AU1) or outer (AU2) brows
            k = amt[_AU[au]]
            if k > 0.01:
                lines(shade, [P[IDX[f"forehead{au}_{i}.{side}"]] for i in range(3)], False, 128 - 40 * k,
                      ts(0.022), AA, SH)
        k = amt[_AU[6]]
        if k > 0.01:  # AU6: crow's feet and the bulge under the eye
            crow = P[IDX["crow." + side]]
            lines(shade, [crow[0:2], crow[2:4], crow[4:6]], False, 128 - 45 * k, ts(0.02), AA, SH)
            lines(shade, [P[IDX["bag6." + side]]], False, 128 - 35 * k, ts(0.03), AA, SH)
        k = amt[_AU[7]]
        if k > 0.01:  # AU7: the tightened lower lid bulges
            lines(shade, [P[IDX["bag7." + side]]], False, 128 - 30 * k, ts(0.025), AA, SH)
        k = amt[_AU[14]]
        if k > 0.01:  # AU14: a dimple beside the lip corner
            cv2.fillPoly(shade, [P[IDX["dimple_poly." + side]]], 128 - 90 * k, AA, SH)
        k = amt[_AU[15]]
        if k > 0.01:  # AU15: the depressor's fold below the lip corner
            lines(shade, [P[IDX["fold15." + side]]], False, 128 - 40 * k, ts(0.03), AA, SH)
        k = amt[_AU[20]]
        if k > 0.01:  # AU20: stretched lips pull a fold out toward the jaw
            lines(shade, [P[IDX["fold20." + side]]], False, 128 - 35 * k, ts(0.03), AA, SH)
    k = a[_AU[4]]
    if k > 0.01:  # AU4: vertical lines between the brows
        g = P[IDX["glabella_lines"]]
        lines(shade, [g[0:2], g[2:4]], False, 128 - 55 * k, ts(0.025), AA, SH)
    k = a[_AU[9]]
    if k > 0.01:  # AU9: wrinkles across the bridge of the nose
        w = P[IDX["nose_wrinkles"]]
        lines(shade, [w[0:3], w[3:6], w[6:9]], False, 128 - 50 * k, ts(0.025), AA, SH)
    k = max(a[_AU[24]], 0.6 * a[_AU[23]])
    if k > 0.01:  # AU23/AU24: the lips roll in and the skin above them bulges
        cv2.fillPoly(shade, [P[IDX["bulge_poly"]]], 128 - 40 * k, AA, SH)


# --------------------------------------------------------------------------------------------
# Where each AU acts
# --------------------------------------------------------------------------------------------

REGION_BOXES = {
    "brows": ((-0.95, 0.95), (-1.05, -0.26)),
    "eyes": ((-0.85, 0.85), (-0.46, 0.02)),
    "cheeks": ((-0.95, 0.95), (-0.46, 0.42)),
    "nose": ((-0.38, 0.38), (-0.46, 0.64)),
    "mouth": ((-0.62, 0.62), (0.26, 1.0)),
    "chin": ((-0.6, 0.6), (0.52, 1.4)),
    "jaw": ((-0.95, 0.95), (0.45, 1.45)),
}
"""Each face region as a box (x range, y range) in the canonical frame (see the module doc)."""


def au_region_masks(size: int = 48) -> dict[int, np.ndarray]:
    """Where each AU acts on the average, frontal face: ``{AU: (size, size) bool mask}``.

    The mask is the box of the AU's region (:data:`REGION_BOXES`, region from
    :data:`fercourse.facs.AU_TABLE`).  Tests use it to check that an AU changes its own
    region and little else; chapters use it to ask whether a filter looks where an AU acts.
    """
    cols = (np.arange(size) + 0.5 - _CENTER[0] * size) / (_SCALE * size)
    rows = (np.arange(size) + 0.5 - _CENTER[1] * size) / (_SCALE * size)
    out = {}
    for au, info in facs.AU_TABLE.items():
        (x0, x1), (y0, y1) = REGION_BOXES[info.region]
        out[au] = ((rows[:, None] >= y0) & (rows[:, None] <= y1) & (cols[None, :] >= x0) & (cols[None, :] <= x1))
    return out
