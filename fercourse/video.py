"""Reading and writing video files, and cameras and windows to show frames in.

Frames come in and go out as RGB uint8 (grey is accepted too), whatever OpenCV does inside (BGR):

* reading: :func:`open_video` opens a file with errors that name it, :func:`read_video` yields
  its ``(timestamp, frame)`` pairs, :func:`capture_frames` those of any open capture;
  :func:`open_camera` opens a camera;
* writing: :func:`video_writer` writes a file atomically (temporary file, then rename), trying
  the codecs of :data:`CODECS` and falling back to Motion-JPEG, which every OpenCV build has;
  :func:`check_writable` refuses an output path before any work is done;
* showing: :class:`FrameWindow` (OpenCV's window, else matplotlib's) and
  :class:`NotebookViewer` (an image in a Jupyter notebook, updated in place).

The live pipeline (:mod:`fercourse.live`) and the test video (:mod:`fercourse.testvideo`) read,
write and show video through this module only.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np

from . import atomic

__all__ = ["CODECS", "VideoSink", "check_writable", "video_writer", "open_video", "read_video",
           "capture_frames", "open_camera", "gui_available", "FrameWindow", "NotebookViewer"]


# --------------------------------------------------------------------------- writing video files

CODECS = {".mp4": ("mp4v", "avc1"), ".m4v": ("mp4v", "avc1"), ".mov": ("mp4v", "avc1"),
          ".avi": ("MJPG", "XVID")}
"""FourCC codes tried, in order, for each file type.  ``mp4v`` (MPEG-4 part 2) ships with the
OpenCV wheels' FFmpeg; ``avc1`` (H.264) only where OpenCV was built with an H.264 encoder;
Motion-JPEG in ``.avi`` works in every OpenCV build, and is the fall-back."""


class VideoSink:
    """An open video file being written (made by :func:`video_writer`): ``sink.write(rgb)``.

    ``path`` is the file that will appear, ``codec`` the FourCC in use, ``frames`` how many
    were written so far.
    """

    def __init__(self, writer, path: Path, codec: str, size):
        self._writer, self.path, self.codec, self.size, self.frames = writer, path, codec, size, 0

    def write(self, frame) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.shape[:2] != (self.size[1], self.size[0]):
            raise ValueError(f"frame {self.frames} is {frame.dtype} {frame.shape}; this video takes "
                             f"uint8 frames of {self.size[1]}x{self.size[0]} (height x width)")
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        else:
            frame = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)   # OpenCV writes BGR
        self._writer.write(frame)
        self.frames += 1


def check_writable(path) -> None:
    """Raise ``ValueError`` unless a file can be written at ``path`` (checked before any work)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"output {path} is a folder; give a file name such as {path / 'annotated.mp4'}")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {path}: {folder} is not a folder this user may write to")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"cannot write {path}: the file exists and is read-only")


@contextlib.contextmanager
def video_writer(path, fps: float, size, *, codecs=None):
    """Write a video atomically: ``with video_writer("out.mp4", 15, (640, 480)) as sink: sink.write(rgb)``.

    Tries the codecs of :data:`CODECS` for the file's type; when none opens for ``.mp4`` the
    video is written as Motion-JPEG to the same name with ``.avi`` (``sink.path`` says so).
    The frames go to a temporary file beside the target, renamed into place when the block
    ends without error; on an error nothing is left behind.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CODECS:
        raise ValueError(f"cannot write video {path}: unknown type {suffix or '(no suffix)'!r}; "
                         f"use one of {', '.join(CODECS)}")
    if not fps > 0:
        raise ValueError(f"fps={fps!r} must be positive")
    width, height = (int(v) for v in size)
    check_writable(path)
    attempts = [(path, c) for c in (codecs or CODECS[suffix])]
    if suffix != ".avi":
        attempts += [(path.with_suffix(".avi"), c) for c in CODECS[".avi"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tried = []
    for target, codec in attempts:
        if _codec_opens(target, codec, fps, (width, height)):
            break
        tried.append(codec)
    else:
        raise ValueError(f"OpenCV could not open a video writer for {path} with any of the codecs "
                         f"{', '.join(tried)}")
    with atomic.replacing(target) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*codec), float(fps), (width, height))
        if not writer.isOpened():
            raise ValueError(f"OpenCV could not open a {codec} video writer for {target}")
        sink = VideoSink(writer, target, codec, (width, height))
        try:
            yield sink
        finally:
            writer.release()
        if sink.frames == 0:
            raise ValueError(f"no frames to write to {target}")


def _codec_opens(target: Path, codec: str, fps, size) -> bool:
    """Whether OpenCV opens a ``codec`` writer for a file like ``target`` (tried on a scratch file)."""
    probe = target.with_name(f".{target.stem}{atomic.TMP_MARK}-probe-{os.getpid()}{target.suffix}")
    try:
        writer = cv2.VideoWriter(str(probe), cv2.VideoWriter_fourcc(*codec), float(fps), size)
        ok = writer.isOpened()
        writer.release()
    finally:
        probe.unlink(missing_ok=True)
    return ok


# --------------------------------------------------------------------------- reading video files

def open_video(path):
    """Open a video file: ``(capture, fps, frame_count)``, with errors that name the file.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file OpenCV cannot
    read as video, or one without a single frame.  ``frame_count`` is OpenCV's estimate (0
    when unknown); the capture is positioned at the first frame.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video file {path} does not exist")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a video file")
    if path.stat().st_size == 0:
        raise ValueError(f"video file {path} is empty (0 bytes)")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise ValueError(f"{path} is not a video OpenCV can read")
    ok = capture.grab()
    if not ok:
        capture.release()
        raise ValueError(f"{path} holds no frame OpenCV can decode (an empty or damaged video)")
    capture.release()
    capture = cv2.VideoCapture(str(path))   # reopened rather than rewound: seeking is unreliable in some codecs
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    return capture, (fps if fps and fps > 0 and math.isfinite(fps) else 30.0), max(count, 0)


