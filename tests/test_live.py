"""The live pipeline, its emoji, the test video with ground truth, and `fercourse live`.

Video I/O is tested in test_video.py, scoring a run in test_live_scores.py."""

from __future__ import annotations

import csv
import math

import cv2
import keras
import numpy as np
import pytest

from fercourse import cli, emoji, live, live_scores, testvideo
from fercourse.labels import EMOTIONS, EMOTIONS_WITH_CONTEMPT


def tiny_model(size=48, classes=7, channels=1):
    """An untrained network small enough to build in a moment; its outputs still depend on the face."""
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x), name="tiny")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return tiny_model()


@pytest.fixture(scope="module")
def video():
    """Two seconds at 10 frames/s, 320x240: the second face walks in and out."""
    return testvideo.make_test_video(seconds=2.0, fps=10, size=(320, 240), hold=0.5, transition=0.1)


@pytest.fixture(scope="module")
def video_file(video, tmp_path_factory):
    path, codec = video.write(tmp_path_factory.mktemp("video") / "scene.mp4")
    return path


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return path


def count_frames(path):
    capture = cv2.VideoCapture(str(path))
    n = 0
    while capture.grab():
        n += 1
    capture.release()
    return n


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- emoji

@pytest.mark.parametrize("name", list(EMOTIONS_WITH_CONTEMPT) + ["unknown"])
def test_every_emoji_draws_inside_its_disc(name):
    image = np.zeros((80, 80, 3), np.uint8)
    emoji.draw_emoji(image, (40, 40), 30, name)
    yy, xx = np.mgrid[:80, :80]
    outside = np.hypot(xx - 40, yy - 40) > 33  # the outline (2 px) and its anti-aliasing straddle the radius
    assert image[outside].max() == 0, "drawing left the emoji's disc"
    assert (image[~outside].sum(axis=1) > 0).mean() > 0.95, "the disc is not filled"


def test_emoji_differ_between_expressions():
    pictures = {name: emoji.emoji_image(name, 48) for name in EMOTIONS_WITH_CONTEMPT}
    names = list(pictures)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            diff = np.abs(pictures[a].astype(int) - pictures[b].astype(int)).sum(axis=2)
            assert (diff > 60).mean() > 0.02, f"the {a} and {b} emoji look alike"


def test_emoji_rejects_bad_input():
    with pytest.raises(ValueError, match="RGB"):
        emoji.draw_emoji(np.zeros((20, 20), np.uint8), (10, 10), 5, "happy")
    with pytest.raises(ValueError, match="radius"):
        emoji.draw_emoji(np.zeros((20, 20, 3), np.uint8), (10, 10), 0, "happy")
    with pytest.raises(ValueError, match="size"):
        emoji.emoji_image("happy", 4)


def test_probability_bars_are_as_long_as_the_probabilities():
    image = np.zeros((60, 200, 3), np.uint8)
    probs = np.array([0.0, 0.0, 0.0, 0.8, 0.2, 0.0, 0.0])
    emoji.draw_probability_bars(image, (0, 0), probs, EMOTIONS, width=120, row=8)
    happy = np.all(image == emoji.EMOTION_COLORS["happy"], axis=2)[3 * 8:4 * 8].sum(axis=1).max()
    sad = np.all(image == emoji.EMOTION_COLORS["sad"], axis=2)[4 * 8:5 * 8].sum(axis=1).max()
    assert sad > 0 and happy / sad == pytest.approx(4.0, rel=0.15)
    assert not np.all(image == emoji.EMOTION_COLORS["angry"], axis=2).any()
    with pytest.raises(ValueError, match="7 class names"):
        emoji.draw_probability_bars(image, (0, 0), probs[:5], EMOTIONS)


def test_probability_bars_stay_inside_a_small_image():
    image = np.full((30, 40, 3), 255, np.uint8)
    emoji.draw_probability_bars(image, (35, 25), np.full(7, 1 / 7), EMOTIONS, width=72, row=8)
    assert image.shape == (30, 40, 3) and (image < 255).any()


# --------------------------------------------------------------------------- smoothing

def test_ema_reaches_63_percent_after_one_time_constant():
    assert live.ema(np.zeros(2), np.ones(2), dt=0.5, tau=0.5) == pytest.approx(1 - math.exp(-1))
    assert np.array_equal(live.ema(None, [0.2, 0.8], 0.1, 0.5), [0.2, 0.8])
    assert np.array_equal(live.ema(np.zeros(2), [0.2, 0.8], 0.1, 0.0), [0.2, 0.8])


