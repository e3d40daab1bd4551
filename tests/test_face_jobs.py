"""Tests of fercourse.face_jobs: every image of a folder, and every frame of a video, cropped."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from skimage.data import astronaut as _astronaut

from fercourse import atomic, face_jobs
from fercourse.images import load_image


@pytest.fixture(scope="module")
def astronaut():
    return _astronaut()


def _photo_folder(root, astronaut):
    (root / "happy").mkdir(parents=True)
    (root / "other").mkdir()
    cv2.imwrite(str(root / "happy" / "a.jpg"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(root / "happy" / "b.png"), cv2.cvtColor(astronaut[:, ::-1], cv2.COLOR_RGB2GRAY))
    cv2.imwrite(str(root / "other" / "blank.png"), np.full((120, 160), 90, np.uint8))
    (root / "other" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (root / "README.txt").write_text("not an image, and not named like one")


def test_crop_folder_writes_crops_and_reports(tmp_path, astronaut):
    src, dst = tmp_path / "src", tmp_path / "dst"
    _photo_folder(src, astronaut)
    report = face_jobs.crop_folder(src, dst, size=48, margin=0.2, align=False, every_face=False, progress=False)
    assert sorted(p.name for p in report.cropped) == ["a.jpg", "b.png"]
    assert [p.name for p in report.no_face] == ["blank.png"]
    assert [p.name for p in report.unreadable] == ["broken.jpg"]
    written = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file())
    assert written == ["happy/a.png", "happy/b.png"]          # folders mirrored, no temp files left
    crop = load_image(dst / "happy" / "a.png")
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    text = str(report)
    assert "2 face crop(s) from 2 of 4 image(s)" in text and "blank.png" in text and "broken.jpg" in text


def test_crop_folder_as_the_command_line_calls_it(tmp_path, astronaut):
    src, dst = tmp_path / "src", tmp_path / "out" / "crops"
    _photo_folder(src, astronaut)
    report = face_jobs.crop_folder(str(src), str(dst), size=32, margin=0.1, align=True, every_face=True, progress=True)
    assert isinstance(report, face_jobs.CropReport)
    assert report.n_crops >= 2
    for files in report.cropped.values():
        assert all(re.fullmatch(r"[ab]_\d+\.png", f.name) for f in files)
        assert all(load_image(f).shape == (32, 32) for f in files)
    assert str(report).splitlines()[0].startswith(f"{report.n_crops} face crop(s)")


def test_crop_folder_keeps_images_with_the_same_name_apart(tmp_path, astronaut):
    src = tmp_path / "src"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(src / "a.png"), cv2.cvtColor(astronaut[:, ::-1], cv2.COLOR_RGB2BGR))
    report = face_jobs.crop_folder(src, tmp_path / "dst", progress=False)
    assert report.n_crops == 2
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["a.png", "a_png.png"]


def test_crop_folder_bad_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        face_jobs.crop_folder(tmp_path / "nowhere", tmp_path / "dst", progress=False)
    file = tmp_path / "file.png"
    file.write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="file.png"):
        face_jobs.crop_folder(file, tmp_path / "dst", progress=False)


def _write_video(path, astronaut, n_frames=6, fps=5.0, blank_at=(2,)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (320, 240))
    assert writer.isOpened()
    small = cv2.resize(astronaut, (240, 240), interpolation=cv2.INTER_AREA)
    for k in range(n_frames):
        frame = np.full((240, 320, 3), 60, np.uint8)
        if k not in blank_at:
            frame[:, 40:280] = small
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_video_faces_yields_timestamps_and_crops(tmp_path, astronaut):
    path = tmp_path / "clip.avi"
    _write_video(path, astronaut)
    results = list(face_jobs.video_faces(path, size=48))
    times = [t for t, _ in results]
    assert np.allclose(times, [0.0, 0.2, 0.6, 0.8, 1.0])          # frame 2 is blank: no face
    assert all(c.shape == (48, 48) and c.dtype == np.uint8 for _, c in results)
    every_other = [t for t, _ in face_jobs.video_faces(path, size=24, every=2)]
    assert np.allclose(every_other, [0.0, 0.8])                    # frames 0, 2 (blank), 4


def test_video_faces_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.avi"):
        face_jobs.video_faces(tmp_path / "none.avi")
    bad = tmp_path / "bad.avi"
    bad.write_text("not a video")
    with pytest.raises(ValueError, match="bad.avi"):
        face_jobs.video_faces(bad)
    with pytest.raises(ValueError, match="every"):
        face_jobs.video_faces(bad, every=0)


def test_crop_folder_writes_through_fercourse_atomic(tmp_path, astronaut, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    cv2.imwrite(str(src / "a.jpg"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    written = []
    real = atomic.write_bytes
    monkeypatch.setattr(atomic, "write_bytes", lambda path, data: written.append(path) or real(path, data))
    face_jobs.crop_folder(src, tmp_path / "dst", progress=False)
    assert written == [tmp_path / "dst" / "a.png"]
