"""The course's pictures: they draw what they are given, and refuse mismatched inputs clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from fercourse import plots  # noqa: E402

NAMES = ["angry", "happy", "sad"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_layout():
    fig = plots.image_grid(np.zeros((5, 8, 8), np.uint8), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6


def test_plot_confusion_normalises_rows():
    cm = np.array([[8, 2, 0], [1, 1, 0], [0, 0, 0]])
    fig = plots.plot_confusion(cm, NAMES, normalize=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["0.80", "0.20", "0.00"]
    assert texts[6:] == ["0.00", "0.00", "0.00"]  # an empty row stays 0, not NaN
    counts = plots.plot_confusion(cm, NAMES, normalize=False)
    assert [t.get_text() for t in counts.axes[0].texts][:2] == ["8", "2"]


def test_plot_confusion_rejects_mismatch():
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        plots.plot_confusion(np.eye(3), NAMES[:2])
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion(np.ones((2, 3)), NAMES)


def test_plot_history_marks_best_epoch():
    hist = {"loss": [1.0, 0.8, 0.6], "val_loss": [1.1, 0.9, 1.0],
            "accuracy": [0.3, 0.5, 0.7], "val_accuracy": [0.3, 0.6, 0.5]}
    fig = plots.plot_history(hist)
    assert len(fig.axes) == 2
    labels = [line.get_label() for line in fig.axes[1].lines]
    assert "best epoch (2)" in labels
    with pytest.raises(ValueError, match="no \\['f1'\\]"):
        plots.plot_history(hist, metrics=("f1",))


def test_plot_probability_bars():
    probs = np.array([[0.5, 0.4, 0.1], [0.1, 0.1, 0.8]])
    fig = plots.plot_probability_bars(np.zeros((2, 8, 8), np.uint8), probs, NAMES, labels=[1, 2], ncols=2)
    bar_axes = [ax for ax in fig.axes if ax.patches]
    assert len(bar_axes) == 2
    heights = [p.get_width() for p in bar_axes[0].patches]
    np.testing.assert_allclose(heights, probs[0])
    with pytest.raises(ValueError, match="probs must be"):
        plots.plot_probability_bars(np.zeros((3, 8, 8)), probs, NAMES)


def test_plot_per_class_groups_columns():
    table = pd.DataFrame({"ours": [0.5, 0.8, 0.4], "paper": [0.6, 0.9, 0.5]}, index=NAMES)
    fig = plots.plot_per_class(table)
    assert len(fig.axes[0].patches) == 6
    with pytest.raises(ValueError, match="non-empty DataFrame"):
        plots.plot_per_class(pd.DataFrame())


def test_draw_boxes_outlines_each_box_on_the_image():
    image = np.zeros((30, 40), np.uint8)
    ax = plots.draw_boxes(image, np.array([[2, 3, 10, 12], [20, 5, 8, 8]]), title="two faces")
    rects = [(p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches]
    assert rects == [(2, 3, 10, 12), (20, 5, 8, 8)]
    assert ax.get_title() == "two faces" and ax.images[0].get_array().shape == (30, 40)
    _, (left, right) = plt.subplots(1, 2)
    assert plots.draw_boxes(np.zeros((30, 40, 3), np.uint8), np.zeros((0, 4)), ax=right) is right
    assert not right.patches and not left.images
    with pytest.raises(ValueError, match=r"rows of \(x, y, w, h\)"):
        plots.draw_boxes(image, [1, 2, 3])
    with pytest.raises(ValueError, match="w, h >= 0"):
        plots.draw_boxes(image, [[0, 0, -5, 5]])
    with pytest.raises(ValueError, match="got shape"):
        plots.draw_boxes(np.zeros(5), [])
