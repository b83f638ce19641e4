"""Benchmark: train several models on the same data and seeds, then rank them in one leaderboard.

`benchmark(["reference", "mine-*"])` writes a new folder benchmarks/YYYYMMDD-HHMMSS/ holding one
run folder per model and repeat (repeat r uses seed + r, so every model sees the same split and
batch order), leaderboard.json, leaderboard.md, curves.png (validation curves of every model on
shared axes) and accuracy_vs_time.png. Means and standard deviations are over repeats; the
standard deviation is the population one, so a single repeat gives 0. Models are ranked by
validation accuracy, as every choice in the course is made; each run's test accuracy is
reported beside it, scored once at the run's end, and ranks nothing.
"""

from __future__ import annotations

import difflib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core import precision as precisions
from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError, MnistLabError
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table
from mnist_lab.data import preprocess
from mnist_lab.evaluation import plots
from mnist_lab.models import registry
from mnist_lab.scale.executors import (
    DASK_LOCAL,
    IN_PROCESS,
    Executor,
    TrainingTask,
    check_workers,
    open_executor,
)
from mnist_lab.training import TRAIN_SIZE, TrainConfig, resolve

LEADERBOARD_JSON, LEADERBOARD_MD, CURVES, ACCURACY_VS_TIME, PLAN = (
    "leaderboard.json",
    "leaderboard.md",
    "curves.png",
    "accuracy_vs_time.png",
    "plan.json",  # what was asked for, written first: `benchmark --resume` reads it
)
TARGET_ACCURACY = 0.99  # the validation accuracy whose first epoch and time the leaderboard shows
INFERENCE_BATCH = 1024
LATENCY_CALLS = 50

# Column title and alignment ("left" or "right", as rich's `justify`) of `format_leaderboard`.
LEADERBOARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", "right"),
    ("Model", "left"),
    ("Params", "right"),
    ("Epochs", "right"),
    ("Val accuracy", "right"),
    ("Test accuracy", "right"),
    ("Test loss", "right"),
    ("Train s", "right"),
    ("s/epoch", "right"),
    ("Epoch to 99% val", "right"),
    ("s to 99% val", "right"),
    ("Images/s", "right"),
    ("Latency ms", "right"),
)
MISSING = "—"  # shown for a target accuracy no repeat reached
LEADERBOARD_TITLE = "Leaderboard (best validation accuracy first)"

Progress = Callable[[dict[str, Any]], None]


class BenchmarkError(MnistLabError):
    """The models to benchmark could not be found, or the benchmark folder could not be made."""


class BenchmarkInterrupted(BenchmarkError):
    """Ctrl-C or SIGTERM stopped a benchmark: the finished runs stay, without a leaderboard."""

    prefix = "Interrupted"
    exit_code = 130


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


# --- checks -----------------------------------------------------------------------------------


def check_repeats(repeats: Any) -> None:
    """Reject a repeat count that is not a whole number of at least one, as TrainConfig does."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        message = f"The 'repeats' option must be an int >= 1. Got {repeats!r} instead."
        raise ConfigError(message, option="repeats")


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


# --- the folder -------------------------------------------------------------------------------


def create_folder(out: str | Path, now: datetime | None = None, what: str = "benchmark") -> Path:
    """Create a new, empty folder `out/YYYYMMDD-HHMMSS` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return runs.create_unique_folder(out, stamp, what=what)


# --- measurements -----------------------------------------------------------------------------


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


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.pstdev(values)


def final_val_accuracy(run: runs.Run) -> float:
    """The saved model's validation accuracy (runs before it was recorded: the last epoch's)."""
    return float(run.metrics.get("val_accuracy", run.history[-1]["val_accuracy"]))


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
        "reached_99": len(reached),
        "epoch_to_99": statistics.fmean(e for e, _ in reached) if reached else None,
        "seconds_to_99": round(statistics.fmean(s for _, s in reached), 3) if reached else None,
        "images_per_second": None,
        "latency_ms": None,
        "runs": [run.path.name for run in model_runs],
        "failed": 0,
        "errors": [],
    }


