"""The live pipeline: from a camera or a video to an emoji over each face, timed stage by stage.

mememoji's end point was a webcam demo; this is the course's, measured.  One object,
:class:`LivePipeline`, takes a frame and gives it back annotated::

    frame ─► grey ─► detect (every k-th frame) ─► track ─► crop ─► model (all faces, one batch)
          ─► smooth (per face, over time) ─► draw (emoji + probability bars) ─► frame

* **detect**: the Haar cascade with chapter 2's tuned parameters
  (:data:`fercourse.faces.TUNED_PARAMS`), on every ``detect_every``-th frame only: at 640x480
  it is the slowest stage, and faces move little in a few frames;
* **track**: boxes found are matched to the faces already followed by overlap (IoU), so each
  face keeps an id; between detections each box moves on at its last velocity, and on a
  detection it moves part of the way to the new box (``box_smoothing``), which steadies it;
* **crop**: the mememoji crop (:func:`fercourse.faces.crop_faces`) at the model's input size;
* **model**: every face of the frame in one batch through a compiled predict function
  (``model.predict_on_batch``): calling the model eagerly costs several times more per frame;
* **smooth**: an exponential moving average of each face's probabilities with time constant
  ``smoothing`` seconds (:func:`ema`), so the emoji stops flickering between close classes;
* **draw**: :mod:`fercourse.emoji`.

Every stage is timed on every frame (:attr:`FrameResult.timings`, milliseconds).
:func:`process_video` runs a file through it (``fercourse live VIDEO --out annotated.mp4``),
:func:`run_camera` a camera, in a window or in a notebook.  Reading, writing and showing video
is :mod:`fercourse.video`'s; measuring a run (accuracy against the test video, flicker,
latency) is :mod:`fercourse.live_scores`'s.

Why one module of about 620 lines, above the package's ~400: it is one idea, the pipeline.  Its
stages (smoothing, the model's input checks, tracking, drawing) and the two loops that drive it
(a file, a camera) are written against the same records, :class:`FaceRecord` and
:class:`FrameResult`, and the same pipeline settings, and a reader follows a frame through them
in order.  :func:`calibrate` and the smoothing helpers are what would move out first if it grew.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import atomic, emoji, faces
from .labels import EMOTIONS, EMOTIONS_MERGED, EMOTIONS_WITH_CONTEMPT
from .live_scores import latency_summary, match_boxes
from .video import (FrameWindow, NotebookViewer, capture_frames, check_writable, open_camera, open_video,
                    video_writer)

__all__ = ["STAGES", "FaceRecord", "FrameResult", "LivePipeline", "ema", "resmooth", "calibrate",
           "model_input", "load_model", "default_class_names", "process_video", "run_camera", "annotate",
           "VideoSummary", "results_csv"]

STAGES = ("grey", "detect", "track", "crop", "model", "smooth", "draw")
"""The pipeline's stages, in order; each frame's :attr:`FrameResult.timings` has one entry per
stage plus ``total`` (milliseconds)."""

_ID_COLORS = [(255, 255, 255), (255, 220, 80), (120, 220, 255), (255, 140, 200), (160, 255, 140)]


# --------------------------------------------------------------------------- smoothing

def ema(previous, current, dt: float, tau: float) -> np.ndarray:
    """One step of an exponential moving average with time constant ``tau`` seconds.

    ``previous + (1 - exp(-dt / tau)) * (current - previous)``: after ``tau`` seconds of a
    constant input, 63 % of the way there.  Written with the time step rather than a fixed
    weight per frame, the smoothing means the same at 10 and at 30 frames per second.
    ``tau = 0`` (or no ``previous``) returns ``current``.
    """
    current = np.asarray(current, dtype=np.float64)
    if previous is None or tau <= 0:
        return current
    weight = 1.0 - math.exp(-max(float(dt), 0.0) / float(tau))
    return previous + weight * (current - previous)


def resmooth(results, tau: float, class_names=None):
    """The same run as if the pipeline had smoothed with time constant ``tau``: new results.

    Smoothing acts on the model's probabilities alone, so a run recorded once (its ``raw``
    probabilities and time stamps, per face id) can be re-smoothed with any constant without
    running the detector or the model again.  Labels are recomputed with ``class_names``
    (default: the recorded ones stay wherever the argmax does not move).
    """
    if not tau >= 0:
        raise ValueError(f"tau={tau!r} must be >= 0 seconds")
    state, out = {}, []
    for result in results:
        faces_out = []
        for r in result.faces:
            previous, t_prev = state.get(r.face_id, (None, None))
            probs = ema(previous, r.raw, result.time - t_prev if t_prev is not None else 0.0, tau)
            state[r.face_id] = (probs, result.time)
            label = class_names[int(np.argmax(probs))] if class_names is not None else r.label
            faces_out.append(FaceRecord(r.face_id, r.box, probs, r.raw, label, r.detected, r.crop))
        out.append(FrameResult(result.index, result.time, faces_out, result.timings, result.detected))
    return out


# --------------------------------------------------------------------------- the model

def default_class_names(n: int):
    """The course's class names for a model with ``n`` outputs (7: FER2013's, 6: mememoji's, 8: + contempt)."""
    known = {len(EMOTIONS): EMOTIONS, len(EMOTIONS_MERGED): EMOTIONS_MERGED,
             len(EMOTIONS_WITH_CONTEMPT): EMOTIONS_WITH_CONTEMPT}
    if n not in known:
        raise ValueError(f"the model has {n} outputs; the course's class lists have 6, 7 or 8: "
                         "pass class_names for the model's classes")
    return known[n]


