"""A test video made by the course, with its ground truth in every frame.

A camera demo shows that a live pipeline runs; it cannot say how often it is right, because
nobody wrote down what each face was doing.  This module films synthetic faces instead
(:func:`fercourse.render.render_face`) and keeps the script: where each face is, which
expression it shows and when it changes, frame by frame.  With it the live pipeline's
per-frame accuracy, identity switches, flicker and latency can be *measured*
(:func:`fercourse.live_scores.score_run`).

The default scene, :func:`make_test_video`: a first face drifts, grows and shrinks, turns
its head (yaw) and tilts it (roll), going through the expressions on a fixed schedule; a
second face walks in from the right a third of the way through, changes expression on a
schedule of its own and walks out again.  Expressions change over a short transition in
which the action units blend from one prototype to the next (the label switches half-way).

Frames are RGB uint8, drawn on demand (:meth:`TestVideo.frame`), so a long video costs
no memory; :meth:`TestVideo.write` films it to a file with OpenCV
(:func:`fercourse.video.video_writer` says which codec it used, and falls back when one is
missing).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import facs, render
from .labels import EMOTIONS
from .video import video_writer

__all__ = ["Actor", "TestVideo", "make_test_video", "truth_box"]

BOX_PER_FACE_WIDTH = 1.2
"""Side of a ground-truth box over the face's width (ear to ear at the cheeks): the square a
frontal-face Haar cascade draws on these faces, from the hairline to the chin."""
BOX_BELOW_EYES = 0.09
"""How far the ground-truth box's centre lies below the eyes, as a fraction of its side."""
_PATCH_SCALE = 0.6  # render pose scale: the whole head, hair and chin fit in the patch


@dataclass
class Actor:
    """One face of the test video: who, where, and what it does when.

    ``path(t)`` gives ``(cx, cy, box_side, yaw, roll)`` at ``t`` seconds: the centre and side
    of its ground-truth box in frame pixels, head yaw (-1..1) and roll (degrees).
    ``schedule`` is a list of ``(start_seconds, emotion)``; ``enter``/``leave`` bound when it is
    in the scene.  ``tint`` colours the grey face (RGB multipliers).
    """

    face_id: int
    identity: render.Identity
    path: callable
    schedule: list
    enter: float = 0.0
    leave: float = math.inf
    intensity: float = 0.9
    transition: float = 0.3
    tint: tuple = (1.0, 0.86, 0.74)

    def expression(self, t: float):
        """``(aus_sides, emotion, blend)`` at ``t``: the blended AUs, the label, transition progress."""
        starts = [s for s, _ in self.schedule]
        k = int(np.searchsorted(starts, t, side="right")) - 1
        k = max(k, 0)
        start, emotion = self.schedule[k]
        target = facs.prototype_sides(emotion, self.intensity if emotion != "neutral" else 0.0)
        if k == 0 or self.transition <= 0:
            return target, emotion, 1.0
        blend = min(1.0, max(0.0, (t - start) / self.transition))
        previous = self.schedule[k - 1][1]
        source = facs.prototype_sides(previous, self.intensity if previous != "neutral" else 0.0)
        smooth = blend * blend * (3 - 2 * blend)        # smoothstep: a face eases in and out of a change
        label = emotion if blend >= 0.5 else previous
        return source + (target - source) * np.float32(smooth), label, blend


def truth_box(cx, cy, side) -> np.ndarray:
    """The (x, y, w, h) int box of side ``side`` centred on ``(cx, cy)``."""
    return np.rint([cx - side / 2, cy - side / 2, side, side]).astype(int)