def test_smoothing_does_not_depend_on_the_frame_rate():
    def after_one_second(fps):
        times = np.arange(int(fps) + 1) / fps
        step = np.tile([[1.0, 0.0]], (len(times), 1))
        step[0] = [0.0, 1.0]
        state = None
        for i, (p, t) in enumerate(zip(step, times)):
            state = live.ema(state, p, t - times[i - 1] if i else 0.0, tau=0.4)
        return state

    assert after_one_second(10) == pytest.approx(after_one_second(30))


# --------------------------------------------------------------------------- the model's fit

def test_model_input_reads_the_crop_size(model):
    assert live.model_input(model) == (48, 1)
    assert live.model_input(tiny_model(32, channels=3)) == (32, 3)
    inputs = keras.Input((36, 36))
    flat = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(inputs)))
    assert live.model_input(flat) == (36, 0)
    assert live.LivePipeline(flat, draw=False).process(np.zeros((120, 160), np.uint8)).faces == []


@pytest.mark.parametrize("shape", [(48, 40, 1), (48, 48, 2), (2304,)])
def test_models_that_take_no_square_crop_are_refused(shape):
    inputs = keras.Input(shape)
    flat = keras.layers.Flatten()(inputs) if len(shape) > 1 else inputs
    odd = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(flat))
    with pytest.raises(ValueError, match="square face crops"):
        live.LivePipeline(odd)


def test_class_names_must_fit_the_model(model):
    with pytest.raises(ValueError, match="6 class names for a model with 7 outputs"):
        live.LivePipeline(model, class_names=EMOTIONS[:6])
    with pytest.raises(ValueError, match="pass class_names"):
        live.LivePipeline(tiny_model(classes=3))
    assert live.LivePipeline(tiny_model(classes=3), class_names=("a", "b", "c")).class_names == ("a", "b", "c")


@pytest.mark.parametrize("kwargs", [dict(detect_every=0), dict(smoothing=-1), dict(margin=-0.1),
                                    dict(box_smoothing=1.0), dict(fps=0)])
