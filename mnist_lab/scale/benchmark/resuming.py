"""Resuming a benchmark that Ctrl-C stopped: train only the runs its folder is missing.

The folder's plan.json says what was asked for; the runs already there say what is done. A
finished run is kept as it is, an unfinished one continues from its last completed epoch, and
the leaderboard is then written over all of them, as if nothing had stopped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.models import registry
from mnist_lab.scale.batch import Progress
from mnist_lab.scale.benchmark.errors import BenchmarkError
from mnist_lab.scale.benchmark.leaderboard import Benchmark
from mnist_lab.scale.benchmark.plan import benchmark_tasks, read_plan, runs_in
from mnist_lab.scale.benchmark.running import train_and_rank
from mnist_lab.scale.executors import check_workers, open_executor


def resume_benchmark(
    path: str | Path,
    *,
    dataset: Any = None,
    data_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    on_progress: Progress | None = None,
) -> Benchmark:
    """Finish an interrupted benchmark in its own folder: train only the runs it is missing.

    Finished runs are kept as they are; an unfinished one continues from its last completed
    epoch. The leaderboard is then written over all of them, as if nothing had stopped.
    """
    path = Path(path).expanduser()
    plan = read_plan(path)
    config, names = plan["config"], plan["models"]
    check_workers(workers, scheduler)
    missing = [name for name in names if name not in registry.list_models()]
    if missing:
        raise BenchmarkError(
            f"{path} benchmarks {', '.join(missing)}, which no longer exist"
            f"{'s' * (len(missing) == 1)}; register {'it' if len(missing) == 1 else 'them'} "
            "again or start a new benchmark."
        )
    planned = benchmark_tasks(
        names,
        epochs=config["epochs"],
        repeats=config["repeats"],
        seed=config["seed"],
        limit=config["limit"],
    )
    finished, unfinished = runs_in(path)
    done = [finished[task.key] for task in planned if task.key in finished]
    tasks = [
        replace(task, resume_from=str(unfinished[task.key])) if task.key in unfinished else task
        for task in planned
        if task.key not in finished
    ]
    if dataset is None:  # the speeds are measured on the test images even with nothing to train
        dataset = mnist_data.load_mnist(data_dir)
    with open_executor(workers, scheduler) if tasks else open_executor() as executor:
        return train_and_rank(path, plan, tasks, done, dataset, executor, on_progress)