@dataclass
class TestVideo:
    """A rendered scene and its ground truth (see the module's notes).

    ``truth`` is a pandas DataFrame with one row per frame and face in the scene: ``frame``,
    ``time``, ``face_id``, the box ``x, y, w, h``, ``emotion`` (the label),
    ``blend`` (1.0 outside transitions), ``transition`` (bool), ``inside`` (fraction of the
    box inside the frame), ``yaw`` and ``roll``.
    """

    width: int
    height: int
    fps: float
    n_frames: int
    actors: list
    background: np.ndarray
    seed: int = 0
    noise: float = 2.0
    truth: object = field(default=None, repr=False)

    __test__ = False  # not a pytest test class, whatever its name

    def __post_init__(self):
        if self.truth is None:
            self.truth = self._truth()

    def __len__(self) -> int:
        return self.n_frames

    @property
    def seconds(self) -> float:
        return self.n_frames / self.fps

    def _state(self, actor: Actor, t: float):
        cx, cy, side, yaw, roll = actor.path(t)
        return float(cx), float(cy), float(side), float(yaw), float(roll)

    def _truth(self):
        import pandas as pd

        rows = []
        for i in range(self.n_frames):
            t = i / self.fps
            for actor in self.actors:
                if not actor.enter <= t < actor.leave:
                    continue
                cx, cy, side, yaw, roll = self._state(actor, t)
                x, y, w, h = truth_box(cx, cy, side)
                ix = max(0, min(x + w, self.width) - max(x, 0))
                iy = max(0, min(y + h, self.height) - max(y, 0))
                if ix * iy == 0:
                    continue
                _, emotion, blend = actor.expression(t)
                rows.append(dict(frame=i, time=t, face_id=actor.face_id, x=x, y=y, w=w, h=h, emotion=emotion,
                                 blend=blend, transition=blend < 1.0, inside=ix * iy / (w * h), yaw=yaw, roll=roll))
        columns = ["frame", "time", "face_id", "x", "y", "w", "h", "emotion", "blend", "transition", "inside",
                   "yaw", "roll"]
        return pd.DataFrame(rows, columns=columns)

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as an (height, width, 3) RGB uint8 array."""
        if not 0 <= int(index) < self.n_frames:
            raise IndexError(f"frame {index} is outside the video's {self.n_frames} frames")
        t = int(index) / self.fps
        canvas = self.background.copy()
        for actor in self.actors:
            if actor.enter <= t < actor.leave:
                self._paste(canvas, actor, t)
        if self.noise > 0:  # sensor noise, from a fixed bank so that a frame is the same every time
            up, down = _noise_bank(self.height, self.width, self.noise)
            k = (int(index) * 7919 + self.seed) % (up.shape[0] - self.height)
            cv2.add(canvas, up[k:k + self.height], dst=canvas)          # saturating, in place
            cv2.subtract(canvas, down[k:k + self.height], dst=canvas)
        return canvas

    def frames(self, start: int = 0, stop: int | None = None):
        """Yield ``(time_seconds, frame)`` for frames ``start`` to ``stop`` (default: the end)."""
        stop = self.n_frames if stop is None else min(int(stop), self.n_frames)
        for i in range(int(start), stop):
            yield i / self.fps, self.frame(i)

    def _paste(self, canvas, actor: Actor, t: float):
        cx, cy, side, yaw, roll = self._state(actor, t)
        aus, _, _ = actor.expression(t)
        # The box is BOX_PER_FACE_WIDTH face widths; a face is 2 canonical units wide.
        unit = side / BOX_PER_FACE_WIDTH / 2
        patch = int(math.ceil(unit / (0.4 * _PATCH_SCALE)))      # render._SCALE = 0.4 of the patch
        pose = render.Pose(roll=roll, yaw=yaw, scale=_PATCH_SCALE)
        marks = render.landmarks(aus, actor.identity, pose, patch)
        eyes = marks[[render.IDX["iris.R"][0], render.IDX["iris.L"][0]]].mean(0)
        # Patch offset: put the eyes where the truth box says they are.
        ox = int(round(cx - eyes[0]))
        oy = int(round(cy - BOX_BELOW_EYES * side - eyes[1]))
        dark = dataclasses.replace(actor.identity, background=0.0)
        light = dataclasses.replace(actor.identity, background=1.0)
        face0 = render.render_face(aus, dark, pose, None, patch)
        face1 = render.render_face(aus, light, pose, None, patch)
        # Where the two renders differ is background; the difference is the transparency.
        alpha = 1.0 - cv2.subtract(face1, face0).astype(np.float32) * (1 / 160)
        alpha *= _fade(patch)[:, None]                                           # the neck fades out
        np.clip(alpha, 0.0, 1.0, out=alpha)
        x0, y0 = max(ox, 0), max(oy, 0)
        x1, y1 = min(ox + patch, self.width), min(oy + patch, self.height)
        if x1 <= x0 or y1 <= y0:
            return
        a = np.ascontiguousarray(alpha[y0 - oy:y1 - oy, x0 - ox:x1 - ox])
        grey = np.ascontiguousarray(face0[y0 - oy:y1 - oy, x0 - ox:x1 - ox])
        rgb = cv2.transform(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), np.diag(np.asarray(actor.tint, np.float32)))
        region = canvas[y0:y1, x0:x1]
        # One OpenCV call blends with a weight per pixel (NumPy took several ms a face).
        region[:] = cv2.blendLinear(rgb, np.ascontiguousarray(region), a, 1.0 - a)

    def write(self, path, *, progress: bool = False):
        """Film the video to ``path`` (``.mp4`` or ``.avi``); returns ``(path_written, codec)``.

        The file appears whole or not at all.  When no MP4 codec works, an ``.avi`` with
        Motion-JPEG is written beside it instead, and its path is returned.
        """
        frames = self.frames()
        if progress:
            from tqdm.auto import tqdm

            frames = tqdm(frames, total=self.n_frames, desc="filming", unit="frame")
        with video_writer(path, self.fps, (self.width, self.height)) as sink:
            for _, frame in frames:
                sink.write(frame)
        return sink.path, sink.codec


_NOISE = {}


def _noise_bank(height, width, sigma):
    """Gaussian noise split into what to add and what to subtract, as uint8 for saturating OpenCV ops."""
    key = (height, width, sigma)
    if key not in _NOISE:
        _NOISE.clear()
        noise = np.random.default_rng(12345).normal(0, sigma, (2 * height, width, 3))
        noise = np.rint(np.clip(noise, -255, 255))
        _NOISE[key] = (np.clip(noise, 0, None).astype(np.uint8), np.clip(-noise, 0, None).astype(np.uint8))
    return _NOISE[key]


@functools.lru_cache(maxsize=64)
def _fade(patch: int) -> np.ndarray:
    return np.clip((patch - np.arange(patch, dtype=np.float32)) / (0.15 * patch), 0.0, 1.0)


def _backdrop(width, height, rng) -> np.ndarray:
    """A quiet room: a lit wall, a window, a shelf, a floor, smooth enough not to look like faces."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    wall = np.array([196, 184, 160], np.float32) * (0.78 + 0.22 * (1 - y)) * (0.9 + 0.1 * x)
    image = np.broadcast_to(wall, (height, width, 3)).copy()
    floor = int(0.84 * height)
    image[floor:] = np.array([120, 96, 74], np.float32) * (0.9 + 0.1 * x[0])
    wx0, wy0 = int(0.62 * width), int(0.08 * height)
    cv2.rectangle(image, (wx0, wy0), (wx0 + int(0.3 * width), wy0 + int(0.3 * height)), (220, 232, 240), -1)
    cv2.rectangle(image, (wx0, wy0), (wx0 + int(0.3 * width), wy0 + int(0.3 * height)), (150, 140, 120), 4)
    cv2.rectangle(image, (int(0.04 * width), int(0.62 * height)), (int(0.3 * width), int(0.645 * height)),
                  (140, 110, 80), -1)
    image = cv2.GaussianBlur(image, (0, 0), 1.2)
    return np.clip(image + rng.normal(0, 3, image.shape[:2])[:, :, None], 0, 255).astype(np.uint8)


