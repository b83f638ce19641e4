"""A benchmark's result: one leaderboard row per model, summed up over its repeats, and ranked.

Means and standard deviations are over repeats; the standard deviation is the population one,
so a single repeat gives 0. Models are ranked by validation accuracy, as every choice in the
course is made; each run's test accuracy is reported beside it and ranks nothing. The loss shown
is the plain cross-entropy of the test predictions (`test_crossentropy`), the same measure for
every model; `test_loss`, the recipe's own loss (with label smoothing or a weight penalty, where
the recipe has them), is kept in the JSON. Runs from before `test_crossentropy` was recorded
leave it None.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.scale.scores import final_val_accuracy, mean_std, time_to_accuracy

# The keys of a leaderboard row, as summarize_runs writes them.
ROW_KEYS = (
    "name", "params", "epochs", "repeats", "train_seconds_mean", "train_seconds_std",
    "seconds_per_epoch", "val_accuracy_mean", "val_accuracy_std", "test_accuracy_mean",
    "test_accuracy_std", "test_loss_mean", "test_loss_std", "test_crossentropy_mean",
    "test_crossentropy_std", "reached_99", "epoch_to_99",
    "seconds_to_99", "images_per_second", "latency_ms", "runs", "failed", "errors",
)  # fmt: skip


@dataclass(frozen=True)
class Benchmark:
    """A finished benchmark: its folder and its leaderboard rows, best validation accuracy first."""

    path: Path
    rows: tuple[dict[str, Any], ...]
    machine: dict[str, Any]
    config: dict[str, Any]
    created: str
    executor: dict[str, Any] = field(default_factory=lambda: {"name": "in-process", "workers": 1})

    def __repr__(self) -> str:
        names = [row["name"] for row in self.rows]
        return f"Benchmark({str(self.path)!r}, models={names})"


def summarize_runs(model_runs: Sequence[runs.Run]) -> dict[str, Any]:
    """One leaderboard row from the finished runs of one model (every key but the speed ones).

    The epoch and seconds to 99% validation accuracy are means over the repeats that reached
    it; `reached_99` says how many did, so "2 of 3" is never shown as if it were all three.
    """
    metrics = [run.metrics for run in model_runs]
    reached = [hit for hit in (time_to_accuracy(run.history) for run in model_runs) if hit]
    val_mean, val_std = mean_std([final_val_accuracy(run) for run in model_runs])
    train_mean, train_std = mean_std([m["train_seconds"] for m in metrics])
    accuracy_mean, accuracy_std = mean_std([m["test_accuracy"] for m in metrics])
    loss_mean, loss_std = mean_std([m["test_loss"] for m in metrics])
    crossentropies = [m.get("test_crossentropy") for m in metrics]
    known = None not in crossentropies  # every repeat recorded it: a mean over all of them
    crossentropy_mean, crossentropy_std = mean_std(crossentropies) if known else (None, None)
    return {
        "name": metrics[0]["model"],
        "params": metrics[0]["params"],
        "epochs": metrics[0]["epochs"],
        "repeats": len(metrics),
        "train_seconds_mean": round(train_mean, 3),
        "train_seconds_std": round(train_std, 3),
        "seconds_per_epoch": round(statistics.fmean(m["seconds_per_epoch"] for m in metrics), 3),
        "val_accuracy_mean": val_mean,
        "val_accuracy_std": val_std,
        "test_accuracy_mean": accuracy_mean,
        "test_accuracy_std": accuracy_std,
        "test_loss_mean": loss_mean,
        "test_loss_std": loss_std,
        "test_crossentropy_mean": crossentropy_mean,
        "test_crossentropy_std": crossentropy_std,
        "reached_99": len(reached),
        "epoch_to_99": statistics.fmean(e for e, _ in reached) if reached else None,
        "seconds_to_99": round(statistics.fmean(s for _, s in reached), 3) if reached else None,
        "images_per_second": None,
        "latency_ms": None,
        "runs": [run.path.name for run in model_runs],
        "failed": 0,
        "errors": [],
    }


def failed_row(name: str, repeats: int, errors: Sequence[str]) -> dict[str, Any]:
    """The leaderboard row of a model whose every run failed: its name and why."""
    row = dict.fromkeys(ROW_KEYS)
    return row | {
        "name": name,
        "repeats": repeats,
        "reached_99": 0,
        "runs": [],
        "failed": len(errors),
        "errors": sorted(set(errors)),
    }


def rank_key(row: dict[str, Any]) -> tuple[bool, float, str]:
    """How rows sort: best validation accuracy first; models whose every run failed last."""
    accuracy = row["val_accuracy_mean"]
    return (accuracy is None, -(accuracy or 0.0), row["name"])