def model_input(model) -> tuple[int, int]:
    """``(side, channels)`` of the face crops ``model`` takes; a clear error when it takes none.

    ``channels`` is 0 for a model taking ``(S, S)`` arrays without a channel axis.

    The live pipeline feeds square face crops, grey (``(S, S, 1)`` or ``(S, S)``) or grey
    repeated into three channels (``(S, S, 3)``), in 0..255 as the course's models take them.
    """
    shape = getattr(model, "input_shape", None)
    name = getattr(model, "name", type(model).__name__)
    if isinstance(shape, list) or isinstance(shape, dict):
        raise ValueError(f"model {name} takes {len(shape)} inputs; the live pipeline feeds one image per face")
    if shape is None or len(shape) not in (3, 4):
        raise ValueError(f"model {name} takes inputs of shape {shape}; the live pipeline feeds "
                         "square face crops (S, S, 1) or (S, S, 3)")
    side_h, side_w = shape[1], shape[2]
    channels = 1 if len(shape) == 3 else shape[3]
    if side_h is None or side_w is None or side_h != side_w or channels not in (1, 3) or side_h < 8:
        raise ValueError(f"model {name} takes images of shape {tuple(shape[1:])}; the live pipeline feeds "
                         "square face crops (S, S, 1) or (S, S, 3) with S >= 8")
    return int(side_h), int(channels) if len(shape) == 4 else 0


def default_model(verbose: int = 0):
    """The course's expression network, :func:`fercourse.course_model` (trained once, then cached)."""
    from .cached_model import course_model

    return course_model(verbose=verbose)


