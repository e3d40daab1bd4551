"""Interactive widgets for the notebooks (ipywidgets).

:func:`face_builder` puts a slider on every action unit and redraws the face as they move,
naming the nearest emotion prototype and its place on Russell's circumplex.  In the static
HTML book a widget is not live; chapter 1 shows a figure of every AU at 0, 0.5 and 1 instead.
"""

from __future__ import annotations

import numpy as np

from . import facs, render

__all__ = ["face_builder", "describe_aus", "face_png"]


def describe_aus(aus) -> str:
    """One line about an AU vector: nearest prototype, similarity, valence and arousal.

    Valence and arousal follow the rule the synthetic faces use
    (:func:`fercourse.facs.valence_arousal`): the nearest prototype's circumplex position,
    scaled by how strongly the face expresses it (:func:`fercourse.facs.prototype_intensity`).
    """
    vec = facs.au_vector(aus)
    best, scores = facs.nearest_prototype(vec, return_scores=True)
    v, a = facs.valence_arousal(best, facs.prototype_intensity(vec, best))
    active = ", ".join(f"AU{au} {x:.2f}" for au, x in facs.au_dict(vec, 0.0).items()) or "none"
    return (f"nearest prototype: {best} (similarity {scores[best]:.2f}); "
            f"valence {v:+.2f}, arousal {a:+.2f}; active AUs: {active}")


def face_png(aus, size: int = 192, identity=None) -> bytes:
    """A face as PNG bytes (for an ``ipywidgets.Image``)."""
    import cv2

    ok, buf = cv2.imencode(".png", render.render_face(aus, identity=identity, size=size))
    if not ok:
        raise RuntimeError("OpenCV could not encode the face as PNG")
    return buf.tobytes()


def face_builder(identity=None, display_size: int = 192):
    """A face driven by one slider per action unit, redrawn live.

    Beside the face at ``display_size`` it shows the same face at 48x48 (what a FER2013
    network sees), the nearest emotion prototype and valence/arousal.  A menu sets all
    sliders to an emotion's EMFACS prototype.

    Returns the ``ipywidgets.VBox``; display it (or leave it last in a cell).
    """
    import cv2
    import ipywidgets as w

    sliders = {
        au: w.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description=f"AU{au}",
                          tooltip=facs.AU_TABLE[au].name, continuous_update=True,
                          layout=w.Layout(width="260px"), style={"description_width": "48px"})
        for au in facs.AUS
    }
    names = {au: w.Label(facs.AU_TABLE[au].name, layout=w.Layout(width="150px")) for au in facs.AUS}
    big = w.Image(format="png", width=display_size, height=display_size)
    small = w.Image(format="png", width=display_size, height=display_size)
    text = w.HTML()
    preset = w.Dropdown(options=["(custom)"] + list(facs.PROTOTYPES), description="prototype")
    state = {"busy": False}

    def current():
        return np.array([sliders[au].value for au in facs.AUS], np.float32)

    def redraw(*_):
        if state["busy"]:
            return
        aus = current()
        big.value = face_png(aus, display_size, identity)
        tiny = render.render_face(aus, identity=identity, size=48)
        tiny = cv2.resize(tiny, (display_size, display_size), interpolation=cv2.INTER_NEAREST)
        small.value = cv2.imencode(".png", tiny)[1].tobytes()
        head, rest = describe_aus(aus).split("; ", 1)
        text.value = f"<b>{head}</b><br>{rest}"

    def apply_preset(change):
        if change["new"] == "(custom)":
            return
        vec = facs.prototype_vector(change["new"])
        state["busy"] = True
        for au, x in zip(facs.AUS, vec):
            sliders[au].value = float(x)
        state["busy"] = False
        redraw()

    for s in sliders.values():
        s.observe(redraw, names="value")
    preset.observe(apply_preset, names="value")
    redraw()
    rows = [w.HBox([sliders[au], names[au]]) for au in facs.AUS]
    half = (len(rows) + 1) // 2
    controls = w.HBox([w.VBox(rows[:half]), w.VBox(rows[half:])])
    faces = w.HBox([w.VBox([w.Label(f"{display_size}x{display_size}"), big]),
                    w.VBox([w.Label("48x48, as FER2013"), small])])
    box = w.VBox([preset, faces, text, controls])
    box.sliders = sliders  # for scripted use and tests
    box.summary = text
    return box
