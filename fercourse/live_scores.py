"""How good and how fast a live run was, against the test video's truth.

A live run is a list of :class:`fercourse.live.FrameResult`, one per frame.  This module
measures it, and needs nothing of the pipeline but those records:

* **how good**: :func:`score_run` matches the boxes found to the test video's script
  (:class:`fercourse.testvideo.TestVideo`) by overlap (:func:`match_boxes`) and counts faces
  found, boxes on no face, identity switches, per-frame accuracy and :func:`flicker`;
  :func:`labelled_crops` pairs the crops the model saw with their true labels;
* **how fast**: :func:`timing_table` lists each frame's stage timings, :func:`latency_summary`
  gives mean, median and 95th percentile per stage, and the frame rate.

:func:`match_boxes` also serves the pipeline's tracker, which follows faces from frame to frame
by the same overlap rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .faces import box_iou

if TYPE_CHECKING:    # only named in annotations: scoring a run does not need the renderer
    from .testvideo import TestVideo

__all__ = ["match_boxes", "score_run", "labelled_crops", "flicker", "timing_table", "latency_summary"]


# --------------------------------------------------------------------------- scoring a run

def match_boxes(a, b, min_iou: float = 0.3) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of boxes ``a[i]``, ``b[j]`` matched greedily by intersection over union.

    The pair with the largest overlap is taken first, then the next among the boxes left,
    down to ``min_iou``.  Used both to follow faces from frame to frame and to score them.
    """
    iou = box_iou(a, b)
    pairs = []
    if iou.size == 0:
        return pairs
    iou = iou.copy()
    while True:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] < min_iou:
            return pairs
        pairs.append((int(i), int(j)))
        iou[i, :] = -1.0
        iou[:, j] = -1.0


def _class_of(emotion: str, class_names) -> str:
    """The model class a true expression counts as: itself, or angry for disgust in 6 classes."""
    if emotion in class_names:
        return emotion
    if emotion == "disgust" and "angry" in class_names:
        return "angry"
    raise ValueError(f"the video shows {emotion!r}, which is not among the model's classes "
                     f"{', '.join(class_names)}")


def score_run(results, video: TestVideo, class_names, *, min_iou: float = 0.3, min_inside: float = 0.9,
              use: str = "shown") -> dict:
    """Score a live run on a test video against its ground truth.

    Parameters
    ----------
    results : the :class:`fercourse.live.FrameResult` of each frame, in order (frame ``i`` of
        the list is frame ``i`` of the video).
    video : the :class:`fercourse.testvideo.TestVideo` that was played.
    class_names : the model's classes, in its output order.
    min_iou : a box found counts as a true face when it overlaps one with at least this IoU.
    min_inside : faces with less of their box in the frame (walking in or out) are left out
        of recall and accuracy.
    use : ``"shown"`` scores the smoothed label the pipeline draws, ``"raw"`` the model's
        own argmax on that frame.

    Returns
    -------
    dict with ``matches`` (a DataFrame, one row per true face and frame: ``frame``,
    ``time``, ``face_id``, ``track_id`` (-1 when missed), ``true``, ``predicted``,
    ``transition``, ``inside``, ``correct``) and the figures: ``recall`` (true faces found),
    ``false_boxes`` (boxes on no face, per frame), ``id_switches``, ``accuracy`` (faces found,
    outside transitions), ``accuracy_all`` (every true face outside transitions; missed
    faces count as wrong), ``flicker`` (changes of the label shown per second and face) and
    ``true_changes`` (changes of the true label per second and face, the flicker a perfect
    pipeline would have).
    """
    import pandas as pd

    if use not in ("shown", "raw"):
        raise ValueError(f"use={use!r}: 'shown' or 'raw'")
    results = list(results)
    if len(results) > video.n_frames:
        raise ValueError(f"{len(results)} results for a video of {video.n_frames} frames")
    names = tuple(class_names)
    truth = video.truth
    # The script's rows grouped by frame in one pass: slicing the DataFrame per frame cost most
    # of a call, and a chapter scores the same video dozens of times.
    by_frame = {}
    for row in truth.itertuples(index=False):
        by_frame.setdefault(row.frame, []).append(row)
    rows, false_boxes = [], 0
    for i, result in enumerate(results):
        gt = by_frame.get(i)
        records = result.faces
        found = [r.box for r in records]
        gt_boxes = [(row.x, row.y, row.w, row.h) for row in gt] if gt is not None else np.zeros((0, 4))
        pairs = dict(match_boxes(gt_boxes, found, min_iou))
        false_boxes += len(found) - len(pairs)
        if gt is None:
            continue
        for k, row in enumerate(gt):
            j = pairs.get(k)
            record = records[j] if j is not None else None
            if record is None:
                predicted, track = None, -1
            else:
                probs = record.probs if use == "shown" else record.raw
                predicted, track = names[int(np.argmax(probs))], record.face_id
            true = _class_of(row.emotion, names)
            rows.append(dict(frame=i, time=row.time, face_id=row.face_id, track_id=track, true=true,
                             predicted=predicted, transition=bool(row.transition), inside=row.inside,
                             correct=predicted == true))
    matches = pd.DataFrame(rows, columns=["frame", "time", "face_id", "track_id", "true", "predicted",
                                          "transition", "inside", "correct"])
    whole = matches[matches.inside >= min_inside]
    found = whole[whole.track_id >= 0]
    steady = ~whole.transition
    switches = 0
    for _, g in matches[matches.track_id >= 0].groupby("face_id"):
        switches += int((g.track_id.to_numpy()[1:] != g.track_id.to_numpy()[:-1]).sum())
    return {
        "matches": matches,
        "frames": len(results),
        "recall": float(len(found) / len(whole)) if len(whole) else float("nan"),
        "false_boxes": false_boxes / max(1, len(results)),
        "id_switches": switches,
        "accuracy": float(found[~found.transition].correct.mean()) if len(found) else float("nan"),
        "accuracy_all": float(whole[steady].correct.mean()) if steady.any() else float("nan"),
        "flicker": flicker(results, video.fps, use=use),
        "true_changes": _changes_per_second(truth, video.fps),
    }