def load_model(path):
    """Load a Keras model saved as ``.keras`` (or legacy ``.h5``), with errors that name the file."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    if path.suffix not in (".keras", ".h5"):
        raise ValueError(f"model file {path} is not a Keras model (expected a .keras or .h5 file)")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many kinds for a damaged file: report one clearly
        raise ValueError(f"could not load the Keras model {path}: {type(error).__name__}: {error}") from error


def calibrate(model, crops, labels, *, epochs: int = 30, batch_size: int = 32, learning_rate: float = 3e-3,
              seed: int | None = None, verbose=0):
    """A copy of ``model`` whose last layer is retrained on a few labelled crops of the user's face.

    The cure for a live model that sees faces unlike its training faces (other cameras,
    lighting, framing, people): film the user making each expression for a second or two,
    crop those frames with the live pipeline itself (so the framing is the live framing), and
    retrain the classifier on top of the network's features, which stay frozen.  With a
    hundred crops that takes seconds, and cannot overfit the millions of weights below.
    Training goes through :func:`fercourse.train.fit` (flips, no early stopping: there is no
    validation set).  ``model`` itself is left unchanged.
    """
    import keras

    from . import train

    crops = np.asarray(crops)
    labels = np.asarray(labels)
    if crops.ndim != 3 or len(crops) != len(labels) or len(crops) == 0:
        raise ValueError(f"calibrate needs (N, S, S) crops and N labels; got {crops.shape} and {labels.shape}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for layer in copy.layers[:-1]:
        layer.trainable = False
    copy.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    train.fit(copy, (crops, labels), epochs=epochs, batch_size=batch_size, augment="flip", early_stopping=False,
              seed=seed, verbose=verbose)
    return copy


# --------------------------------------------------------------------------- records

@dataclass
class FaceRecord:
    """One face in one frame: its id, box (x, y, w, h), smoothed and raw probabilities."""

    face_id: int
    box: tuple
    probs: np.ndarray
    raw: np.ndarray
    label: str
    detected: bool
    """True when the box came from the detector on this frame, False when it was carried."""
    crop: np.ndarray | None = field(default=None, repr=False)
    """The (S, S) uint8 crop the model saw (for inspecting errors, or calibrating on them)."""


@dataclass
class FrameResult:
    """What :meth:`LivePipeline.process` returns for a frame."""

    index: int
    time: float
    faces: list
    timings: dict
    detected: bool
    """Whether the detector ran on this frame."""
    image: np.ndarray | None = field(default=None, repr=False)


@dataclass
class _Track:
    face_id: int
    box: np.ndarray               # float (x, y, w, h)
    last_box: np.ndarray          # the last detected box
    last_index: int               # the frame it was detected on
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    missed: int = 0
    probs: np.ndarray | None = None
    time: float | None = None


# --------------------------------------------------------------------------- the pipeline

class LivePipeline:
    """Frames in, annotated frames and per-face predictions out (see the module's notes).

    Parameters
    ----------
    model : a ``keras.Model`` taking square face crops (see :func:`model_input`) and giving
        class probabilities.
    detect_every : run the detector on every k-th frame (1: every frame).
    smoothing : time constant of the probabilities' moving average, in seconds (0: none).
    margin : the crop's margin around the box, as a fraction of its side
        (:func:`fercourse.faces.crop_faces`); match how the model's training faces were framed.
    class_names : the model's classes in output order (default from its number of outputs).
    detect_params : keyword arguments of :func:`fercourse.faces.detect_faces` (default: the tuned
        Haar parameters of chapter 2).
    min_iou : a box found continues a face when they overlap at least this much.
    box_smoothing : on a detection, how much of the carried box to keep (0: jump to the box found).
    max_missed : detections a face may go unseen before it is dropped.
    fps : the frame rate assumed when :meth:`process` gets no time stamps.
    draw : annotate the frames (False: only predictions and timings, for measuring).
    clock : what the stages are timed with: ``time.perf_counter`` (wall time, the default: what a
        viewer waits) or ``time.process_time`` (CPU time of this process, which other programs
        sharing the machine move much less).
    """

    def __init__(self, model, *, detect_every: int = 3, smoothing: float = 0.3, margin: float = 0.1,
                 class_names=None, detect_params=None, min_iou: float = 0.3, box_smoothing: float = 0.3,
                 max_missed: int = 1, fps: float = 30.0, draw: bool = True, clock=time.perf_counter):
        self.crop_size, self.channels = model_input(model)
        n_out = int(model.output_shape[-1])
        self.class_names = tuple(default_class_names(n_out) if class_names is None else class_names)
        if len(self.class_names) != n_out:
            raise ValueError(f"{len(self.class_names)} class names for a model with {n_out} outputs")
        if int(detect_every) != detect_every or detect_every < 1:
            raise ValueError(f"detect_every={detect_every!r} must be a positive integer")
        if not smoothing >= 0:
            raise ValueError(f"smoothing={smoothing!r} must be >= 0 seconds")
        if not margin >= 0:
            raise ValueError(f"margin={margin!r} must be >= 0")
        if not 0 <= box_smoothing < 1:
            raise ValueError(f"box_smoothing={box_smoothing!r} must be in [0, 1)")
        if not fps > 0:
            raise ValueError(f"fps={fps!r} must be positive")
        self.model = model
        self.detect_every = int(detect_every)
        self.smoothing = float(smoothing)
        self.margin = float(margin)
        self.detect_params = dict(faces.TUNED_PARAMS if detect_params is None else detect_params)
        self.min_iou = float(min_iou)
        self.box_smoothing = float(box_smoothing)
        self.max_missed = int(max_missed)
        self.fps = float(fps)
        self.draw = bool(draw)
        self.clock = clock
        self._predict = model.predict_on_batch
        self.reset()
        self.warm_up()

    def reset(self) -> None:
        """Forget the faces followed so far and start counting frames from 0."""
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._index = 0

    def warm_up(self) -> None:
        """Compile the predict function for batches of one and of two faces.

        The first call of a Keras predict function traces it (hundreds of milliseconds); a
        live stream should not pay that on its first frames, nor again when a second face
        arrives (after two batch sizes the function is traced for any).
        """
        for n in (1, 2):
            shape = (n, self.crop_size, self.crop_size) + ((self.channels,) if self.channels else ())
            self._predict(np.zeros(shape, np.float32))

    # ---- one frame
    def process(self, frame, timestamp: float | None = None) -> FrameResult:
        """Run one frame (RGB, or grey, uint8) through the pipeline; see :class:`FrameResult`.

        ``timestamp`` (seconds) drives the smoothing; by default frames are ``1/fps`` apart.
        """
        clock = self.clock
        timings = dict.fromkeys(STAGES, 0.0)
        start = clock()
        frame = np.asarray(frame)
        if frame.ndim not in (2, 3) or frame.dtype != np.uint8 or frame.size == 0:
            raise ValueError(f"frame {self._index} is {frame.dtype} {frame.shape}; expected an (H, W, 3) RGB "
                             "or (H, W) grey uint8 image")
        index = self._index
        t = index / self.fps if timestamp is None else float(timestamp)
        gray = faces.to_gray(frame, name=f"frame {index}")
        t1 = clock()
        timings["grey"] = t1 - start

        detect = index % self.detect_every == 0
        boxes = faces.detect_faces(gray, **self.detect_params) if detect else None
        t2 = clock()
        timings["detect"] = t2 - t1 if detect else 0.0
        detected_ids = self._update_tracks(boxes, index)
        tracks = list(self._tracks)
        t3 = clock()
        timings["track"] = t3 - t2

        records = []
        if tracks:
            crop_boxes = np.rint([tr.box for tr in tracks]).astype(int)
            crops = faces.crop_faces(gray, crop_boxes, size=self.crop_size, margin=self.margin)
            x = crops.astype(np.float32)
            if self.channels:
                x = x[..., None]
            if self.channels == 3:
                x = np.repeat(x, 3, axis=-1)
            t4 = clock()
            timings["crop"] = t4 - t3
            raw = np.asarray(self._predict(x), dtype=np.float64)
            t5 = clock()
            timings["model"] = t5 - t4
            for tr, box, p, crop in zip(tracks, crop_boxes, raw, crops):
                tr.probs = ema(tr.probs, p, t - tr.time if tr.time is not None else 0.0, self.smoothing)
                tr.time = t
                records.append(FaceRecord(tr.face_id, tuple(int(v) for v in box), tr.probs.copy(), p,
                                          self.class_names[int(np.argmax(tr.probs))],
                                          tr.face_id in detected_ids, crop))
            timings["smooth"] = clock() - t5
        t6 = clock()
        image = None
        if self.draw:
            image = annotate(frame, records, self.class_names)
        end = clock()
        timings["draw"] = end - t6
        timings = {k: 1000.0 * v for k, v in timings.items()}
        timings["total"] = 1000.0 * (end - start)
        self._index += 1
        return FrameResult(index, t, records, timings, detect, image)

    def run(self, frames, *, keep_images: bool = False, progress: bool = False, total: int | None = None):
        """Process an iterable of frames, or of ``(timestamp, frame)`` pairs; returns the results.

        Annotated images are dropped unless ``keep_images`` (a long video would fill memory).
        """
        out = []
        items = frames
        if progress:
            from tqdm.auto import tqdm

            items = tqdm(frames, total=total, desc="live", unit="frame")
        for item in items:
            stamp, frame = item if isinstance(item, tuple) else (None, item)
            result = self.process(frame, stamp)
            if not keep_images:
                result.image = None
            out.append(result)
        return out

    # ---- tracking
    def _update_tracks(self, boxes, index: int) -> set:
        for tr in self._tracks:          # carry every box on at its velocity
            tr.box = tr.box + tr.velocity
        if boxes is None:
            return set()
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        pairs = match_boxes([tr.box for tr in self._tracks], boxes, self.min_iou)
        matched_tracks = {i for i, _ in pairs}
        matched_boxes = {j for _, j in pairs}
        seen = set()
        for i, j in pairs:
            tr, box = self._tracks[i], boxes[j]
            step = (box - tr.last_box) / max(1, index - tr.last_index)
            tr.velocity = 0.5 * tr.velocity + 0.5 * step
            tr.box = self.box_smoothing * tr.box + (1 - self.box_smoothing) * box
            tr.last_box, tr.last_index, tr.missed = box, index, 0
            seen.add(tr.face_id)
        kept = []
        for i, tr in enumerate(self._tracks):
            if i not in matched_tracks:
                tr.missed += 1
                tr.velocity = np.zeros(4)    # a face not seen is held where it was last
                if tr.missed > self.max_missed:
                    continue
            kept.append(tr)
        for j, box in enumerate(boxes):
            if j not in matched_boxes:
                kept.append(_Track(self._next_id, box.copy(), box.copy(), index))
                seen.add(self._next_id)
                self._next_id += 1
        self._tracks = kept
        return seen


# --------------------------------------------------------------------------- drawing

def annotate(frame, records, class_names) -> np.ndarray:
    """A copy of ``frame`` (RGB) with each face's box, id, emoji and probability bars drawn."""
    image = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else frame.copy()
    height, width = image.shape[:2]
    for r in records:
        x, y, w, h = r.box
        colour = _ID_COLORS[r.face_id % len(_ID_COLORS)]
        cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2 if r.detected else 1, cv2.LINE_AA)
        radius = float(np.clip(0.2 * w, 10, 40))
        cx = min(max(x + w - 0.2 * radius, radius), width - radius)
        cy = min(max(y - 0.2 * radius, radius), height - radius)
        emoji.draw_emoji(image, (cx, cy), radius, r.label)
        row = int(np.clip(w / 18, 6, 10))
        bar_w = int(np.clip(0.6 * w, 56, 90))
        below = y + h + 2
        top = below if below + row * len(class_names) <= height else y + h - row * len(class_names) - 2
        emoji.draw_probability_bars(image, (x, top), r.probs, class_names, width=bar_w, row=row)
        emoji.draw_label(image, f"{r.face_id}", (x + 3, y + 16), color=colour, scale=0.45)
    return image


