"""fercourse: the reusable code of the facial expression recognition course.

The layers, data flowing one way::

    datasets -> faces -> features -> models -> train -> evaluate / plots / explain
       ^                                 ^
     facs (action units, renderer)     config (profiles, data home, seed)

Submodules are imported on first use, so ``import fercourse`` stays fast and pulls in
neither Keras nor OpenCV until a chapter needs them.  ``fercourse/README.md`` is the map: the
layers, which module holds what, and where each chapter's code lives.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "config", "labels", "datasets", "facs", "render", "faces", "features",
    "models", "train", "evaluate", "plots", "exercises", "widgets", "cli", "transfer",
    "emoji", "testvideo", "live", "video", "live_scores",
    "multitask", "partial_labels", "compound",
    "atomic", "images", "face_jobs", "detector_eval", "augment", "sampling", "batches", "recipes",
    "au_units", "explain", "cached_model",
    "loso", "micro", "spotting",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'fercourse' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


def course_model(data=None, *, verbose=0):
    """The course's trained expression network for ``data``, trained once and then cached.

    See :func:`fercourse.cached_model.course_model`.
    """
    from .cached_model import course_model as _course_model

    return _course_model(data, verbose=verbose)


def show_source(obj) -> None:
    """Show an object's source, highlighted, where a chapter teaches it.

    One definition, shown where it is taught: a chapter calls
    ``fercourse.show_source(fercourse.models.breuer_kimmel)`` rather than pasting a copy.
    """
    import inspect

    source = inspect.getsource(obj)
    try:
        from IPython.display import Code, display
    except ImportError:
        print(source)
        return
    display(Code(source, language="python"))