def read_video(path):
    """Yield ``(timestamp_seconds, RGB frame)`` for every frame of a video file (checked at once)."""
    capture, fps, _ = open_video(path)
    return capture_frames(capture, fps)


def capture_frames(capture, fps):
    """Yield ``(timestamp, RGB frame)`` from an open capture until it ends; releases it."""
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield index / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


# --------------------------------------------------------------------------- cameras and windows

def open_camera(index: int = 0):
    """Open camera ``index`` with OpenCV; a clear error when there is none at that index."""
    if int(index) != index or index < 0:
        raise ValueError(f"camera index {index!r} must be a non-negative integer")
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our error says it better
    try:
        capture = cv2.VideoCapture(int(index))
        ok = capture.isOpened() and capture.grab()
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not ok:
        capture.release()
        where = f" (/dev/video{index} does not exist)" if sys.platform.startswith("linux") and not \
            Path(f"/dev/video{index}").exists() else ""
        raise ValueError(f"no camera at index {index}{where}: OpenCV could not open it or read a frame; "
                         "check that a camera is connected and not used by another program, or try another "
                         "--camera index")
    return capture


def gui_available() -> bool:
    """Whether this OpenCV can open windows (``opencv-python-headless`` cannot)."""
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip().upper() != "NONE"
    return False


class FrameWindow:
    """A window showing frames: OpenCV's when it has a GUI, else matplotlib's interactive one."""

    def __init__(self, title: str):
        self.title = title
        self.kind = None
        display = not sys.platform.startswith("linux") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if gui_available() and display:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
            self.kind = "opencv"
            return
        import matplotlib

        backend = matplotlib.get_backend().lower()
        interactive = backend not in ("agg", "pdf", "ps", "svg", "cairo", "template") and "inline" not in backend
        if not (interactive and display):
            raise ValueError(
                "no display to show the camera in: this OpenCV has no windows (opencv-python-headless) and "
                f"matplotlib's backend is {matplotlib.get_backend()!r}"
                + ("" if display else " with no DISPLAY set") +
                ". Run it on a desktop, install opencv-python for OpenCV's windows, or record instead: "
                "fercourse live --camera 0 --out camera.mp4 --seconds 10")
        import matplotlib.pyplot as plt

        self._plt = plt
        self.fig, ax = plt.subplots()
        ax.axis("off")
        self._im = None
        self._ax = ax
        self._quit = False
        self.fig.canvas.mpl_connect("key_press_event", self._key)
        self.fig.canvas.mpl_connect("close_event", lambda event: setattr(self, "_quit", True))
        self.kind = "matplotlib"

    def _key(self, event):
        if event.key in ("q", "escape"):
            self._quit = True

    def show(self, rgb) -> bool:
        """Show a frame; False once the user has pressed q (or closed the window)."""
        if self.kind == "opencv":
            cv2.imshow(self.title, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            return (cv2.waitKey(1) & 0xFF) not in (ord("q"), 27)
        if self._im is None:
            self._im = self._ax.imshow(rgb)
            self._plt.show(block=False)
        else:
            self._im.set_data(rgb)
        self.fig.canvas.draw_idle()
        self.fig.canvas.flush_events()
        return not self._quit

    def close(self):
        if self.kind == "opencv":
            cv2.destroyWindow(self.title)
        elif self.kind == "matplotlib":
            self._plt.close(self.fig)


class NotebookViewer:
    """An image in a Jupyter notebook, updated in place (ipywidgets).

    A button would not do to stop it: a notebook handles widget clicks only once the running
    cell ends.  The kernel's interrupt (the stop button, or ``seconds``) ends the loop instead.
    """

    def __init__(self):
        import ipywidgets as widgets
        from IPython.display import display

        self.image = widgets.Image(format="jpeg")
        display(self.image)

    def show(self, rgb) -> bool:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            self.image.value = data.tobytes()
        return True

