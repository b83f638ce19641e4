"""How a leaderboard is shown and saved: table cells, leaderboard.md and .json, the two figures.

The CLI's table and leaderboard.md print the same cells (`format_leaderboard`), so what a
student reads in the terminal is what the folder keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table
from mnist_lab.evaluation import plots
from mnist_lab.scale.benchmark.leaderboard import Benchmark
from mnist_lab.scale.benchmark.speed import INFERENCE_BATCH, LATENCY_CALLS
from mnist_lab.scale.executors import DASK_LOCAL, IN_PROCESS
from mnist_lab.scale.machine import describe_machine
from mnist_lab.scale.scores import MISSING
from mnist_lab.scale.split import describe_split

LEADERBOARD_JSON, LEADERBOARD_MD, CURVES, ACCURACY_VS_TIME = (
    "leaderboard.json",
    "leaderboard.md",
    "curves.png",
    "accuracy_vs_time.png",
)
# Column title and alignment ("left" or "right", as rich's `justify`) of `format_leaderboard`.
LEADERBOARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", "right"),
    ("Model", "left"),
    ("Params", "right"),
    ("Epochs", "right"),
    ("Val accuracy", "right"),
    ("Test accuracy", "right"),
    ("Test cross-entropy", "right"),
    ("Train s", "right"),
    ("s/epoch", "right"),
    ("Epoch to 99% val", "right"),
    ("s to 99% val", "right"),
    ("Images/s", "right"),
    ("Latency ms", "right"),
)
LEADERBOARD_TITLE = "Leaderboard (best validation accuracy first)"


def _plus_minus(mean: str, std: str, repeats: int) -> str:
    return f"{mean} ± {std}" if repeats > 1 else mean


def _reached(value: str, row: dict[str, Any]) -> str:
    """A mean over the repeats that reached the target, saying how many did when not all."""
    repeats = row["repeats"]
    reached = row.get("reached_99", repeats)  # leaderboards from before it was counted
    return value if reached == repeats else f"{value} ({reached} of {repeats})"


def _crossentropy(row: dict[str, Any]) -> str:
    """The plain test cross-entropy, "—" for a leaderboard from before runs recorded it."""
    mean = row.get("test_crossentropy_mean")
    if mean is None:
        return MISSING
    return _plus_minus(f"{mean:.4f}", f"{row['test_crossentropy_std']:.4f}", row["repeats"])


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
                _crossentropy(row),
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


def describe_executor(executor: dict[str, Any]) -> str:
    """One sentence saying where the runs trained (timings on Dask workers are theirs)."""
    if executor["name"] in ("", IN_PROCESS):
        return "Runs trained one after another in one process."
    workers = executor["workers"]
    kind = "a local Dask cluster" if executor["name"] == DASK_LOCAL else "a Dask cluster"
    return f"Runs trained on {kind} of {workers} worker{'s' * (workers != 1)}."


CROSSENTROPY_NOTE = (
    "Test cross-entropy: the plain categorical cross-entropy of the test predictions, without "
    "the label smoothing or weight penalty some recipes train with, so it compares every model."
)


def _describe_config(result: Benchmark) -> str:
    config = result.config
    first, last = config["seed"], config["seed"] + config["repeats"] - 1
    seeds = f"seed {first}" if first == last else f"seeds {first} to {last}"
    epochs = "each model's default" if config["epochs"] is None else config["epochs"]
    names = [name for row in result.rows for name in row.get("runs", [])]
    images = describe_split(result.path, names, config["limit"])
    settings = f"({seeds}), epochs: {epochs}, {images}"
    if config["repeats"] == 1:
        return f"One run per model {settings}."
    return (
        "Test accuracy, cross-entropy and training seconds are the mean ± standard deviation of "
        f"{config['repeats']} repeats {settings}."
    )


def _failures(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Lines naming every failed run's error, so a broken model is never silently missing."""
    lines = [
        f"- {row['name']}: {row['failed']} run{'s' * (row['failed'] != 1)} failed: "
        + "; ".join(row["errors"])
        for row in rows
        if row.get("failed")
    ]
    return ["Failed runs:", "", *lines, ""] if lines else []


def leaderboard_markdown(result: Benchmark) -> str:
    """leaderboard.md: the settings, the table, the failed runs, the machine and the executor."""
    table = markdown_table(
        [title for title, _ in LEADERBOARD_COLUMNS],
        "".join("r" if justify == "right" else "l" for _, justify in LEADERBOARD_COLUMNS),
        format_leaderboard(result.rows),
    )
    return "\n".join(
        [
            f"# Benchmark {result.path.name}",
            "",
            f"{_describe_config(result)} {CROSSENTROPY_NOTE} Images/s: prediction at "
            f"batch {INFERENCE_BATCH}; latency: median of {LATENCY_CALLS} calls on one image.",
            "",
            table,
            *_failures(result.rows),
            f"Machine: {describe_machine(result.machine)}. {describe_executor(result.executor)}",
            "",
        ]
    )


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


def write_leaderboard(result: Benchmark, histories: dict[str, list[dict[str, float]]]) -> None:
    """Write leaderboard.json, leaderboard.md, curves.png (each model's first repeat in
    `histories`) and accuracy_vs_time.png into the benchmark's folder."""
    payload = {
        "created": result.created,
        "machine": result.machine,
        "executor": result.executor,
        "config": result.config,
        "models": list(result.rows),
    }
    write_json_atomic(result.path / LEADERBOARD_JSON, payload)
    write_bytes_atomic(result.path / LEADERBOARD_MD, leaderboard_markdown(result).encode("utf-8"))
    _save_figures(result, histories)
