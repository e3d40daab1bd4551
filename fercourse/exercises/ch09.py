"""Checks for chapter 9's exercises (real time: smoothing, the latency budget, hysteresis)."""

from __future__ import annotations

import math

import numpy as np

from fercourse.exercises import Verdict, correct, wrong


def check_ema(func, trials: int = 200, seed: int = 0) -> Verdict:
    """Check ``func(previous, current, dt, tau)``: one step of an exponential moving average.

    ``previous`` is the smoothed probability vector so far (``None`` for a face just found),
    ``current`` the model's new one, ``dt`` the seconds since the last step and ``tau`` the time
    constant in seconds (0: no smoothing).  After ``tau`` seconds of a constant input the
    average must have gone 63 % (1 - 1/e) of the way, whatever the frame rate.
    """
    from fercourse.live import ema

    rng = np.random.default_rng(seed)
    cases = [(None, rng.dirichlet(np.ones(7)), 0.1, 0.5), (rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(7)), 0.1, 0.0)]
    for _ in range(trials):
        cases.append((rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(7)), float(rng.uniform(0.005, 0.5)),
                      float(rng.uniform(0.05, 2.0))))
    for previous, current, dt, tau in cases:
        try:
            got = np.asarray(func(None if previous is None else previous.copy(), current.copy(), dt, tau), float)
        except Exception as error:  # the reader's code: report any failure as a verdict
            return wrong(f"func(previous, current, dt={dt:.3f}, tau={tau:.3f}) raised {type(error).__name__}: {error}")
        want = ema(previous, current, dt, tau)
        if got.shape != want.shape or not np.allclose(got, want, atol=1e-9):
            what = ("a face seen for the first time (previous=None)" if previous is None else
                    "tau=0 (no smoothing)" if tau == 0 else f"dt={dt:.3f} s, tau={tau:.3f} s")
            return wrong(f"for {what} the average should be {np.round(want, 4)}, func gave {np.round(got, 4)}"
                         + ("; a fixed weight per frame makes the smoothing depend on the frame rate: "
                            "use 1 - exp(-dt / tau)" if previous is not None and tau > 0 else ""))
    return correct(f"matches the exponential moving average on {len(cases)} steps, at any frame rate.")


def check_setting(table, choice, *, budget_ms: float, max_drop: float = 0.05) -> Verdict:
    """Check a (detect_every, smoothing) setting picked from a table of measured runs.

    ``table`` has one row per setting with columns ``detect_every``, ``smoothing``,
    ``ms_per_frame`` (mean latency per frame), ``accuracy`` and ``flicker`` (label changes per
    second); ``choice`` is a dict with the first two.  Correct when the choice keeps
    ``ms_per_frame`` within ``budget_ms``, loses at most ``max_drop`` accuracy against the most
    accurate setting of the table, and flickers least among the settings that do both.
    """
    import pandas as pd

    table = pd.DataFrame(table)
    need = {"detect_every", "smoothing", "ms_per_frame", "accuracy", "flicker"}
    if not need <= set(table.columns):
        raise ValueError(f"table needs the columns {sorted(need)}; it has {sorted(table.columns)}")
    try:
        k, tau = int(choice["detect_every"]), float(choice["smoothing"])
    except (KeyError, TypeError, ValueError):
        return wrong("choice must be a dict with 'detect_every' (an integer) and 'smoothing' (seconds)")
    row = table[(table.detect_every == k) & np.isclose(table.smoothing, tau)]
    if row.empty:
        return wrong(f"detect_every={k}, smoothing={tau} is not a setting of the table")
    row = row.iloc[0]
    floor = table.accuracy.max() - max_drop
    allowed = table[(table.ms_per_frame <= budget_ms + 1e-9) & (table.accuracy >= floor - 1e-12)]
    if row.ms_per_frame > budget_ms + 1e-9:
        return wrong(f"it takes {row.ms_per_frame:.1f} ms a frame, over the budget of {budget_ms:.1f} ms")
    if row.accuracy < floor - 1e-12:
        return wrong(f"its accuracy {row.accuracy:.1%} is more than {max_drop:.0%} below the best setting's "
                     f"{table.accuracy.max():.1%}")
    best = allowed.flicker.min()
    if row.flicker > best + 1e-12:
        other = allowed.loc[allowed.flicker.idxmin()]
        return wrong(f"it flickers {row.flicker:.2f} times a second; detect_every={int(other.detect_every)}, "
                     f"smoothing={other.smoothing} also meets both limits with {best:.2f}")
    return correct(f"{row.ms_per_frame:.1f} ms a frame within {budget_ms:.1f} ms, accuracy {row.accuracy:.1%}, and the "
                   f"least flicker of the settings that qualify ({row.flicker:.2f} changes per second).")


def apply_rule(rule, results, class_names):
    """The run as the emoji would show it under ``rule(previous_label, probs) -> label``, per face.

    ``previous_label`` is the index shown for that face on its last frame (``None`` on its
    first), ``probs`` the model's probabilities on this frame (the ``raw`` ones).  Returns new
    results whose ``probs`` are one-hot on the label shown, so that
    :func:`fercourse.live_scores.score_run` scores what the rule shows.
    """
    from fercourse.live import FaceRecord, FrameResult

    n = len(class_names)
    shown, out = {}, []
    for result in results:
        faces = []
        for r in result.faces:
            label = rule(shown.get(r.face_id), np.asarray(r.raw, float).copy())
            if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or not 0 <= label < n:
                raise TypeError(f"the rule returned {label!r}; it must return a class index 0..{n - 1}")
            shown[r.face_id] = int(label)
            probs = np.eye(n)[int(label)]
            faces.append(FaceRecord(r.face_id, r.box, probs, r.raw, class_names[int(label)], r.detected, r.crop))
        out.append(FrameResult(result.index, result.time, faces, result.timings, result.detected))
    return out


def check_hysteresis(rule, results, video, class_names, *, max_drop: float = 0.05,
                     min_cut: float = 0.3) -> Verdict:
    """Check a hysteresis rule ``rule(previous_label, probs) -> label`` on a recorded run.

    The rule decides which emoji to show from this frame's raw probabilities and the label
    shown before.  Correct when, against showing the argmax of every frame, it cuts flicker by
    at least ``min_cut`` (a fraction) and costs at most ``max_drop`` per-frame accuracy.
    """
    from fercourse.live_scores import score_run

    def argmax(previous, probs):
        return int(np.argmax(probs))

    try:
        ruled = apply_rule(rule, results, class_names)
    except Exception as error:  # the reader's code: report any failure as a verdict
        return wrong(f"the rule failed: {type(error).__name__}: {error}")
    base = score_run(apply_rule(argmax, results, class_names), video, class_names)
    mine = score_run(ruled, video, class_names)
    if not math.isfinite(mine["accuracy"]):
        return wrong("no face was scored: are these the results of this video?")
    if mine["flicker"] > (1 - min_cut) * base["flicker"]:
        return wrong(f"flicker {mine['flicker']:.2f} changes per second against {base['flicker']:.2f} for the "
                     f"plain argmax: cut it by at least {min_cut:.0%}")
    if mine["accuracy"] < base["accuracy"] - max_drop:
        return wrong(f"accuracy {mine['accuracy']:.1%} against {base['accuracy']:.1%} for the plain argmax: "
                     f"it may cost at most {max_drop:.0%}")
    return correct(f"flicker {base['flicker']:.2f} -> {mine['flicker']:.2f} changes per second, accuracy "
                   f"{base['accuracy']:.1%} -> {mine['accuracy']:.1%}.")
