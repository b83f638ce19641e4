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
