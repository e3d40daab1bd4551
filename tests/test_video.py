"""Reading and writing video files, cameras and windows (fercourse.video), on tiny clips made here."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from fercourse import video

SIZE = (64, 48)   # (width, height), as OpenCV takes it


def clip(n=5):
    """``n`` RGB frames, each brighter than the last, red on the left and blue on the right."""
    frames = []
    for k in range(n):
        frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        frame[:, : SIZE[0] // 2, 0] = 60 + 30 * k
        frame[:, SIZE[0] // 2:, 2] = 60 + 30 * k
        frames.append(frame)
    return frames


def write(path, frames, fps=10.0, **kwargs):
    with video.video_writer(path, fps, SIZE, **kwargs) as sink:
        for frame in frames:
            sink.write(frame)
    return sink


# --------------------------------------------------------------------------- writing

@pytest.mark.parametrize("name", ["clip.mp4", "clip.avi"])
def test_frames_written_read_back_in_order_with_their_times(tmp_path, name):
    frames = clip()
    sink = write(tmp_path / name, frames)
    assert sink.path == tmp_path / name and sink.frames == len(frames)
    assert sink.codec == video.CODECS[sink.path.suffix][0]
    read = list(video.read_video(sink.path))
    assert [t for t, _ in read] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    for (_, got), want in zip(read, frames):
        assert got.shape == want.shape and got.dtype == np.uint8
        assert np.abs(got.astype(int) - want).mean() < 8, "a frame came back changed (or as BGR)"
    assert [p.name for p in tmp_path.iterdir()] == [name], "a temporary file was left behind"


def test_grey_frames_are_written_as_colour(tmp_path):
    sink = write(tmp_path / "grey.avi", [np.full((SIZE[1], SIZE[0]), 128, np.uint8)] * 2)
    (_, frame), _ = list(video.read_video(sink.path))
    assert frame.shape == (SIZE[1], SIZE[0], 3) and abs(frame.mean() - 128) < 4


def test_video_writer_falls_back_to_motion_jpeg(tmp_path):
    sink = write(tmp_path / "clip.mp4", clip(3), codecs=("QQQQ",))
    assert sink.path == tmp_path / "clip.avi" and sink.codec == "MJPG"
    assert len(list(video.read_video(sink.path))) == 3 and not (tmp_path / "clip.mp4").exists()


def test_video_writer_leaves_nothing_on_error(tmp_path):
    with pytest.raises(RuntimeError):
        with video.video_writer(tmp_path / "clip.mp4", 10, SIZE) as sink:
            sink.write(clip(1)[0])
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="no frames"):
        with video.video_writer(tmp_path / "clip.mp4", 10, SIZE):
            pass
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="64x48|48x64"):
        with video.video_writer(tmp_path / "clip.mp4", 10, SIZE) as sink:
            sink.write(np.zeros((10, 10, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["clip.txt", "clip"])
def test_video_writer_refuses_unknown_types(tmp_path, name):
    with pytest.raises(ValueError, match="unknown type"):
        with video.video_writer(tmp_path / name, 10, SIZE):
            pass


def test_video_writer_refuses_a_frame_rate_of_zero(tmp_path):
    with pytest.raises(ValueError, match="fps"):
        with video.video_writer(tmp_path / "clip.mp4", 0, SIZE):
            pass


def test_check_writable_refuses_what_cannot_be_written(tmp_path):
    video.check_writable(tmp_path / "new" / "deeper" / "out.mp4")   # missing folders are made later
    with pytest.raises(ValueError, match="is a folder"):
        video.check_writable(tmp_path)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    with pytest.raises(ValueError, match="cannot write"):
        video.check_writable(tmp_path / "notes.txt" / "out.mp4")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write read-only files")
def test_check_writable_refuses_a_read_only_file(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"")
    target.chmod(0o444)
    with pytest.raises(ValueError, match="read-only"):
        video.check_writable(target)


# --------------------------------------------------------------------------- reading

def test_open_video_gives_the_frame_rate_and_count(tmp_path):
    sink = write(tmp_path / "clip.avi", clip(4), fps=12.5)
    capture, fps, count = video.open_video(sink.path)
    try:
        assert fps == pytest.approx(12.5) and count == 4
        ok, frame = capture.read()
        assert ok and frame.shape == (SIZE[1], SIZE[0], 3), "the capture should start at the first frame"
    finally:
        capture.release()


def test_open_video_names_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        video.open_video(tmp_path / "missing.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        video.open_video(tmp_path / "empty.mp4")
    (tmp_path / "text.mp4").write_text("not a video at all\n" * 50)
    with pytest.raises(ValueError, match="text.mp4"):
        video.open_video(tmp_path / "text.mp4")
    with pytest.raises(ValueError, match="folder"):
        video.open_video(tmp_path)
    with pytest.raises(FileNotFoundError):
        video.read_video(tmp_path / "missing.mp4")   # checked at once, not at the first frame


def test_capture_frames_converts_to_rgb_and_releases_the_capture():
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 0] = 255   # blue in OpenCV's order

    class FakeCapture:
        def __init__(self):
            self.left, self.released = 3, False

        def read(self):
            self.left -= 1
            return (True, bgr) if self.left >= 0 else (False, None)

        def release(self):
            self.released = True

    capture = FakeCapture()
    frames = list(video.capture_frames(capture, 4.0))
    assert [t for t, _ in frames] == [0.0, 0.25, 0.5]
    assert all(f[..., 2].min() == 255 and f[..., 0].max() == 0 for _, f in frames)
    assert capture.released
    stopped = FakeCapture()
    gen = video.capture_frames(stopped, 4.0)
    next(gen)
    gen.close()                  # a reader that stops early still releases the capture
    assert stopped.released


# --------------------------------------------------------------------------- cameras and windows

def test_missing_camera_is_a_clear_error():
    with pytest.raises(ValueError, match="no camera at index 57"):
        video.open_camera(57)
    for index in (-1, 1.5):
        with pytest.raises(ValueError, match="non-negative integer"):
            video.open_camera(index)


def test_gui_available_reads_opencvs_build():
    gui = video.gui_available()
    assert isinstance(gui, bool)
    line = next((l for l in cv2.getBuildInformation().splitlines() if l.strip().startswith("GUI:")), "GUI: NONE")
    assert gui == (line.split(":", 1)[1].strip().upper() != "NONE")


def test_no_display_is_a_clear_error(monkeypatch):
    import matplotlib

    monkeypatch.setattr(video, "gui_available", lambda: False)
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "agg")
    with pytest.raises(ValueError, match="no display"):
        video.FrameWindow("test")


def test_notebook_viewer_shows_a_frame_as_jpeg():
    pytest.importorskip("ipywidgets")
    viewer = video.NotebookViewer()
    assert viewer.show(clip(1)[0]) is True
    data = viewer.image.value
    assert data[:2] == b"\xff\xd8", "the image widget should hold a JPEG"
    decoded = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.abs(decoded.astype(int) - clip(1)[0]).mean() < 8
