"""The figures of chapters 9 to 11, drawn from chapter_runs.py's records without pyplot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

COLOURS = {"plain": "tab:gray", "dropout": "tab:blue", "augmentation": "tab:green",
           "l2": "tab:orange"}  # fmt: skip
LABELS = {"plain": "plain", "dropout": "dropout (exercise 12's solution)",
          "augmentation": "random moves", "l2": "L2 penalty 1e-3 on Dense 128"}  # fmt: skip


def _figure(width: float, height: float, columns: int) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(1, columns, squeeze=False)[0]


def save(figure: Any, path: Path) -> Path:
    """The figure as a PNG, written atomically (the course's own `save_figure`)."""
    from mnist_lab.evaluation.plots import save_figure

    return save_figure(figure, path)


def smooth(values: Sequence[float], width: int) -> np.ndarray:
    """A running mean over `width` steps (shorter at the start), to read a noisy loss."""
    values = np.asarray(values, dtype=float)
    sums = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - width, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def _finish(axes: Any, xlabel: str, ylabel: str, title: str) -> None:
    from matplotlib.ticker import MaxNLocator

    if xlabel.startswith(("epoch", "step")):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


# --- chapter 9 --------------------------------------------------------------------------------


def regularization_curves(
    histories: dict[str, dict[str, Any]], best_epoch: int, kept_epoch: int
) -> Any:
    """Training loss (log scale) and validation loss per epoch of each network; the plain
    network's best epoch, and the one early stopping would have kept."""
    figure, (train, validation) = _figure(11, 4.2, 2)
    for name, history in histories.items():
        epochs = np.arange(1, len(history["loss"]) + 1)
        style = {"color": COLOURS[name], "label": LABELS[name]}
        train.plot(epochs, history["loss"], "o-", markersize=3, **style)
        validation.plot(epochs, history["val_crossentropy"], "o-", markersize=3, **style)
    for axes in (train, validation):
        axes.axvline(best_epoch, color="tab:gray", linestyle=":", label="plain's best epoch")
        if kept_epoch != best_epoch:
            axes.axvline(kept_epoch, color="black", linestyle="--", linewidth=1,
                         label="kept by early stopping")  # fmt: skip
    train.set_yscale("log")
    _finish(train, "epoch", "loss (log scale)", "Training loss, as Keras reports it")
    _finish(validation, "epoch", "crossentropy", "Validation loss (crossentropy only)")
    return figure


def augmented_grid(digits: np.ndarray, versions: Sequence[np.ndarray]) -> Any:
    """Each digit (a row) as it is, then moved and turned by each seed of the augmentation."""
    from matplotlib.figure import Figure

    columns = 1 + len(versions)
    figure = Figure(figsize=(1.1 * columns, 1.15 * len(digits)), layout="constrained")
    grid = figure.subplots(len(digits), columns, squeeze=False)
    for row, digit in enumerate(digits):
        for column in range(columns):
            image = digit if column == 0 else versions[column - 1][row]
            axes = grid[row, column]
            axes.imshow(np.squeeze(image), cmap="gray", vmin=0, vmax=1)
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title("as it is" if column == 0 else f"seed {column - 1}", fontsize=9)
    return figure


# --- chapter 10 -------------------------------------------------------------------------------


def learning_rate_range(results: Sequence[dict[str, Any]], guess: float) -> Any:
    """The loss after one epoch and the validation accuracy against the rate, on a log axis."""
    figure, (loss, accuracy) = _figure(11, 4, 2)
    rates = np.array([row["rate"] for row in results])
    losses = np.array([row["loss"] for row in results], dtype=float)
    diverged = np.array([row["diverged"] for row in results])
    finite = np.isfinite(losses)
    loss.plot(rates[finite], losses[finite], "-", color="tab:blue")
    loss.plot(rates[finite & ~diverged], losses[finite & ~diverged], "o", color="tab:blue",
              label="trained")  # fmt: skip
    loss.plot(rates[finite & diverged], losses[finite & diverged], "x", color="tab:red",
              markersize=9, label="diverged")  # fmt: skip
    loss.axhline(guess, color="tab:gray", linestyle="--", label="ln 10, an even guess")
    accuracy.plot(rates, [row["val_accuracy"] for row in results], "o-", color="tab:green",
                  label="validation accuracy")  # fmt: skip
    accuracy.axhline(0.1, color="tab:gray", linestyle="--", label="chance")
    for axes in (loss, accuracy):
        axes.set_xscale("log")
    loss.set_yscale("log")
    _finish(loss, "learning rate (Adam, log scale)", "training loss (log scale)",
            "Training loss after one epoch")  # fmt: skip
    _finish(accuracy, "learning rate (Adam, log scale)", "accuracy",
            "Validation accuracy after one epoch")  # fmt: skip
    return figure


def schedules(runs: dict[str, dict[str, Any]]) -> Any:
    """The rate at each step, the training loss per step (smoothed), the validation loss."""
    figure, (rate, loss, validation) = _figure(11, 3.8, 3)
    labels = {"constant": "constant", "warmup": "warm-up, then cosine decay"}
    colours = {"constant": "tab:red", "warmup": "tab:blue"}
    for name, run in runs.items():
        style = {"color": colours[name], "label": labels[name]}
        rate.plot(run["rates"], **style)
        loss.plot(run["step_loss"], alpha=0.25, color=colours[name])
        loss.plot(smooth(run["step_loss"], 20), **style)
        epochs = np.arange(1, len(run["val_loss"]) + 1)
        validation.plot(epochs, run["val_loss"], "o-", **style)
    loss.set_yscale("log")
    _finish(rate, "step", "learning rate", "Learning rate")
    _finish(loss, "step", "loss (log scale)", "Training loss per step")
    _finish(validation, "epoch", "loss", "Validation loss")
    return figure


def batch_norm(runs: dict[str, dict[str, Any]], guess: float) -> Any:
    """Without and with batch normalization under a high SGD rate (training loss per step,
    validation accuracy per epoch); then two momenta of the moving averages under Adam."""
    figure, (loss, accuracy, momenta) = _figure(11, 3.8, 3)
    styles = {
        "plain": ("tab:red", "no batch normalization"),
        "normalized": ("tab:blue", "batch normalization"),
        "momentum_0.99": ("tab:purple", "momentum 0.99 (Keras)"),
        "momentum_0.8": ("tab:green", "momentum 0.8"),
    }
    for name, run in runs.items():
        colour, label = styles[name]
        epochs = np.arange(1, len(run["val_accuracy"]) + 1)
        if name in ("plain", "normalized"):
            loss.plot(smooth(run["step_loss"], 10), color=colour, label=label)
            accuracy.plot(epochs, run["val_accuracy"], "o-", color=colour, label=label)
        else:
            momenta.plot(epochs, run["val_accuracy"], "o-", color=colour, label=label)
    loss.axhline(guess, color="tab:gray", linestyle="--", label="ln 10")
    for axes in (accuracy, momenta):
        axes.set_ylim(0, 1)
        axes.axhline(0.1, color="tab:gray", linestyle="--", label="chance")
    _finish(loss, "step", "training loss (mean of 10 steps)", "SGD at a high rate: loss")
    _finish(accuracy, "epoch", "validation accuracy", "SGD at a high rate: validation")
    _finish(momenta, "epoch", "validation accuracy (inference mode)",
            "Adam: two momenta of batch norm")  # fmt: skip
    return figure


# --- chapter 11 -------------------------------------------------------------------------------


def bug_curves(results: dict[str, dict[str, Any]], guess: float) -> Any:
    """The loss of each step of exercise 15's script: fixed, shipped, and each bug alone; all
    of it (left), and the range around ln 10 where most of the curves lie (right)."""
    figure, panels = _figure(13, 4.6, 2)
    for axes, title in zip(panels, ("Every step", "Around ln 10"), strict=True):
        for name, run in results.items():
            steps = np.arange(1, len(run["step_loss"]) + 1)
            width = 2.5 if name in ("fixed", "shipped") else 1.3
            axes.plot(steps, run["step_loss"], linewidth=width, label=name)
        axes.axhline(guess, color="black", linestyle="--", linewidth=1, label="ln 10")
        axes.set_yscale("log")
        _finish(axes, "step (batches of 128)", "training loss of the step (log scale)",
                f"Exercise 15's script, its first steps: {title.lower()}")  # fmt: skip
    panels[1].set_ylim(0.05, 20)
    return figure


def overfit_batch(runs: dict[str, list[float]], guess: float) -> Any:
    """The loss of one small batch trained on again and again."""
    figure, (axes,) = _figure(7, 4, 1)
    for name, losses in runs.items():
        axes.plot(np.arange(1, len(losses) + 1), losses, "o-", markersize=3, label=name)
    axes.axhline(guess, color="black", linestyle="--", linewidth=1, label="ln 10")
    axes.set_yscale("log")
    _finish(axes, "step (the same batch every time)", "loss (log scale)", "Overfitting one batch")
    return figure