# --------------------------------------------------------------------------- video files

@dataclass
class VideoSummary:
    """What :func:`process_video` did."""

    frames: int
    seconds: float
    out: Path | None
    codec: str | None
    csv: Path | None
    latency: object = field(repr=False, default=None)

    def __str__(self) -> str:
        lines = [f"{self.frames} frames in {self.seconds:.1f} s ({self.frames / max(self.seconds, 1e-9):.1f} frames/s, "
                 "reading and writing included)"]
        if self.latency is not None:
            lat = self.latency
            lines.append(f"pipeline: {lat.attrs['fps']:.1f} frames/s, latency p50 {lat.loc['p50', 'total']:.1f} ms, "
                         f"p95 {lat.loc['p95', 'total']:.1f} ms")
        if self.out is not None:
            lines.append(f"annotated video: {self.out} ({self.codec})")
        if self.csv is not None:
            lines.append(f"predictions: {self.csv}")
        return "\n".join(lines)


def _csv_header(class_names):
    return ["frame", "time", "face_id", "x", "y", "w", "h", "detected", "label",
            *[f"p_{name}" for name in class_names]]


def _csv_rows(result):
    for r in result.faces:
        yield [result.index, f"{result.time:.4f}", r.face_id, *r.box, int(r.detected), r.label,
               *[f"{p:.4f}" for p in r.probs]]


