"""Plots: each figure has the panels, lines, labels and texts its docstring promises."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import AxesImage, imread
from matplotlib.ticker import MaxNLocator

from mnist_lab.evaluation.plots import (
    accuracy_vs_time_figure,
    confusion_matrix_figure,
    gallery_figure,
    overlay_figure,
    save_figure,
)


def history(*val_accuracy: float) -> list[dict[str, float]]:
    """History rows as a run's history.json holds them."""
    return [
        {
            "epoch": epoch,
            "accuracy": value,
            "loss": 1 - value,
            "val_accuracy": value,
            "val_loss": 2 * (1 - value),
            "seconds": 1.5,
        }
        for epoch, value in enumerate(val_accuracy, start=1)
    ]


@pytest.fixture
def confusion() -> np.ndarray:
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.fill_diagonal(confusion, 1000)
    confusion[4, 9] = 12
    confusion[7, 1] = 1
    return confusion


def test_confusion_matrix_figure_writes_every_count(confusion):
    figure = confusion_matrix_figure(confusion, title="reference: 99% right")
    axes = figure.get_axes()[0]  # the second axes is the colour bar
    assert axes.get_title() == "reference: 99% right"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("predicted digit", "true digit")
    assert [tick.get_text() for tick in axes.get_xticklabels()] == [str(d) for d in range(10)]
    assert list(axes.get_yticks()) == list(range(10))
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in axes.texts}
    assert len(texts) == 100
    assert texts[(4, 9)].get_text() == "12" and texts[(7, 1)].get_text() == "1"
    assert texts[(3, 3)].get_text() == "1000" and texts[(0, 5)].get_text() == "0"
    # Readable on both: white text on the dark diagonal, black on light cells.
    assert texts[(3, 3)].get_color() == "white" and texts[(0, 5)].get_color() == "black"
    np.testing.assert_array_equal(axes.get_images()[0].get_array(), confusion)


def test_gallery_figure_shows_each_image_with_its_caption():
    images = np.random.default_rng(0).integers(0, 256, size=(11, 28, 28)).astype(np.uint8)
    captions = [f"true {i % 10} → {(i + 1) % 10}\n{90 + i}%" for i in range(11)]
    figure = gallery_figure(images, captions, columns=4, title="the worst mistakes")
    panels = figure.get_axes()
    assert len(panels) == 12  # 3 rows of 4, the last cell empty
    shown = [axes for axes in panels if axes.get_images()]
    assert len(shown) == 11 and not panels[-1].axison
    assert [axes.get_title() for axes in shown] == captions
    for axes, image in zip(shown, images, strict=True):
        assert isinstance(axes.get_images()[0], AxesImage)
        np.testing.assert_array_equal(axes.get_images()[0].get_array(), image)
        assert len(axes.get_xticks()) == 0 and len(axes.get_yticks()) == 0
    assert figure.get_suptitle() == "the worst mistakes"


def test_gallery_figure_needs_one_caption_per_image():
    with pytest.raises(ValueError, match="one caption per image, got 2 images and 1 captions"):
        gallery_figure(np.zeros((2, 28, 28), np.uint8), ["only one"])


def test_an_empty_gallery_says_so():
    figure = gallery_figure(np.zeros((0, 28, 28), np.uint8), [], title="no mistakes")
    assert [text.get_text() for text in figure.get_axes()[0].texts] == ["nothing to show"]


def test_overlay_figure_has_one_line_per_model_in_both_panels():
    histories = {"reference": history(0.97, 0.98, 0.99), "tiny-cnn": history(0.9, 0.95)}
    figure = overlay_figure(histories, title="benchmark")
    panels = figure.get_axes()
    assert [axes.get_title() for axes in panels] == ["Validation accuracy", "Validation loss"]
    assert figure.get_suptitle() == "benchmark"
    for axes, key in zip(panels, ("val_accuracy", "val_loss"), strict=True):
        lines = axes.get_lines()
        assert [line.get_label() for line in lines] == ["reference", "tiny-cnn"]
        assert [t.get_text() for t in axes.get_legend().get_texts()] == ["reference", "tiny-cnn"]
        for line, rows in zip(lines, histories.values(), strict=True):
            np.testing.assert_allclose(line.get_xdata(), [row["epoch"] for row in rows])
            np.testing.assert_allclose(line.get_ydata(), [row[key] for row in rows])
        assert axes.get_xlabel() == "epoch"
        assert isinstance(axes.xaxis.get_major_locator(), MaxNLocator)
    assert panels[0].get_shared_x_axes().joined(panels[0], panels[1])


def test_accuracy_vs_time_figure_labels_each_point():
    points = [("reference", 47.2, 0.989), ("tiny-cnn", 12.5, 0.975), ("wide", 90.0, 0.991)]
    figure = accuracy_vs_time_figure(points, title="accuracy against time")
    axes = figure.get_axes()[0]
    (line,) = axes.get_lines()
    np.testing.assert_allclose(line.get_xdata(), [47.2, 12.5, 90.0])
    np.testing.assert_allclose(line.get_ydata(), [98.9, 97.5, 99.1])
    assert [text.get_text() for text in axes.texts] == ["reference", "tiny-cnn", "wide"]
    assert [text.xy for text in axes.texts] == [(47.2, 98.9), (12.5, 97.5), (90.0, 99.1)]
    assert axes.get_xlabel() == "training time (seconds)"
    assert axes.get_ylabel() == "validation accuracy (%)"
    assert axes.get_title() == "accuracy against time"


def test_save_figure_writes_a_png_matplotlib_reads_back(tmp_path, confusion):
    path = save_figure(confusion_matrix_figure(confusion), tmp_path / "confusion_matrix.png")
    assert path == tmp_path / "confusion_matrix.png"
    image = imread(path)
    assert image.shape[:2] == (600, 700)
    assert image.std() > 0.05
    assert [p.name for p in tmp_path.iterdir()] == ["confusion_matrix.png"]  # no temporary left
