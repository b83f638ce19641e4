"""Exercise 14: choosing the learning rate.

The learning rate is the size of the step the optimizer takes down the loss at every batch. Too
small, and the network barely moves in an epoch: the loss stays near ln 10 = 2.30, the loss of
guessing each digit with probability 1/10. Too large, and every step overshoots: the loss jumps
about, grows, or becomes NaN (not a number: an overflow), and the network ends up answering the
same digit for every image, right one time in ten. In between lies a range where it learns fast.
It spans orders of magnitude, so rates are tried log-spaced (1e-5, 1e-4, ..., 1), each on a
fresh copy of the same network with the same initial weights, for one short epoch on a few
thousand images: a sweep takes seconds and shows the whole picture.

The rate is then chosen on validation accuracy, the accuracy on held-out images of the seeded
stratified split. Never on test accuracy: a rate chosen because it scored best on the test
images makes the test score a flattering guess rather than a measure of new digits.

- `learning_rates(low, high, count)`: `count` rates from `low` to `high`, evenly spaced on a
  log scale (both ends included).
- `diverged(history)`: True when a training blew up: a loss that is NaN or infinite, or a final
  training loss above twice ln 10 (worse than guessing, and confidently so). Accuracy cannot
  tell: a network that diverged ends near chance (10%), but so does one that barely moved.
- `sweep(rates, build_model, x, y, x_val, y_val, ...)`: one short training per rate, each from
  the same initial weights (`keras.utils.set_random_seed(seed)` before building the model), and
  one result per rate: its final training loss and accuracy, validation loss and accuracy, and
  whether it diverged.
- `choose_rate(results)`: the rate with the best validation accuracy among those that did not
  diverge.
- `plot_sweep(results)`: the final training loss against the rate, on a log x axis.

Write the five functions below, then run `mnist-lab exercises check 14`.

Course page: docs/exercises/14-learning-rate.md
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.figure import Figure

GUESSING_LOSS = math.log(10)  # the loss of giving each digit probability 1/10: 2.30
DIVERGED_LOSS = 2 * GUESSING_LOSS  # a final training loss above this: the training blew up

# A History's `.history`: one value per epoch, e.g. {"loss": [...], "val_accuracy": [...], ...}
History = dict[str, list[float]]
# One row of a sweep, e.g. {"rate": 0.001, "loss": 0.25, "accuracy": 0.93,
# "val_loss": 0.15, "val_accuracy": 0.95, "diverged": False}
Result = dict[str, Any]


def learning_rates(low: float = 1e-5, high: float = 1.0, count: int = 6) -> list[float]:
    """`count` rates from `low` to `high` (both included), evenly spaced on a log scale."""
    # TODO: return count rates whose logarithms are evenly spaced from log(low) to log(high), as a list of floats
    # SOLUTION
    return [float(rate) for rate in np.geomspace(low, high, count)]
    # END SOLUTION


def diverged(history: History) -> bool:
    """Whether a training blew up: a NaN or infinite loss, or a last loss above DIVERGED_LOSS.

    `history` is a History's `.history`. Any value of "loss" or "val_loss" that is NaN or
    infinite, or a last "loss" above DIVERGED_LOSS, counts as diverged.
    """
    # TODO: return True if any loss or val_loss is not finite (math.isfinite) or the last loss is above DIVERGED_LOSS, else False
    # SOLUTION
    losses = [*history["loss"], *history.get("val_loss", [])]
    if not all(math.isfinite(loss) for loss in losses):
        return True
    return history["loss"][-1] > DIVERGED_LOSS
    # END SOLUTION


def sweep(
    rates: list[float],
    build_model: Callable[[], Any],
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    epochs: int = 1,
    batch_size: int = 64,
    seed: int = 0,
) -> list[Result]:
    """Train a fresh model at every rate and return one result per rate, in the same order.

    `build_model()` returns an uncompiled model. Each is built right after
    `keras.utils.set_random_seed(seed)`, so all start from the same weights, then compiled with
    Adam at the rate, categorical crossentropy and accuracy, and fitted with
    validation_data=(x_val, y_val). A result holds the rate and the last epoch's "loss",
    "accuracy", "val_loss" and "val_accuracy" (floats), and "diverged" (`diverged` of the
    History).
    """
    # TODO: for each rate, seed, build and compile a model with keras.optimizers.Adam(rate), fit it with the validation data, and record the last epoch's numbers with diverged(history)
    # SOLUTION
    import keras

    results = []
    for rate in rates:
        keras.utils.set_random_seed(seed)  # the same initial weights for every rate
        model = build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(
            x,
            y,
            validation_data=(x_val, y_val),
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        ).history
        result: Result = {"rate": float(rate)}
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            result[key] = float(history[key][-1])
        result["diverged"] = diverged(history)
        results.append(result)
    return results
    # END SOLUTION


def choose_rate(results: list[Result]) -> float:
    """The rate with the highest validation accuracy among the results that did not diverge.

    Raises ValueError when every rate diverged.
    """
    # TODO: keep the results that did not diverge (raise ValueError if none is left) and return the rate of the one with the highest val_accuracy
    # SOLUTION
    kept = [result for result in results if not result["diverged"]]
    if not kept:
        raise ValueError("Every learning rate of the sweep diverged: try smaller rates.")
    return max(kept, key=lambda result: result["val_accuracy"])["rate"]
    # END SOLUTION


def plot_sweep(results: list[Result]) -> Figure:
    """A Figure of the final training loss against the rate: points joined by a line, log x axis.

    Rates whose loss is not finite are left out. The x axis reads "learning rate", the y axis
    "loss".
    """
    # TODO: make a Figure with one axes, plot the finite losses against their rates with markers, set a log x scale and label both axes
    # SOLUTION
    shown = [result for result in results if math.isfinite(result["loss"])]
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.subplots()
    axes.plot([r["rate"] for r in shown], [r["loss"] for r in shown], "o-", label="training loss")
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("loss")
    axes.set_title("Loss after one epoch, by learning rate")
    return figure
    # END SOLUTION