def process_video(pipeline: LivePipeline, source, *, out=None, csv_path=None, progress: bool = True,
                  max_frames: int | None = None) -> VideoSummary:
    """Run a video file through ``pipeline``; write the annotated video and/or the predictions.

    ``out``: the annotated video (``.mp4``; see :func:`fercourse.video.video_writer` for
    the codec and its fall-back).  ``csv_path``: one row per face and frame -- ``frame, time,
    face_id, x, y, w, h, detected, label`` and one ``p_<class>`` column per class (the smoothed
    probabilities shown); frames without a face have no row.  Both files appear whole or not at
    all: they are written to temporary files renamed into place at the end.
    """
    capture, fps, count = open_video(source)
    if out is not None and not pipeline.draw:
        raise ValueError("the pipeline was made with draw=False; it cannot write an annotated video")
    csv_path = None if csv_path is None else Path(csv_path)
    if csv_path is not None:
        check_writable(csv_path)
        if csv_path.suffix.lower() != ".csv":
            raise ValueError(f"predictions file {csv_path} should end in .csv")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    pipeline.reset()
    results = []
    start = time.perf_counter()
    total = min(count, max_frames) if (count and max_frames) else (count or max_frames or None)
    with contextlib.ExitStack() as stack:
        stack.callback(capture.release)
        sink = stack.enter_context(video_writer(out, fps, (width, height))) if out is not None else None
        table = None
        if csv_path is not None:
            tmp = stack.enter_context(atomic.replacing(csv_path))
            handle = stack.enter_context(open(tmp, "w", newline="", encoding="utf-8"))
            table = csv.writer(handle)
            table.writerow(_csv_header(pipeline.class_names))
        frames = capture_frames(capture, fps)
        if progress:
            from tqdm.auto import tqdm

            frames = tqdm(frames, total=total, desc=f"live {Path(source).name}", unit="frame")
        for stamp, frame in frames:
            if max_frames is not None and len(results) >= max_frames:
                break
            result = pipeline.process(frame, stamp)
            if sink is not None:
                sink.write(result.image)
            if table is not None:
                table.writerows(_csv_rows(result))
            result.image = None
            results.append(result)
        if not results:
            raise ValueError(f"{source} holds no frame OpenCV can decode")
    seconds = time.perf_counter() - start
    return VideoSummary(len(results), seconds, sink.path if sink is not None else None,
                        sink.codec if sink is not None else None, csv_path,
                        latency_summary(results, skip=min(3, len(results) - 1)))