def test_bad_settings_are_refused(model, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        live.LivePipeline(model, **kwargs)


# --------------------------------------------------------------------------- the test video

def test_test_video_has_ground_truth_for_both_faces(video):
    truth = video.truth
    assert len(video) == 20 and video.seconds == pytest.approx(2.0)
    first, second = truth[truth.face_id == 0], truth[truth.face_id == 1]
    assert len(first) == 20, "the first face is in every frame"
    assert 0 < second.frame.min() and second.frame.max() < 19, "the second face enters and leaves"
    assert first.emotion.nunique() >= 3, "the first face changes expression"
    assert first.transition.any() and (~first.transition).any()
    assert truth.inside.between(0, 1).all() and (truth.inside < 1).any()


def test_test_video_frames_are_reproducible_and_show_the_faces(video):
    frame = video.frame(5)
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8
    assert np.array_equal(frame, video.frame(5))
    row = video.truth[(video.truth.frame == 5) & (video.truth.face_id == 0)].iloc[0]
    inside = frame[row.y:row.y + row.h, row.x:row.x + row.w].astype(float)
    assert np.abs(inside - video.background[row.y:row.y + row.h, row.x:row.x + row.w]).mean() > 20
    with pytest.raises(IndexError):
        video.frame(20)


def test_test_video_is_checked():
    with pytest.raises(ValueError, match="1 or 2"):
        testvideo.make_test_video(faces=3)
    with pytest.raises(ValueError, match="unknown emotion"):
        testvideo.make_test_video(emotions=("happy", "bored"))
    with pytest.raises(ValueError, match="at least 160x120"):
        testvideo.make_test_video(size=(100, 80))


def test_written_video_is_readable_with_every_frame(video, video_file):
    assert video_file.suffix == ".mp4"
    assert count_frames(video_file) == len(video)
    assert leftovers(video_file.parent) == []


# --------------------------------------------------------------------------- the pipeline

def test_pipeline_finds_follows_and_times_the_faces(model, video):
    pipeline = live.LivePipeline(model, detect_every=3, smoothing=0.3, fps=video.fps)
    results = pipeline.run(video.frames(), keep_images=True)
    assert len(results) == len(video)
    score = live_scores.score_run(results, video, pipeline.class_names)
    assert score["recall"] >= 0.8 and score["false_boxes"] <= 0.2 and score["id_switches"] <= 1
    assert [r.detected for r in results] == [i % 3 == 0 for i in range(len(video))]
    for r in results:
        assert set(r.timings) == {*live.STAGES, "total"}
        assert sum(r.timings[s] for s in live.STAGES) <= r.timings["total"] + 1e-6
        assert (r.timings["detect"] > 0) == r.detected
        assert r.image.shape == (240, 320, 3) and not np.array_equal(r.image, video.frame(r.index))
        for face in r.faces:
            assert face.probs.sum() == pytest.approx(1.0) and face.crop.shape == (48, 48)
            assert face.label == EMOTIONS[int(np.argmax(face.probs))]
    carried = [f for r in results for f in r.faces if not f.detected]
    assert carried, "between detections the boxes should be carried"
    table = live_scores.latency_summary(results)
    assert table.loc["share", "total"] == pytest.approx(1.0) and table.attrs["fps"] > 0


def test_carried_boxes_follow_a_moving_face(model, video):
    results = live.LivePipeline(model, detect_every=5, draw=False).run(video.frames(0, 10))
    score = live_scores.score_run(results, video, EMOTIONS)
    first = score["matches"][score["matches"].face_id == 0]
    assert (first.track_id >= 0).all(), "the first face was lost between detections"


def test_smoothing_steadies_the_labels(model, video):
    def run(tau):
        pipeline = live.LivePipeline(model, detect_every=2, smoothing=tau, draw=False)
        return pipeline.run(video.frames())

    raw, smooth = run(0.0), run(1.0)
    assert [f.raw.tolist() for r in raw for f in r.faces] == [f.raw.tolist() for r in smooth for f in r.faces]

    def variation(results):   # how much face 0's shown probabilities move from frame to frame
        return np.abs(np.diff([f.probs for r in results for f in r.faces if f.face_id == 0], axis=0)).sum()

    assert variation(smooth) < 0.5 * variation(raw)


def test_grey_frames_and_bad_frames(model, video):
    pipeline = live.LivePipeline(model, detect_every=1)
    grey = cv2.cvtColor(video.frame(0), cv2.COLOR_RGB2GRAY)
    result = pipeline.process(grey)
    assert result.faces and result.image.shape == (240, 320, 3)
    with pytest.raises(ValueError, match="frame 1"):
        pipeline.process(np.zeros((10, 10, 3), np.float32))


def test_three_channel_models_get_grey_faces(video):
    pipeline = live.LivePipeline(tiny_model(40, channels=3), detect_every=1, draw=False)
    result = pipeline.process(video.frame(0))
    assert result.faces and result.faces[0].crop.shape == (40, 40)


# --------------------------------------------------------------------------- video files

def test_process_video_writes_video_and_csv(model, video, video_file, tmp_path):
    pipeline = live.LivePipeline(model)
    summary = live.process_video(pipeline, video_file, out=tmp_path / "out.mp4", csv_path=tmp_path / "p.csv",
                                 progress=False)
    assert summary.frames == len(video) and summary.codec == "mp4v"
    assert count_frames(tmp_path / "out.mp4") == len(video)
    rows = list(csv.DictReader(open(tmp_path / "p.csv")))
    assert rows and set(rows[0]) >= {"frame", "time", "face_id", "x", "y", "w", "h", "label", "p_happy"}
    assert {int(r["frame"]) for r in rows} <= set(range(len(video)))
    probs = np.array([[float(r[f"p_{c}"]) for c in EMOTIONS] for r in rows])
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)
    assert float(rows[-1]["time"]) == pytest.approx(int(rows[-1]["frame"]) / video.fps, abs=1e-3)
    assert "frames/s" in str(summary) and leftovers(tmp_path) == []


def test_process_video_leaves_nothing_half_written(model, video_file, tmp_path, monkeypatch):
    pipeline = live.LivePipeline(model)
    real = pipeline.process

    def failing(frame, stamp=None):
        if pipeline._index == 5:
            raise RuntimeError("the machine went down")
        return real(frame, stamp)

    monkeypatch.setattr(pipeline, "process", failing)
    with pytest.raises(RuntimeError):
        live.process_video(pipeline, video_file, out=tmp_path / "out.mp4", csv_path=tmp_path / "p.csv",
                           progress=False)
    assert list(tmp_path.iterdir()) == []


def test_unreadable_videos_are_named(model, tmp_path):
    # every way a file can fail to be a video is tested on video.open_video (test_video.py)
    pipeline = live.LivePipeline(model)
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        live.process_video(pipeline, tmp_path / "missing.mp4")
    (tmp_path / "text.mp4").write_text("not a video at all\n" * 50)
    with pytest.raises(ValueError, match="text.mp4"):
        live.process_video(pipeline, tmp_path / "text.mp4", out=tmp_path / "out.mp4")
    assert list(tmp_path.iterdir()) == [tmp_path / "text.mp4"], "a failed run left a file"


