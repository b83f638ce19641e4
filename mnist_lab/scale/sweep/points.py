"""A point of the grid as runs: its config per seed, its task key, and its row over repeats.

Also the finished `Sweep`: its points ranked by validation accuracy, the chosen one first.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale.scores import final_val_accuracy, mean_std
from mnist_lab.scale.sweep.grid import Grid, label
from mnist_lab.training import TrainConfig, resolve


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: its folder, its grid and its points, best validation accuracy first.

    `chosen` is the first point (the best on validation) with its test accuracy; `failed`
    lists the runs that failed, each with its one-line error.
    """

    path: Path
    model: str
    grid: Grid
    points: tuple[dict[str, Any], ...]
    failed: tuple[dict[str, Any], ...]
    config: dict[str, Any]
    machine: dict[str, Any]
    created: str

    @property
    def chosen(self) -> dict[str, Any] | None:
        return self.points[0] if self.points else None

    def __repr__(self) -> str:
        chosen = self.chosen["label"] if self.chosen else None
        return (
            f"Sweep({str(self.path)!r}, model={self.model!r}, points={len(self.points)}, "
            f"chosen={chosen!r})"
        )


def point_config(
    model: str,
    values: dict[str, Any],
    *,
    epochs: int | None,
    seed: int,
    limit: int | None,
    data_dir: str | Path | None = None,
) -> TrainConfig:
    """The TrainConfig of one point and seed: the swept values as recipe overrides.

    A swept `epochs` or `batch_size` is also the config's own option, so config.json says
    what the run trained with wherever a reader looks.
    """
    return TrainConfig(
        model=model,
        epochs=values.get("epochs", epochs),
        batch_size=values.get("batch_size"),
        seed=seed,
        limit=limit,
        data_dir=None if data_dir is None else str(data_dir),
        overrides=dict(values),
    )


def check_point(config: TrainConfig, values: dict[str, Any]) -> None:
    """Resolve one point's config; an error caused by a swept value names the point."""
    try:
        resolve(config)
    except ConfigError as error:
        if error.option is not None and error.option not in values:
            raise  # an option of the sweep itself (--limit), named as the user typed it
        message = str(error)
        raise ConfigError(
            f"In the point {label(values)}: {message[0].lower()}{message[1:]}"
        ) from None


def task_key(values: dict[str, Any], seed: int) -> str:
    """The executor's name of one run, e.g. 'learning_rate=0.001/seed-0'."""
    return f"{label(values)}/seed-{seed}"


def summarize_point(values: dict[str, Any], point_runs: Sequence[runs.Run], tried: int):
    """One row of the sweep from the finished runs of one point (`tried` repeats were run).

    Test accuracy stays None here: only the chosen point gets it (see `sweep`).
    """
    val = [final_val_accuracy(run) for run in point_runs]
    val_mean, val_std = mean_std(val)
    seconds = [run.metrics["train_seconds"] for run in point_runs]
    return {
        "label": label(values),
        "values": dict(values),
        "repeats": len(point_runs),
        "tried": tried,
        "seeds": [run.metrics["seed"] for run in point_runs],
        "val_accuracies": val,
        "val_accuracy_mean": val_mean,
        "val_accuracy_std": val_std,
        "train_seconds_mean": round(statistics.fmean(seconds), 3),
        "test_accuracy_mean": None,
        "test_accuracy_std": None,
        "chosen": False,
        "runs": [run.path.name for run in point_runs],
    }
