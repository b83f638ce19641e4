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
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab import plots, preprocess, registry, runs
from mnist_lab.errors import ConfigError, MnistLabError, TrainingInterrupted
from mnist_lab.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.markdown import markdown_table
from mnist_lab.training import TRAIN_SIZE, TrainConfig, resolve, train

LEADERBOARD_JSON, LEADERBOARD_MD, CURVES, ACCURACY_VS_TIME = (
    "leaderboard.json",
    "leaderboard.md",
    "curves.png",
    "accuracy_vs_time.png",
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


def create_folder(out: str | Path, now: datetime | None = None) -> Path:
    """Create a new, empty folder `out/YYYYMMDD-HHMMSS` (suffixed -2, -3... if taken)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return runs.create_unique_folder(out, stamp, what="benchmark")


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


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
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
    val_mean, val_std = _mean_std([final_val_accuracy(run) for run in model_runs])
    train_mean, train_std = _mean_std([m["train_seconds"] for m in metrics])
    accuracy_mean, accuracy_std = _mean_std([m["test_accuracy"] for m in metrics])
    loss_mean, loss_std = _mean_std([m["test_loss"] for m in metrics])
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
    }


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
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info() -> dict[str, Any]:
    """The machine the timings belong to: CPU, logical cores, versions and GPUs."""
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
        epoch_99, seconds_99 = row["epoch_to_99"], row["seconds_to_99"]
        table.append(
            [
                str(rank),
                row["name"],
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
    return (
        f"{machine['cpu']}, {machine['cores']} logical cores, {gpus}; Python {machine['python']}, "
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
            f"Machine: {describe_machine(result.machine)}.",
            "",
        ]
    )


def _save_figures(result: Benchmark, histories: dict[str, list[dict[str, float]]]) -> None:
    title = f"Validation accuracy and loss (first repeat, seed {result.config['seed']})"
    plots.save_figure(plots.overlay_figure(histories, title=title), result.path / CURVES)
    repeats = result.config["repeats"]
    points = [
        (row["name"], row["train_seconds_mean"], row["val_accuracy_mean"]) for row in result.rows
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


def _epoch_reporter(report: Callable[..., None], where: dict[str, Any]):
    """A Keras callback that reports each finished epoch of one run with its validation accuracy."""
    import keras

    class EpochReporter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            report(
                "epoch_done",
                **where,
                epoch=epoch + 1,
                epochs=self.params.get("epochs"),
                val_accuracy=float(logs.get("val_accuracy", float("nan"))),
            )

    return EpochReporter()


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
    on_progress: Progress | None = None,
) -> Benchmark:
    """Train every model matching `patterns` `repeats` times on the same data and seeds, rank them.

    Repeat r of every model trains with seed `seed + r`, so all models share its split, and
    each run folder lands inside the new benchmark folder. `dataset` (from `load_mnist`) is
    loaded from `data_dir` or the cache when not given. `on_progress`, if given, is called with
    one dict per event, each holding "event" and "elapsed" (seconds since the benchmark began):

    - {"event": "start", "models": [names], "total": n, "repeats": R, "path": folder}
    - {"event": "model_start", "index": i, "total": n, "name", "repeat": r, "repeats": R,
      "seed"}: model i of n (1-based) begins its repeat r of R (1-based)
    - {"event": "epoch_done", ...the same keys..., "epoch", "epochs", "val_accuracy"}: one
      epoch of that run finished
    - {"event": "model_done", ...the keys of model_start..., "test_accuracy", "train_seconds",
      "run"}: that run finished; "run" is its folder name
    - {"event": "speed", "index", "total", "name", "images_per_second", "latency_ms"}: the
      inference timings of model i, measured after its last repeat
    - {"event": "done", "path": folder}: every file is written
    """
    began = time.perf_counter()

    def report(event: str, **fields: Any) -> None:
        if on_progress is not None:
            on_progress({"event": event, **fields, "elapsed": time.perf_counter() - began})

    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    check_repeats(repeats)
    names = resolve_models(patterns)
    for name in names:  # every option is checked before anything is loaded or written
        resolve(TrainConfig(model=name, epochs=epochs, seed=seed, limit=limit))
    if dataset is None:
        dataset = mnist_data.load_mnist(data_dir)
    test_images = preprocess.normalize(dataset.test.images)
    machine = machine_info()
    now = datetime.now()
    path = create_folder(out, now)
    config = {
        "patterns": patterns,
        "epochs": epochs,
        "repeats": repeats,
        "seed": seed,
        "limit": limit,
    }
    report("start", models=names, total=len(names), repeats=repeats, path=str(path))

    rows, histories = [], {}
    for index, name in enumerate(names, start=1):
        model_runs = []
        for r in range(repeats):
            where = {"index": index, "total": len(names), "name": name}
            where |= {"repeat": r + 1, "repeats": repeats, "seed": seed + r}
            report("model_start", **where)
            config_r = TrainConfig(
                model=name, epochs=epochs, seed=seed + r, limit=limit, out=str(path)
            )
            reporter = _epoch_reporter(report, where)
            try:
                run = train(config_r, dataset=dataset, verbose=0, callbacks=[reporter])
            except TrainingInterrupted:
                raise BenchmarkInterrupted(
                    f"the benchmark stopped in model {index} of {len(names)} ({name}); {path} "
                    "keeps the runs finished so far but no leaderboard. Run the benchmark "
                    "again to compare the models."
                ) from None
            model_runs.append(run)
            metrics = run.metrics
            report(
                "model_done",
                **where,
                test_accuracy=metrics["test_accuracy"],
                train_seconds=metrics["train_seconds"],
                run=run.path.name,
            )
        row = summarize_runs(model_runs)
        images_per_second, latency_ms = measure_speed(model_runs[0].path / runs.MODEL, test_images)
        row["images_per_second"] = round(images_per_second, 1)
        row["latency_ms"] = round(latency_ms, 3)
        report(
            "speed",
            index=index,
            total=len(names),
            name=name,
            images_per_second=row["images_per_second"],
            latency_ms=row["latency_ms"],
        )
        rows.append(row)
        histories[name] = model_runs[0].history

    rows.sort(key=lambda row: (-row["val_accuracy_mean"], row["name"]))
    result = Benchmark(
        path=path,
        rows=tuple(rows),
        machine=machine,
        config=config,
        created=now.isoformat(timespec="seconds"),
    )
    write_json_atomic(
        path / LEADERBOARD_JSON,
        {"created": result.created, "machine": machine, "config": config, "models": rows},
    )
    write_bytes_atomic(path / LEADERBOARD_MD, _markdown(result).encode("utf-8"))
    _save_figures(result, histories)
    report("done", path=str(path))
    return result
