"""The pictures of the field: image grids, training curves, confusion matrices..."""

from __future__ import annotations

import numpy as np


def image_grid(images, titles=None, ncols=8, size=1.2, cmap="gray", axes_off=True, suptitle=None):
    """Draw images (N, H, W) or (N, H, W, C) in a grid; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles is not None else 1)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.ravel()[i]
        ax.imshow(img, cmap=cmap, vmin=0, vmax=255 if img.dtype == np.uint8 else None)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        if not axes_off:
            ax.axis("on")
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def draw_boxes(image, boxes, ax=None, *, title=None, color="yellow", linewidth=1.0, fontsize=9):
    """Show an image with face boxes ``(x, y, w, h)`` outlined on it; returns the Axes.

    ``boxes`` is what :func:`fercourse.faces.detect_faces` returns (an (N, 4) array, N may be
    0).  Grayscale images are drawn in gray from 0 to 255, colour ones as they are.  Without
    ``ax`` a new figure is made.
    """
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C); got shape {image.shape}")
    given = boxes
    boxes = np.asarray(boxes, dtype=float)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or (boxes[:, 2:] < 0).any():
        raise ValueError(f"boxes must be rows of (x, y, w, h) with w, h >= 0; got {given!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4 * image.shape[0] / image.shape[1]))
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else None)
    else:
        ax.imshow(image)
    for x, y, w, h in boxes:
        ax.add_patch(plt.Rectangle((x, y), w, h, fill=False, color=color, lw=linewidth))
    if title is not None:
        ax.set_title(title, fontsize=fontsize)
    ax.axis("off")
    return ax


def _class_list(class_names, k, what):
    names = list(class_names)
    if len(names) != k:
        raise ValueError(f"{what} has {k} classes but {len(names)} class names were given")
    return names


def plot_confusion(cm, class_names, normalize=True, ax=None, title=None, cmap="Blues"):
    """Heatmap of a confusion matrix (rows: true class, columns: predicted), with seaborn.

    ``cm`` holds counts (as :func:`fercourse.evaluate.confusion` returns).  ``normalize=True``
    shows each row as fractions of its true class (:func:`fercourse.evaluate.normalize_confusion`),
    so the diagonal reads as per-class accuracy and rare classes (disgust) are as visible as
    common ones; ``normalize=False`` shows the counts.  Returns the Figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from .evaluate import normalize_confusion

    shown = normalize_confusion(cm, "true" if normalize else None)
    names = _class_list(class_names, shown.shape[0], "cm")
    fmt, vmax = (".2f", 1.0) if normalize else (".0f", None)
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.75 * len(names) + 2, 0.65 * len(names) + 1.2))
    else:
        fig = ax.figure
    sns.heatmap(shown, annot=True, fmt=fmt, cmap=cmap, vmin=0, vmax=vmax, square=True, cbar=False,
                xticklabels=names, yticklabels=names, ax=ax, annot_kws={"fontsize": 8})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or ("confusion (rows sum to 1)" if normalize else "confusion (counts)"))
    fig.tight_layout()
    return fig


def plot_history(history, metrics=("loss", "accuracy"), title=None, mark_best="val_accuracy"):
    """Training curves: one panel per metric, training and validation side by side.

    ``history`` is a dict of lists (``TrainResult.history``, a Keras ``History``'s ``.history``
    or a ``History`` itself).  The epoch with the best ``mark_best`` is marked, which is where
    overfitting has started to cost: after it, training keeps improving and validation does not.
    """
    import matplotlib.pyplot as plt

    history = getattr(history, "history", history)
    if not isinstance(history, dict) or not history:
        raise ValueError("history must be a non-empty dict of per-epoch lists (e.g. TrainResult.history)")
    missing = [m for m in metrics if m not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it holds {sorted(history)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    best = None
    if mark_best in history and len(history[mark_best]):
        values = np.asarray(history[mark_best], dtype=float)
        best = int(np.nanargmin(values) if "loss" in mark_best else np.nanargmax(values)) + 1
    for ax, m in zip(axes[0], metrics):
        epochs = np.arange(1, len(history[m]) + 1)
        ax.plot(epochs, history[m], "o-", label="training")
        if f"val_{m}" in history:
            ax.plot(epochs, history[f"val_{m}"], "s-", label="validation")
        if best is not None:
            ax.axvline(best, color="gray", ls=":", lw=1, label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_probability_bars(images, probs, class_names, labels=None, ncols=4, size=2.0):
    """Faces with the bar chart of their class probabilities underneath (mixed emotions).

    The true class (when ``labels`` is given) is drawn in green, the predicted one outlined;
    a face whose second bar is nearly as tall as the first shows a mixed expression.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    probs = np.asarray(probs, dtype=float)
    if probs.ndim != 2 or len(probs) != len(images):
        raise ValueError(f"probs must be (N, num_classes) for the {len(images)} images; got shape {probs.shape}")
    names = _class_list(class_names, probs.shape[1], "probs")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images")
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(2 * nrows, ncols, figsize=(size * ncols * 1.2, size * nrows * 2.1),
                             gridspec_kw={"height_ratios": [1.0, 0.9] * nrows}, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        r, c = divmod(i, ncols)
        ax_img, ax_bar = axes[2 * r, c], axes[2 * r + 1, c]
        ax_img.imshow(images[i], cmap="gray", vmin=0, vmax=255 if images.dtype == np.uint8 else None)
        pred = int(np.argmax(probs[i]))
        title = f"pred: {names[pred]}"
        if labels is not None:
            title = f"true: {names[int(labels[i])]}\n" + title
        ax_img.set_title(title, fontsize=8)
        colors = ["#9ecae1"] * len(names)
        if labels is not None:
            colors[int(labels[i])] = "#31a354"
        ax_bar.axis("on")
        bars = ax_bar.barh(np.arange(len(names)), probs[i], color=colors)
        bars[pred].set_edgecolor("black")
        bars[pred].set_linewidth(1.2)
        ax_bar.set_yticks(np.arange(len(names)), names, fontsize=7)
        ax_bar.invert_yaxis()
        ax_bar.set_xlim(0, 1)
        ax_bar.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig


def plot_per_class(table, title=None, ax=None, ylabel="accuracy"):
    """Grouped bars of per-class scores: one group per class, one bar per column of ``table``.

    ``table`` is a DataFrame indexed by class (e.g. our models' per-class accuracies beside a
    paper's); a Series or the output of :func:`fercourse.evaluate.per_class_accuracy` (its
    ``accuracy`` column is used) works too.  Returns the Figure.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    if isinstance(table, pd.Series):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError("table must be a non-empty DataFrame indexed by class")
    if {"n", "correct", "accuracy"} <= set(table.columns):
        table = table[["accuracy"]]
    table = table.select_dtypes("number")
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(table) * max(1, len(table.columns)) / 2 + 3), 3.4))
    else:
        fig = ax.figure
    width = 0.8 / len(table.columns)
    x = np.arange(len(table))
    for j, col in enumerate(table.columns):
        ax.bar(x + (j - (len(table.columns) - 1) / 2) * width, table[col].to_numpy(dtype=float), width, label=str(col))
    ax.set_xticks(x, [str(i) for i in table.index], rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    if len(table.columns) > 1:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
