"""The course's named training recipes, and :func:`train_named`: a full run in one call.

``fercourse train vgg_bn`` calls :func:`train_named`, which builds the network, trains it by its
recipe for the active profile through :func:`fercourse.train.fit`, and tests it on PrivateTest.
Kill it at any time and run the same command again: it continues where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import atomic, config

__all__ = ["RECIPES", "recipe", "default_run_dir", "train_named", "test_metrics"]

RECIPES = {
    # name: how train_named trains it, per profile.  Epochs are upper bounds: early stopping
    # on PublicTest may end a run sooner.
    "compact": dict(quick=dict(epochs=6, batch_size=256, augment="flip"),
                    full=dict(epochs=60, batch_size=128, augment="affine")),
    "vgg_bn": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                   full=dict(epochs=100, batch_size=64, augment="affine")),
    "alizadeh_fazel_shallow": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                                   full=dict(epochs=50, batch_size=128, augment="affine")),
    "alizadeh_fazel_deep": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                                full=dict(epochs=60, batch_size=128, augment="affine")),
    "mememoji": dict(quick=dict(epochs=3, batch_size=128, augment="standard"),
                     full=dict(epochs=60, batch_size=128, augment="affine")),
    # Breuer & Kimmel's own optimiser (Adam 1e-3, decay 1e-5) is kept: lr_schedule=None.
    "breuer_kimmel": dict(quick=dict(epochs=3, batch_size=128, augment="standard", lr_schedule=None),
                          full=dict(epochs=100, batch_size=128, augment="affine", lr_schedule=None,
                                    patience=15)),
}


def recipe(model_name, **overrides) -> dict:
    """The ``fit`` arguments of ``model_name``'s recipe for the active profile, with overrides."""
    return {**RECIPES.get(model_name, {}).get(config.profile(), {}),
            **{k: v for k, v in overrides.items() if v is not None}}


def default_run_dir(model_name, data_name="data") -> Path:
    """``runs/<model>-<data>-<profile>`` at the course's top (or the working folder).

    The same command gets the same folder, which is what lets a killed run resume.
    """
    root = config.project_root() or Path.cwd()
    return root / "runs" / f"{model_name}-{data_name}-{config.profile()}"


def test_metrics(model, data) -> dict:
    """PrivateTest figures of ``model`` on ``data``: accuracy (with and without mirror images),
    top-2, macro-F1, UAR, per-class accuracy and the confusion matrix."""
    from . import evaluate

    x_test, y_test = data.split("PrivateTest")
    if not len(y_test):
        return {}
    t0 = time.perf_counter()
    probs = evaluate.predict_proba(model, x_test)
    rep = evaluate.report(y_test, probs, data.class_names)
    rep_tta = evaluate.report(y_test, evaluate.mirror_average(model, x_test, probs), data.class_names)
    return {
        "data": data.name, "test_split": "PrivateTest", "test_images": int(len(y_test)),
        **{k: v for k, v in rep.items() if k in ("accuracy", "top2_accuracy", "macro_f1", "uar")},
        "accuracy_flip_tta": rep_tta["accuracy"],
        "per_class_accuracy": rep["per_class"]["accuracy"].round(4).to_dict(),
        "confusion": rep["confusion"].tolist(),
        "test_seconds": round(time.perf_counter() - t0, 2),
        "parameters": int(model.count_params()),
    }


def train_named(model_name, *, data=None, run_dir=None, resume=True, verbose="auto", **overrides):
    """Build, train (resumably) and test one of the course's models: the full run in one call.

    Loads the course data when ``data`` is None (:func:`fercourse.datasets.load_course_data`),
    trains on Training with early stopping on PublicTest by :func:`recipe` (``overrides`` such as
    ``epochs=200`` or ``augment="flip"`` replace the recipe's), evaluates the kept weights on
    PrivateTest, writes ``metrics.json`` to the run folder (default :func:`default_run_dir`) and
    returns the :class:`~fercourse.train.TrainResult` with the test scores in ``result.metrics``.
    """
    from . import models, train

    build = models.get_builder(model_name)  # clear error for unknown names, before loading data
    if data is None:
        from .datasets import load_course_data

        data = load_course_data()
    config.seed_everything()
    model = build(input_shape=(*data.image_shape, 1), num_classes=len(data.class_names))
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(model_name, data.name)
    result = train.fit(model, data, run_dir=run_dir, resume=resume, verbose=verbose,
                       **recipe(model_name, **overrides))
    result.metrics.update(test_metrics(result.model, data))
    result.metrics["command"] = f"fercourse train {model_name}"
    atomic.write_json(run_dir / train.METRICS_FILE, result.metrics)
    return result
