"""The numbers a batch reads from its finished runs, and how it sums them up over repeats.

A benchmark's leaderboard and a sweep's points both average the same scores of the same run
folders: the saved model's validation accuracy, and when a run first reached a target.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from mnist_lab.core import runs

TARGET_ACCURACY = 0.99  # the validation accuracy whose first epoch and time the leaderboard shows
MISSING = "—"  # shown in a table for a number no run gave (a target no repeat reached)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the population standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.pstdev(values)


def final_val_accuracy(run: runs.Run) -> float:
    """The saved model's validation accuracy (runs before it was recorded: the last epoch's)."""
    return float(run.metrics.get("val_accuracy", run.history[-1]["val_accuracy"]))


def time_to_accuracy(
    history: Sequence[dict[str, float]], target: float = TARGET_ACCURACY
) -> tuple[int, float] | None:
    """The first epoch whose validation accuracy reached `target` and the training seconds until
    its end, or None if no epoch did."""
    seconds = 0.0
    for row in history:
        seconds += row["seconds"]
        if row["val_accuracy"] >= target:
            return int(row["epoch"]), round(seconds, 3)
    return None