def test_camera_loop_records_a_stream(model, video, tmp_path, monkeypatch):
    class FakeCamera:
        def __init__(self):
            self.frames = [cv2.cvtColor(video.frame(i), cv2.COLOR_RGB2BGR) for i in range(6)]

        def read(self):
            return (True, self.frames.pop(0)) if self.frames else (False, None)

        def get(self, prop):
            return {cv2.CAP_PROP_FPS: 10.0, cv2.CAP_PROP_FRAME_WIDTH: 320, cv2.CAP_PROP_FRAME_HEIGHT: 240}.get(prop, 0)

        def release(self):
            pass

    monkeypatch.setattr(live, "open_camera", lambda index: FakeCamera())
    results = live.run_camera(live.LivePipeline(model), 0, out=tmp_path / "cam.mp4", show=False)
    assert len(results) == 6 and count_frames(tmp_path / "cam.mp4") == 6
    with pytest.raises(ValueError, match="unseen"):
        live.run_camera(live.LivePipeline(model), 0, show=False)


# --------------------------------------------------------------------------- the command

def test_cli_annotates_a_video(video, video_file, model_file, tmp_path, capsys):
    out, table = tmp_path / "annotated.mp4", tmp_path / "predictions.csv"
    assert cli.main(["live", str(video_file), "--out", str(out), "--csv", str(table), "--model", str(model_file),
                     "--every", "2", "--smoothing", "0.5"]) == 0
    assert count_frames(out) == len(video) and table.stat().st_size > 0
    assert "frames/s" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    ([], "VIDEO file or --camera"),
    (["{video}", "--camera", "0"], "VIDEO file or --camera"),
    (["{tmp}/missing.mp4"], "does not exist"),
    (["{tmp}/notes.mp4"], "not a video OpenCV can read"),
    (["{video}", "--out", "{tmp}"], "is a folder"),
    (["{video}", "--out", "{tmp}/notes.mp4/x.mp4"], "cannot write"),
    (["{video}", "--out", "{tmp}/x.gif"], "must end in"),
    (["{video}", "--model", "{tmp}/missing.keras"], "does not exist"),
    (["{video}", "--model", "{tmp}/odd.keras"], "square face crops"),
    (["--camera", "57"], "no camera at index 57"),
])
def test_cli_bad_input_is_a_clear_error(args, message, video_file, tmp_path, capsys):
    (tmp_path / "notes.mp4").write_text("not a video\n" * 20)
    inputs = keras.Input((48, 40, 1))
    odd = keras.Model(inputs, keras.layers.Dense(7)(keras.layers.Flatten()(inputs)))
    odd.save(tmp_path / "odd.keras")
    argv = ["live"] + [a.format(video=video_file, tmp=tmp_path) for a in args]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "fercourse: error:" in err and message in err
    assert not list(tmp_path.glob(".*")), "a failed run left a temporary file"


# --------------------------------------------------------------------------- re-smoothing and calibration

def test_resmooth_equals_running_with_that_constant(model, video):
    raw = live.LivePipeline(model, detect_every=2, smoothing=0.0, draw=False).run(video.frames())
    direct = live.LivePipeline(model, detect_every=2, smoothing=0.7, draw=False).run(video.frames())
    again = live.resmooth(raw, 0.7, EMOTIONS)
    for a, b in zip(direct, again):
        assert [f.face_id for f in a.faces] == [f.face_id for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            assert np.allclose(fa.probs, fb.probs) and fa.label == fb.label
    with pytest.raises(ValueError, match="tau"):
        live.resmooth(raw, -1)


def test_calibrate_retrains_only_the_last_layer(model, video):
    results = live.LivePipeline(model, detect_every=1, draw=False).run(video.frames())
    crops, labels, _ = live_scores.labelled_crops(results, video, EMOTIONS)
    before = [w.copy() for w in model.get_weights()]
    tuned = live.calibrate(model, crops, labels, epochs=15, learning_rate=0.05, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "the model itself changed"
    old, new = model.get_weights(), tuned.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(old[:-2], new[:-2])), "frozen layers moved"
    assert not np.array_equal(old[-2], new[-2])
    x = crops[..., None].astype("float32")
    fit_before = (model.predict(x, verbose=0).argmax(1) == labels).mean()
    fit_after = (tuned.predict(x, verbose=0).argmax(1) == labels).mean()
    assert fit_after > fit_before
    with pytest.raises(ValueError, match="crops"):
        live.calibrate(model, crops[:3], labels[:2])


def test_stages_can_be_timed_in_cpu_time(model, video):
    import time

    ticks = iter(range(10 ** 6))
    counted = live.LivePipeline(model, detect_every=1, draw=False, clock=lambda: float(next(ticks)))
    result = counted.process(video.frame(0))
    assert all(v % 1000 == 0 for v in result.timings.values()), "a stage was timed with another clock"
    assert result.timings["detect"] == 1000 and result.timings["total"] >= sum(
        result.timings[s] for s in live.STAGES)
    cpu = live.LivePipeline(model, detect_every=1, clock=time.process_time).process(video.frame(0))
    assert cpu.timings["total"] >= 0 and cpu.timings["detect"] > 0
