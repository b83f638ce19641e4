"""Matplotlib figures of training, drawn without pyplot so no window or GUI backend is needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnist_lab.fileio import atomic_path

CURVES = (("accuracy", "Accuracy"), ("loss", "Loss"))


def curves_figure(history: Sequence[dict[str, float]], title: str = ""):
    """A figure with accuracy and loss per epoch, training and validation, side by side."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    figure = Figure(figsize=(10, 4), layout="constrained")
    for axes, (key, label) in zip(figure.subplots(1, 2), CURVES, strict=True):
        axes.plot(epochs, [row[key] for row in history], "o-", label="training")
        axes.plot(epochs, [row[f"val_{key}"] for row in history], "s--", label="validation")
        axes.set_title(label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def save_figure(figure, path: str | Path) -> Path:
    """Save a figure as PNG through a temporary file, so a reader never sees half an image."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path


def confusion_matrix_figure(confusion, title: str = ""):
    """A heatmap of a confusion matrix with the count written in each cell.

    Colours follow a log scale, so the few mistakes stay visible next to the thousand correct
    answers on the diagonal; each count is written in white on dark cells, black on light ones.
    """
    import numpy as np
    from matplotlib.colors import SymLogNorm
    from matplotlib.figure import Figure

    confusion = np.asarray(confusion)
    classes = range(confusion.shape[0])
    norm = SymLogNorm(linthresh=1, vmin=0, vmax=max(int(confusion.max()), 1), base=10)
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(confusion, cmap="Blues", norm=norm)
    for (row, col), count in np.ndenumerate(confusion):
        colour = "white" if norm(count) > 0.6 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(classes)
    axes.set_yticks(classes)
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    figure.colorbar(image, ax=axes, label="images (log scale)")
    if title:
        axes.set_title(title)
    return figure


def gallery_figure(images, captions: Sequence[str], columns: int = 8, title: str = ""):
    """A grid of 28x28 grayscale images, each with its caption above it (e.g. "true 4 → 9")."""
    import math

    import numpy as np
    from matplotlib.figure import Figure

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if len(images) != len(captions):
        raise ValueError(
            f"gallery_figure needs one caption per image, got {len(images)} images "
            f"and {len(captions)} captions."
        )
    if len(images) and images.ndim != 3:
        raise ValueError(f"gallery_figure expects images (N, 28, 28), got shape {images.shape}.")
    if columns < 1:
        raise ValueError(f"columns must be an int >= 1, got {columns}.")
    white = 255 if np.issubdtype(images.dtype, np.integer) else 1.0
    columns = max(1, min(columns, len(images)))
    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(
        figsize=(1.4 * columns, 1.7 * rows + (0.4 if title else 0)), layout="constrained"
    )
    grid = np.asarray(figure.subplots(rows, columns, squeeze=False))
    for index, axes in enumerate(grid.flat):
        if index >= len(images):
            axes.set_axis_off()
            continue
        axes.imshow(images[index], cmap="gray", vmin=0, vmax=white)
        axes.set_title(captions[index], fontsize=9)
        axes.set_xticks([])
        axes.set_yticks([])
    if not len(images):
        grid.flat[0].text(0.5, 0.5, "nothing to show", ha="center", va="center")
    if title:
        figure.suptitle(title)
    return figure


OVERLAY = (("val_accuracy", "Validation accuracy"), ("val_loss", "Validation loss"))


def overlay_figure(histories: dict[str, Sequence[dict[str, float]]], title: str = ""):
    """Validation accuracy and loss per epoch of several models, one line each, to compare them."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    panels = figure.subplots(1, 2, sharex=True)
    for axes, (key, label) in zip(panels, OVERLAY, strict=True):
        for name, history in histories.items():
            axes.plot(
                [row["epoch"] for row in history], [row[key] for row in history], "o-", label=name
            )
        axes.set_title(label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(label.lower())
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if histories:
            axes.legend()
    if title:
        figure.suptitle(title)
    return figure


def accuracy_vs_time_figure(points: Sequence[tuple[str, float, float]], title: str = ""):
    """Validation accuracy (in %) against training seconds, one named point per model: the
    trade-off the course chooses by (the test set is kept for the one final score)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 5), layout="constrained")
    axes = figure.subplots()
    seconds = [point[1] for point in points]
    percent = [100 * point[2] for point in points]
    axes.plot(seconds, percent, "o", linestyle="none")
    for (name, _, _), x, y in zip(points, seconds, percent, strict=True):
        axes.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points")
    axes.set_xlabel("training time (seconds)")
    axes.set_ylabel("validation accuracy (%)")
    axes.margins(x=0.2, y=0.15)  # room for the names beside the points
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title)
    return figure
