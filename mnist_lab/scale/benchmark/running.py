"""Running a benchmark: check everything, train every model and repeat, rank, write the files.

`benchmark` starts a new folder; `train_and_rank` is the part a resumed benchmark shares with
it: the runs still missing go to the executor, then the leaderboard is made over all of them.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core import runs
from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.data import preprocess
from mnist_lab.models import registry
from mnist_lab.scale.batch import (
    Progress,
    check_repeats,
    create_folder,
    interrupted_as,
    tell,
    with_start_fields,
)
from mnist_lab.scale.benchmark.errors import BenchmarkError, BenchmarkInterrupted
from mnist_lab.scale.benchmark.leaderboard import Benchmark, failed_row, rank_key, summarize_runs
from mnist_lab.scale.benchmark.plan import PLAN, benchmark_tasks, keys_of, runs_in, task_key
from mnist_lab.scale.benchmark.report import write_leaderboard
from mnist_lab.scale.benchmark.speed import measure_speed
from mnist_lab.scale.executors import Executor, TrainingTask, check_workers, open_executor
from mnist_lab.scale.machine import machine_info
from mnist_lab.training import TrainConfig, resolve


def resolve_models(patterns: str | Iterable[str]) -> list[str]:
    """The registered names matched by `patterns`; every pattern must match at least one model.

    A pattern that matches nothing is almost always a typo, and a benchmark is too long to find
    out afterwards that a model is missing from the leaderboard.
    """
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    existing = registry.list_models()
    listing = f"Registered models: {', '.join(existing) or 'none'} (see 'mnist-lab list')."
    if not patterns:
        raise BenchmarkError(f"Name at least one model or pattern to benchmark. {listing}")
    unmatched = [pattern for pattern in patterns if not registry.list_models(pattern)]
    if unmatched:
        quoted = ", ".join(f"'{pattern}'" for pattern in unmatched)
        plural = "s" if len(unmatched) > 1 else ""
        close = dict.fromkeys(
            match
            for pattern in unmatched
            for match in difflib.get_close_matches(pattern, existing, n=1, cutoff=0.5)
        )
        options = " or ".join(f"'{name}'" for name in close)
        suggestion = f" Did you mean {options}?" if close else ""
        raise BenchmarkError(
            f"No model matches the pattern{plural} {quoted}.{suggestion} {listing}"
        )
    return registry.list_models(patterns)


def benchmark(
    patterns: str | Iterable[str],
    *,
    epochs: int | None = None,
    repeats: int = 1,
    seed: int = 0,
    limit: int | None = None,
    out: str | Path = "benchmarks",
    dataset: Any = None,
    data_dir: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    on_progress: Progress | None = None,
) -> Benchmark:
    """Train every model matching `patterns` `repeats` times on the same data and seeds, rank them.

    Repeat r of every model trains with seed `seed + r`, so all models share its split, and
    each run folder lands inside the new benchmark folder. The runs go to the executor of
    `workers` or `scheduler` (see `mnist_lab.scale.executors`): in this process by default.
    `dataset` (from `load_mnist`) is loaded from `data_dir` or the cache when not given.

    `on_progress`, if given, receives the executor's events (start, task_start, epoch_done,
    task_done: see `mnist_lab.scale.executors`; "start" also holds "models", "repeats", "path" and
    "finished_before", the runs a resumed benchmark already had),
    then {"event": "speed", "name", "images_per_second", "latency_ms"} for each model and
    {"event": "done", "path"}. A run that fails for its own reason (a broken model) is
    reported in the leaderboard and never stops the others. Ctrl-C keeps the finished runs and
    raises BenchmarkInterrupted, which says how to continue with `resume_benchmark`.
    """
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    check_repeats(repeats)
    check_workers(workers, scheduler)
    names = resolve_models(patterns)
    for name in names:  # every option is checked before anything is loaded or written
        resolve(TrainConfig(model=name, epochs=epochs, seed=seed, limit=limit))
    if dataset is None:
        dataset = mnist_data.load_mnist(data_dir)
    tasks = benchmark_tasks(names, epochs=epochs, repeats=repeats, seed=seed, limit=limit)
    # The executor first: a scheduler that cannot be reached leaves no benchmark folder behind.
    with open_executor(workers, scheduler) as executor:
        now = datetime.now()
        path = create_folder(out, now)
        config = {"patterns": patterns, "epochs": epochs, "repeats": repeats, "seed": seed}
        config["limit"] = limit
        plan = {"created": now.isoformat(timespec="seconds"), "config": config, "models": names}
        write_json_atomic(path / PLAN, plan)
        return train_and_rank(path, plan, tasks, [], dataset, executor, on_progress)


def train_and_rank(
    path: Path,
    plan: dict[str, Any],
    tasks: list[TrainingTask],
    done: list[runs.Run],
    dataset: Any,
    executor: Executor,
    on_progress: Progress | None,
) -> Benchmark:
    """Run `tasks` on the executor beside the runs already `done`, then write the leaderboard."""
    names, config = plan["models"], plan["config"]
    began = time.perf_counter()
    report = with_start_fields(
        on_progress,
        models=names,
        repeats=config["repeats"],
        path=str(path),
        finished_before=len(done),
    )
    finished = {task_key(run.config["model"], run.config["seed"]): run for run in done}
    errors: dict[str, str] = {}
    total = len(tasks) + len(done)

    def stopped() -> str:
        kept = len(runs_in(path)[0])  # the disk knows best: a run may land as Ctrl-C comes
        return (
            f"the benchmark stopped with {kept} of {total} runs finished; {path} keeps them. "
            f"Continue with: mnist-lab benchmark --resume {path}"
        )

    with interrupted_as(BenchmarkInterrupted, stopped):
        for result in executor.map(tasks, path, dataset, on_event=report):
            if result.ok and result.run is not None:
                finished[result.task.key] = result.run
            else:
                errors[result.task.key] = result.error or "unknown error"
    if not finished:
        first = next(iter(errors.items()))
        raise BenchmarkError(
            f"Every run of the benchmark failed; the first, {first[0]}: {first[1]}"
        )

    test_images = None
    rows, histories = [], {}
    for name in names:
        keys = keys_of(name, config)
        model_runs = [finished[key] for key in keys if key in finished]
        failures = [errors[key] for key in keys if key in errors]
        if not model_runs:
            rows.append(failed_row(name, len(keys), failures))
            continue
        row = summarize_runs(model_runs)
        if test_images is None:
            test_images = preprocess.normalize(dataset.test.images)
        images_per_second, latency_ms = measure_speed(model_runs[0].path / runs.MODEL, test_images)
        row["images_per_second"] = round(images_per_second, 1)
        row["latency_ms"] = round(latency_ms, 3)
        row["failed"] = len(failures)
        row["errors"] = sorted(set(failures))
        speed = {key: row[key] for key in ("images_per_second", "latency_ms")}
        event = {"event": "speed", "name": name, **speed}
        tell(on_progress, event | {"elapsed": time.perf_counter() - began})
        rows.append(row)
        histories[name] = model_runs[0].history

    rows.sort(key=rank_key)
    result = Benchmark(
        path=path,
        rows=tuple(rows),
        machine=machine_info(),
        config=config,
        created=plan["created"],
        executor={"name": executor.name, "workers": executor.workers},
    )
    write_leaderboard(result, histories)
    tell(on_progress, {"event": "done", "path": str(path), "elapsed": time.perf_counter() - began})
    return result