def _cycle(emotions, start, hold, seconds):
    schedule, t, k = [], start, 0
    while t < seconds:
        schedule.append((t, emotions[k % len(emotions)]))
        t += hold
        k += 1
    return schedule


def make_test_video(seconds: float = 12.0, *, fps: float = 15.0, size=(640, 480), faces: int = 2,
                    face_size=(150, 190), second_face_size: float = 140, hold: float = 1.5,
                    transition: float = 0.3, turn: float = 0.3, tilt: float = 6.0,
                    emotions=EMOTIONS, noise: float = 2.0, seed: int = 0) -> TestVideo:
    """The course's test scene (see the module's notes), with ground truth.

    Parameters
    ----------
    seconds, fps : length and frame rate.
    size : (width, height) of the frames.
    faces : 1 (one face, always in view) or 2 (a second face enters and leaves).
    face_size : the first face's box side varies between these two values (pixels); the
        tuned Haar parameters find faces from 60 pixels, and real webcam faces are 100-250.
    second_face_size : the second face's box side.
    hold, transition : seconds each expression lasts, and seconds of the change between two.
    turn, tilt : amplitude of the head's yaw (-1..1) and roll (degrees).
    emotions : the expressions each face goes through, in order (the first face starts
        neutral and cycles through them; the second starts half-way through the list).
    noise : sensor noise (grey levels, standard deviation).
    seed : identities and the backdrop.
    """
    width, height = (int(v) for v in size)
    if width < 160 or height < 120:
        raise ValueError(f"size={size!r}: frames must be at least 160x120 pixels")
    if faces not in (1, 2):
        raise ValueError(f"faces={faces!r}: the scene has 1 or 2 faces")
    if not seconds > 0 or not fps > 0:
        raise ValueError(f"seconds={seconds!r} and fps={fps!r} must be positive")
    for name in emotions:
        if name not in facs.PROTOTYPES:
            raise ValueError(f"unknown emotion {name!r} in emotions; valid: {', '.join(facs.PROTOTYPES)}")
    rng = np.random.default_rng(seed)
    n_frames = max(1, int(round(seconds * fps)))
    lo, hi = (float(v) for v in face_size)
    scale = min(width / 640, height / 480)
    lo, hi, second = lo * scale, hi * scale, second_face_size * scale
    order = ["neutral"] + [e for e in emotions if e != "neutral"]
    two = faces == 2
    # The first face keeps to the left when a second face will come in on the right.
    centre_x, sway = (0.36, 0.1) if two else (0.5, 0.18)

    def first_path(t):
        side = (lo + hi) / 2 + (hi - lo) / 2 * math.sin(2 * math.pi * t / 7.0)
        cx = width * (centre_x + sway * math.sin(2 * math.pi * t / 9.0))
        cy = height * (0.46 + 0.06 * math.sin(2 * math.pi * t / 5.0))
        return cx, cy, side, turn * math.sin(2 * math.pi * t / 4.0), tilt * math.sin(2 * math.pi * t / 6.0)

    def identity(background):
        person = render.Identity.random(rng)
        person.glasses = False           # the cascade's eyes must be visible at every yaw
        person.background = background
        return person

    actors = [Actor(0, identity(0.5), first_path, _cycle(order, 0.0, hold, seconds + hold),
                    transition=transition)]
    if two:
        enter, leave, walk = 0.3 * seconds, 0.75 * seconds, min(1.0, 0.08 * seconds)
        home, outside = 0.79 * width, width + second / 2

        def second_path(t):
            if t < enter + walk:
                u = (t - enter) / walk
            elif t > leave - walk:
                u = (leave - t) / walk
            else:
                u = 1.0
            u = min(1.0, max(0.0, u))
            cx = outside + (home - outside) * u
            return cx, height * 0.5, second, -0.6 * turn * math.sin(2 * math.pi * t / 5.0), 0.0

        half = len(order) // 2
        actors.append(Actor(1, identity(0.5), second_path,
                            _cycle(order[half:] + order[:half], enter, hold * 0.9, seconds + hold),
                            enter=enter, leave=leave, transition=transition, tint=(0.92, 0.78, 0.64)))
    return TestVideo(width, height, float(fps), n_frames, actors, _backdrop(width, height, rng),
                     seed=seed, noise=noise)