# The keys of a leaderboard row, as summarize_runs writes them.
ROW_KEYS = (
    "name", "params", "epochs", "repeats", "train_seconds_mean", "train_seconds_std",
    "seconds_per_epoch", "val_accuracy_mean", "val_accuracy_std", "test_accuracy_mean",
    "test_accuracy_std", "test_loss_mean", "test_loss_std", "reached_99", "epoch_to_99",
    "seconds_to_99", "images_per_second", "latency_ms", "runs", "failed", "errors",
)  # fmt: skip


def measure_speed(model_path: str | Path, images: Any) -> tuple[float, float]:
    """Images per second predicting `images` at batch 1024, and the median milliseconds of one
    single-image call; each measured after a warm-up, so tracing is not counted."""
    import keras
    import numpy as np

    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as error:
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise BenchmarkError(
            f"Cannot load {model_path} to time it ({first}); a custom layer must be registered "
            "with @keras.saving.register_keras_serializable()."
        ) from None
    model.predict(images, batch_size=INFERENCE_BATCH, verbose=0)  # warm-up: traces the function
    started = time.perf_counter()
    model.predict(images, batch_size=INFERENCE_BATCH, verbose=0)
    images_per_second = len(images) / (time.perf_counter() - started)

    one = images[:1]
    np.asarray(model(one, training=False))  # warm-up
    calls = []
    for _ in range(LATENCY_CALLS):
        started = time.perf_counter()
        np.asarray(model(one, training=False))  # to numpy: the answer is there, not queued
        calls.append(time.perf_counter() - started)
    return images_per_second, statistics.median(calls) * 1000


def _cpu_model() -> str:
    return (
        precisions.cpuinfo_field("model name")
        or platform.processor()
        or platform.machine()
        or "unknown CPU"
    )