# --------------------------------------------------------------------------- cameras

def _draw_fps(image, fps: float, latency_ms: float):
    emoji.draw_label(image, f"{fps:4.1f} fps  {latency_ms:4.1f} ms", (8, 22), scale=0.6)


def run_camera(pipeline: LivePipeline, index: int = 0, *, out=None, seconds: float | None = None,
               show: bool | str = True) -> list:
    """Run camera ``index`` through ``pipeline`` until q is pressed (or ``seconds`` pass).

    ``show``: ``True`` opens a window (OpenCV's, or matplotlib's where OpenCV is headless),
    ``"notebook"`` updates an image in a Jupyter notebook (stop it with the button or
    ``seconds``), ``False`` shows nothing (then give ``out`` or ``seconds``).  The frame rate
    and the last frame's latency are drawn in the corner.  ``out`` records the annotated stream
    (atomically, as :func:`process_video`).  Returns the frames' results (without images).
    """
    if show is False and out is None and seconds is None:
        raise ValueError("with show=False give out= or seconds=, or the camera would run unseen forever")
    capture = open_camera(index)
    window = viewer = None
    results = []
    try:
        if show is True:
            window = FrameWindow(f"fercourse live (camera {index}) - q quits")
        elif show == "notebook":
            viewer = NotebookViewer()
        elif show is not False:
            raise ValueError(f"show={show!r}: True, 'notebook' or False")
        fps_cam = capture.get(cv2.CAP_PROP_FPS)
        fps_cam = fps_cam if fps_cam and fps_cam > 0 else 30.0
        pipeline.reset()
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        with contextlib.ExitStack() as stack:
            sink = stack.enter_context(video_writer(out, fps_cam, (width, height))) if out else None
            start = last = time.perf_counter()
            rate = 0.0
            while seconds is None or time.perf_counter() - start < seconds:
                ok, frame = capture.read()
                if not ok:
                    break
                now = time.perf_counter()
                result = pipeline.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), now - start)
                interval, last = max(now - last, 1e-6), now
                rate = 1.0 / interval if rate == 0 else 0.9 * rate + 0.1 / interval   # frames/s, steadied
                _draw_fps(result.image, rate, result.timings["total"])
                if sink is not None:
                    sink.write(result.image)
                if window is not None and not window.show(result.image):
                    break
                if viewer is not None and not viewer.show(result.image):
                    break
                result.image = None
                results.append(result)
    except KeyboardInterrupt:   # Ctrl-C, or the notebook's interrupt button: stop, keep what was recorded
        pass
    finally:
        capture.release()
        if window is not None:
            window.close()
    return results


def results_csv(results, class_names) -> str:
    """The CSV text :func:`process_video` writes, for results kept in memory."""
    out = io.StringIO()
    table = csv.writer(out)
    table.writerow(_csv_header(class_names))
    for result in results:
        table.writerows(_csv_rows(result))
    return out.getvalue()