def labelled_crops(results, video: TestVideo, class_names, *, min_iou: float = 0.3):
    """The crops a live run fed its model, with their true labels: ``(crops, labels, face_ids)``.

    Only faces found and outside transitions are kept (a face half-way between two
    expressions has no single label).  This is what calibrating on a filmed script needs
    (:func:`fercourse.live.calibrate`).
    """
    names = tuple(class_names)
    matches = score_run(results, video, names, min_iou=min_iou)["matches"]
    kept = matches[(matches.track_id >= 0) & ~matches.transition]
    crops, labels, ids = [], [], []
    for row in kept.itertuples():
        record = next(r for r in results[row.frame].faces if r.face_id == row.track_id)
        if record.crop is None:
            raise ValueError(f"the results of frame {row.frame} hold no crops")
        crops.append(record.crop)
        labels.append(names.index(row.true))
        ids.append(row.face_id)
    if not crops:
        raise ValueError("no face of the video was found outside a transition: nothing to calibrate on")
    return np.stack(crops), np.asarray(labels), np.asarray(ids)


def _changes_per_second(truth, fps) -> float:
    changes, seconds = 0, 0.0
    for _, g in truth.groupby("face_id"):
        labels = g.sort_values("frame").emotion.to_numpy()
        changes += int((labels[1:] != labels[:-1]).sum())
        seconds += len(g) / fps
    return changes / seconds if seconds else float("nan")


def flicker(results, fps: float, *, use: str = "shown") -> float:
    """Changes of the label shown over a face, per second of that face on screen.

    Each track (face id) is followed through the frames; every frame where its label differs
    from its label on the previous frame it was seen is one change.  The sum over tracks is
    divided by the seconds the tracks were on screen (frames seen / ``fps``).
    """
    last, changes, frames = {}, 0, 0
    for result in results:
        for record in result.faces:
            probs = record.probs if use == "shown" else record.raw
            label = int(np.argmax(probs))
            if record.face_id in last and last[record.face_id] != label:
                changes += 1
            last[record.face_id] = label
            frames += 1
    return changes / (frames / fps) if frames else float("nan")


# --------------------------------------------------------------------------- timings

def timing_table(results):
    """Per-frame stage timings as a DataFrame (ms), one row per frame.

    Columns: ``detected``, ``faces``, then one per timed stage and ``total``, in the order the
    pipeline timed them (:data:`fercourse.live.STAGES`).  They are read from the results
    themselves (:attr:`fercourse.live.FrameResult.timings`), so measuring a run needs nothing
    of the pipeline but its records.
    """
    import pandas as pd

    results = list(results)
    columns = list(dict.fromkeys(name for r in results for name in r.timings))
    table = pd.DataFrame([r.timings for r in results], columns=columns)
    table.insert(0, "detected", [r.detected for r in results])
    table.insert(1, "faces", [len(r.faces) for r in results])
    return table


def latency_summary(results, *, skip: int = 0):
    """Mean, median (p50) and 95th percentile per stage and in total, in ms, and the frame rate.

    Returns a DataFrame with rows ``mean, p50, p95, share`` (share of the mean total) and
    columns the stages + ``total``; ``fps`` (1000 / mean total) is in ``table.attrs["fps"]``.
    The first ``skip`` frames are left out (warm-up).
    """
    import pandas as pd

    table = timing_table(results[skip:]).drop(columns=["detected", "faces"])
    if len(table) == 0:
        raise ValueError("no frames to summarise")
    if "total" not in table:
        raise ValueError("the results hold no timings (FrameResult.timings has no 'total'): "
                         "they were not made by fercourse.live.LivePipeline.process")
    summary = pd.DataFrame({"mean": table.mean(), "p50": table.median(), "p95": table.quantile(0.95)}).T
    summary.loc["share"] = summary.loc["mean"] / summary.loc["mean", "total"]
    summary.attrs["fps"] = 1000.0 / summary.loc["mean", "total"]
    summary.attrs["frames"] = len(table)
    return summary
