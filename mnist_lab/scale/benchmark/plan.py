"""A benchmark folder before its leaderboard: the plan it was started with, and its runs by key.

A benchmark writes plan.json first (the models and options asked for); its runs then land in
the folder one by one. `benchmark --resume` reads both back to train only what is missing, so
the plan, the tasks it makes and how a run is found again all live here, side by side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnist_lab.core import runs
from mnist_lab.core.errors import MnistLabError
from mnist_lab.scale.benchmark.errors import BenchmarkError
from mnist_lab.scale.executors import TrainingTask
from mnist_lab.training import TrainConfig

PLAN = "plan.json"  # what was asked for, written first: `benchmark --resume` reads it


def task_key(name: str, seed: int) -> str:
    """How a run is named in progress lines and errors: 'reference seed 1'."""
    return f"{name} seed {seed}"


def keys_of(name: str, config: dict[str, Any]) -> list[str]:
    """The task keys of every planned repeat of model `name`."""
    return [task_key(name, config["seed"] + r) for r in range(config["repeats"])]


def benchmark_tasks(
    names: Sequence[str], *, epochs: int | None, repeats: int, seed: int, limit: int | None
) -> list[TrainingTask]:
    """One task per model and repeat: repeat r of every model trains with seed `seed + r`."""
    return [
        TrainingTask(
            task_key(name, seed + r),
            TrainConfig(model=name, epochs=epochs, seed=seed + r, limit=limit),
        )
        for name in names
        for r in range(repeats)
    ]


def read_plan(path: Path) -> dict[str, Any]:
    """The plan a benchmark folder was started with, or one line saying it is not one."""
    if not path.is_dir():
        raise BenchmarkError(f"{path} is not a benchmark folder (no such folder).")
    try:
        return json.loads((path / PLAN).read_text())
    except FileNotFoundError:
        raise BenchmarkError(
            f"{path} is not a benchmark folder that can be resumed (it has no {PLAN}); "
            "start a new benchmark instead."
        ) from None
    except (OSError, json.JSONDecodeError) as error:
        raise BenchmarkError(f"Cannot read {path / PLAN}: {error}.") from None


def runs_in(path: Path) -> tuple[dict[str, runs.Run], dict[str, Path]]:
    """The benchmark's run folders by task key: the completed ones and the unfinished ones."""
    finished: dict[str, runs.Run] = {}
    unfinished: dict[str, Path] = {}
    for folder in sorted(path.iterdir()):
        if not (folder / runs.CONFIG).is_file() or folder.name.startswith("."):
            continue
        run = runs.Run(folder)
        try:
            key = task_key(run.config["model"], run.config["seed"])
            completed = run.state["state"] == runs.COMPLETED
        except (MnistLabError, KeyError):
            continue  # an unreadable folder is not one of ours to train again
        if completed:
            finished.setdefault(key, run)
        else:
            unfinished.setdefault(key, folder)
    return finished, unfinished