def machine_info() -> dict[str, Any]:
    """The machine the timings belong to: CPU (and whether it has AMX for bfloat16), logical
    cores, versions and GPUs."""
    import keras
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        try:
            details = tf.config.experimental.get_device_details(device)
        except Exception:  # details are a nicety; the device name always exists
            details = {}
        gpus.append(details.get("device_name") or device.name)
    return {
        "cpu": _cpu_model(),
        "amx_bf16": precisions.cpu_has_amx_bf16(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "gpus": gpus,
    }


# --- formatting -------------------------------------------------------------------------------


def _plus_minus(mean: str, std: str, repeats: int) -> str:
    return f"{mean} ± {std}" if repeats > 1 else mean


def _reached(value: str, row: dict[str, Any]) -> str:
    """A mean over the repeats that reached the target, saying how many did when not all."""
    repeats = row["repeats"]
    reached = row.get("reached_99", repeats)  # leaderboards from before it was counted
    return value if reached == repeats else f"{value} ({reached} of {repeats})"


def format_leaderboard(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Text cells in the order of LEADERBOARD_COLUMNS, shared by leaderboard.md and the CLI."""
    table = []
    for rank, row in enumerate(rows, start=1):
        repeats = row["repeats"]
        failed = row.get("failed", 0)
        if row["val_accuracy_mean"] is None:  # every run failed: why is under the table
            cells = [str(rank), row["name"], *[MISSING] * (len(LEADERBOARD_COLUMNS) - 2)]
            cells[4] = f"failed ({failed} of {failed} runs)"
            table.append(cells)
            continue
        name = row["name"] + (f" ({failed} of {repeats + failed} runs failed)" if failed else "")
        epoch_99, seconds_99 = row["epoch_to_99"], row["seconds_to_99"]
        table.append(
            [
                str(rank),
                name,
                f"{row['params']:,}",
                str(row["epochs"]),
                _plus_minus(
                    f"{row['val_accuracy_mean']:.2%}",
                    f"{row['val_accuracy_std'] * 100:.2f}",
                    repeats,
                ),
                _plus_minus(
                    f"{row['test_accuracy_mean']:.2%}",
                    f"{row['test_accuracy_std'] * 100:.2f}",
                    repeats,
                ),
                _plus_minus(f"{row['test_loss_mean']:.4f}", f"{row['test_loss_std']:.4f}", repeats),
                _plus_minus(
                    f"{row['train_seconds_mean']:.1f}", f"{row['train_seconds_std']:.1f}", repeats
                ),
                f"{row['seconds_per_epoch']:.1f}",
                MISSING if epoch_99 is None else _reached(f"{epoch_99:g}", row),
                MISSING if seconds_99 is None else _reached(f"{seconds_99:.1f}", row),
                MISSING if row["images_per_second"] is None else f"{row['images_per_second']:,.0f}",
                MISSING if row["latency_ms"] is None else f"{row['latency_ms']:.2f}",
            ]
        )
    return table


def describe_machine(machine: dict[str, Any]) -> str:
    """One line naming the machine, so a reader knows what the seconds were measured on."""
    gpus = ", ".join(machine["gpus"]) or "no GPU"
    amx = {True: " with AMX-BF16", False: " without AMX"}.get(machine.get("amx_bf16"), "")
    return (
        f"{machine['cpu']}{amx}, {machine['cores']} logical cores, {gpus}; "
        f"Python {machine['python']}, "
        f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}"
    )


def _describe_config(config: dict[str, Any]) -> str:
    first, last = config["seed"], config["seed"] + config["repeats"] - 1
    seeds = f"seed {first}" if first == last else f"seeds {first} to {last}"
    epochs = "each model's default" if config["epochs"] is None else config["epochs"]
    images = "all" if config["limit"] is None else f"{config['limit']:,} of the"
    settings = f"({seeds}), epochs: {epochs}, on {images} {TRAIN_SIZE:,} training images"
    if config["repeats"] == 1:
        return f"One run per model {settings}."
    return (
        "Test accuracy, loss and training seconds are the mean ± standard deviation of "
        f"{config['repeats']} repeats {settings}."
    )


def _markdown(result: Benchmark) -> str:
    table = markdown_table(
        [title for title, _ in LEADERBOARD_COLUMNS],
        "".join("r" if justify == "right" else "l" for _, justify in LEADERBOARD_COLUMNS),
        format_leaderboard(result.rows),
    )
    return "\n".join(
        [
            f"# Benchmark {result.path.name}",
            "",
            f"{_describe_config(result.config)} Images/s: prediction at batch "
            f"{INFERENCE_BATCH}; latency: median of {LATENCY_CALLS} calls on one image.",
            "",
            table,
            *_failures(result.rows),
            f"Machine: {describe_machine(result.machine)}. {describe_executor(result.executor)}",
            "",
        ]
    )


def describe_executor(executor: dict[str, Any]) -> str:
    """One sentence saying where the runs trained (timings on Dask workers are theirs)."""
    if executor["name"] in ("", IN_PROCESS):
        return "Runs trained one after another in one process."
    workers = executor["workers"]
    kind = "a local Dask cluster" if executor["name"] == DASK_LOCAL else "a Dask cluster"
    return f"Runs trained on {kind} of {workers} worker{'s' * (workers != 1)}."


def _failures(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Lines naming every failed run's error, so a broken model is never silently missing."""
    lines = [
        f"- {row['name']}: {row['failed']} run{'s' * (row['failed'] != 1)} failed: "
        + "; ".join(row["errors"])
        for row in rows
        if row.get("failed")
    ]
    return ["Failed runs:", "", *lines, ""] if lines else []


def _save_figures(result: Benchmark, histories: dict[str, list[dict[str, float]]]) -> None:
    title = f"Validation accuracy and loss (first repeat, seed {result.config['seed']})"
    plots.save_figure(plots.overlay_figure(histories, title=title), result.path / CURVES)
    repeats = result.config["repeats"]
    points = [
        (row["name"], row["train_seconds_mean"], row["val_accuracy_mean"])
        for row in result.rows
        if row["val_accuracy_mean"] is not None
    ]
    plots.save_figure(
        plots.accuracy_vs_time_figure(
            points,
            title="Validation accuracy against training seconds"
            + (f" (mean of {repeats} repeats)" if repeats > 1 else ""),
        ),
        result.path / ACCURACY_VS_TIME,
    )


# --- the benchmark ----------------------------------------------------------------------------


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


def task_key(name: str, seed: int) -> str:
    """How a run is named in progress lines and errors: 'reference seed 1'."""
    return f"{name} seed {seed}"


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
        return _train_and_rank(path, plan, tasks, [], dataset, executor, on_progress)


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
    finished, unfinished = _runs_in(path)
    done = [finished[task.key] for task in planned if task.key in finished]
    tasks = [
        replace(task, resume_from=str(unfinished[task.key])) if task.key in unfinished else task
        for task in planned
        if task.key not in finished
    ]
    if dataset is None:  # the speeds are measured on the test images even with nothing to train
        dataset = mnist_data.load_mnist(data_dir)
    with open_executor(workers, scheduler) if tasks else open_executor() as executor:
        return _train_and_rank(path, plan, tasks, done, dataset, executor, on_progress)


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


def _runs_in(path: Path) -> tuple[dict[str, runs.Run], dict[str, Path]]:
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


def _train_and_rank(
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

    def report(event: dict[str, Any]) -> None:
        if on_progress is None:
            return
        if event["event"] == "start":
            event = event | {
                "models": names,
                "repeats": config["repeats"],
                "path": str(path),
                "finished_before": len(done),
            }
        on_progress(event)

    finished = {task_key(run.config["model"], run.config["seed"]): run for run in done}
    errors: dict[str, str] = {}
    executor_info = {"name": executor.name, "workers": executor.workers}
    total = len(tasks) + len(done)
    try:
        for result in executor.map(tasks, path, dataset, on_event=report):
            if result.ok and result.run is not None:
                finished[result.task.key] = result.run
            else:
                errors[result.task.key] = result.error or "unknown error"
    except KeyboardInterrupt:
        kept = len(_runs_in(path)[0])  # the disk knows best: a run may land as Ctrl-C comes
        raise BenchmarkInterrupted(
            f"the benchmark stopped with {kept} of {total} runs finished; {path} keeps them. "
            f"Continue with: mnist-lab benchmark --resume {path}"
        ) from None
    if not finished:
        first = next(iter(errors.items()))
        raise BenchmarkError(
            f"Every run of the benchmark failed; the first, {first[0]}: {first[1]}"
        )

    elapsed = lambda: time.perf_counter() - began  # noqa: E731
    test_images = None
    rows, histories = [], {}
    for name in names:
        keys = _keys_of(name, config)
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
        if on_progress is not None:
            on_progress(
                {
                    "event": "speed",
                    "name": name,
                    "images_per_second": row["images_per_second"],
                    "latency_ms": row["latency_ms"],
                    "elapsed": elapsed(),
                }
            )
        rows.append(row)
        histories[name] = model_runs[0].history

    rows.sort(key=_rank)
    result = Benchmark(
        path=path,
        rows=tuple(rows),
        machine=machine_info(),
        config=config,
        created=plan["created"],
        executor=executor_info,
    )
    write_json_atomic(
        path / LEADERBOARD_JSON,
        {
            "created": result.created,
            "machine": result.machine,
            "executor": executor_info,
            "config": config,
            "models": rows,
        },
    )
    write_bytes_atomic(path / LEADERBOARD_MD, _markdown(result).encode("utf-8"))
    _save_figures(result, histories)
    if on_progress is not None:
        on_progress({"event": "done", "path": str(path), "elapsed": elapsed()})
    return result


def _keys_of(name: str, config: dict[str, Any]) -> list[str]:
    return [task_key(name, config["seed"] + r) for r in range(config["repeats"])]


def _rank(row: dict[str, Any]) -> tuple[bool, float, str]:
    """Best validation accuracy first; models whose every run failed last."""
    accuracy = row["val_accuracy_mean"]
    return (accuracy is None, -(accuracy or 0.0), row["name"])


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
