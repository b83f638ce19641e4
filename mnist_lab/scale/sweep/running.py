"""Running a sweep: check every point, train each `repeats` times, choose on validation, write.

Repeat r of every point trains with seed `seed + r`, so all points share its split and differ
only in what was swept. The house rule holds: validation chooses the point, and test accuracy
is reported for that chosen point only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale.batch import Progress, check_repeats, create_folder, interrupted_as
from mnist_lab.scale.executors import TaskResult, TrainingTask, check_workers, open_executor
from mnist_lab.scale.machine import machine_info
from mnist_lab.scale.scores import mean_std
from mnist_lab.scale.sweep.errors import SweepError, SweepInterrupted
from mnist_lab.scale.sweep.grid import expand, label, parse_sets
from mnist_lab.scale.sweep.points import (
    Sweep,
    check_point,
    point_config,
    summarize_point,
    task_key,
)
from mnist_lab.scale.sweep.report import SWEEP_MD, describe_failure, save_sweep_figure, write_sweep
from mnist_lab.training import TrainConfig, resolve


def sweep(
    model: str,
    sets: Sequence[str],
    *,
    repeats: int = 1,
    epochs: int | None = None,
    limit: int | None = None,
    seed: int = 0,
    workers: int = 1,
    scheduler: str | None = None,
    out: str | Path = "sweeps",
    dataset: Any = None,
    data_dir: str | Path | None = None,
    on_progress: Progress | None = None,
) -> Sweep:
    """Train `model` at every point of the grid `sets` (e.g. ["learning_rate=1e-3,1e-2"]),
    `repeats` times each, on the executor (`workers`, `scheduler`: see `open_executor`).

    Every point and option is checked before any data is loaded or folder made. `on_progress`
    receives the executor's events (see `mnist_lab.scale.executors`); a failed run is listed
    and never stops the others. Ctrl-C keeps the finished runs and raises SweepInterrupted.
    """
    check_repeats(repeats)
    check_workers(workers, scheduler)
    resolve(TrainConfig(model=model, epochs=epochs, seed=seed, limit=limit))  # the sweep's own
    grid = parse_sets(sets)
    if epochs is not None and "epochs" in grid:
        raise ConfigError(
            "The 'epochs' option and the grid (which sweeps epochs) both set the epochs; "
            "give one of them.",
            option="epochs",
        )
    points = expand(grid)
    tasks = []
    for r in range(repeats):  # repeat by repeat: a stopped sweep has whole repeats of points
        for values in points:
            config = point_config(
                model, values, epochs=epochs, seed=seed + r, limit=limit, data_dir=data_dir
            )
            check_point(config, values)
            tasks.append(TrainingTask(key=task_key(values, seed + r), config=config))

    results: dict[str, Any] = {}
    with open_executor(workers, scheduler) as executor:
        if dataset is None:
            dataset = mnist_data.load_mnist(data_dir)
        machine = machine_info()
        now = datetime.now()
        path = create_folder(out, now, what="sweep")

        def stopped() -> str:
            done = sum(outcome.ok for outcome in results.values())
            return (
                f"the sweep stopped after {done} of {len(tasks)} runs; {path} keeps the runs "
                "finished so far but no sweep.md. Run the sweep again to compare the points."
            )

        with interrupted_as(SweepInterrupted, stopped):
            for outcome in executor.map(tasks, path, dataset, on_progress):
                results[outcome.task.key] = outcome
        where = {"executor": executor.name, "workers": executor.workers}

    config = {"model": model, "epochs": epochs, "repeats": repeats, "seed": seed, "limit": limit}
    config |= where
    ranked, failed = rank_points(points, results, repeats=repeats, seed=seed)
    result = Sweep(
        path=path,
        model=model,
        grid=grid,
        points=tuple(ranked),
        failed=tuple(failed),
        config=config,
        machine=machine,
        created=now.isoformat(timespec="seconds"),
    )
    write_sweep(result)
    if not ranked:
        raise SweepError(
            f"Every run of the sweep failed ({len(failed)} of {len(tasks)}); the first: "
            f"{describe_failure(failed[0]).rstrip('.')}. {path / SWEEP_MD} lists them all."
        )
    save_sweep_figure(result)
    return result


def rank_points(
    points: Sequence[dict[str, Any]], results: dict[str, TaskResult], *, repeats: int, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of the points with a finished run, best validation mean first (a tie keeps
    the grid's order), the first one chosen with its test accuracy; and every failed run."""
    rows, failed = [], []
    for index, values in enumerate(points):
        point_runs = []
        for r in range(repeats):
            outcome = results[task_key(values, seed + r)]
            if outcome.ok and outcome.run is not None:
                point_runs.append(outcome.run)
            else:
                failed.append(
                    {
                        "label": label(values),
                        "values": dict(values),
                        "seed": seed + r,
                        "error": outcome.error,
                        "worker": outcome.worker,
                    }
                )
        if point_runs:
            rows.append((index, summarize_point(values, point_runs, repeats), point_runs))
    # Best validation mean first; a tie keeps the grid's order.
    rows.sort(key=lambda item: (-item[1]["val_accuracy_mean"], item[0]))
    ranked = [row for _, row, _ in rows]
    if ranked:
        best, chosen_runs = ranked[0], rows[0][2]
        test_mean, test_std = mean_std([run.metrics["test_accuracy"] for run in chosen_runs])
        best |= {"test_accuracy_mean": test_mean, "test_accuracy_std": test_std, "chosen": True}
    return ranked, failed
