"""How a sweep is shown and saved: the ranked table, sweep.md, sweep.json and sweep.png.

The CLI's table and sweep.md print the same cells (`format_points`). Test accuracy appears for
the chosen point only: reading every point's test score to pick one would make the test set a
second validation set.
"""

from __future__ import annotations

from typing import Any

from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table
from mnist_lab.evaluation import plots
from mnist_lab.models.recipes import recipe_fields
from mnist_lab.scale.executors import describe_place
from mnist_lab.scale.machine import describe_machine
from mnist_lab.scale.scores import MISSING
from mnist_lab.scale.split import describe_split
from mnist_lab.scale.sweep.grid import Grid, format_value, short_name
from mnist_lab.scale.sweep.points import Sweep

SWEEP_JSON, SWEEP_MD, SWEEP_PNG = "sweep.json", "sweep.md", "sweep.png"
TEST_RULE = (
    "Validation accuracy chooses the point; test accuracy is shown for the chosen point only, "
    "so the test set never takes part in the choice."
)


def _plus_minus(mean: float, std: float, repeats: int) -> str:
    return f"{mean:.2%} ± {std * 100:.2f}" if repeats > 1 else f"{mean:.2%}"


def columns(grid: Grid) -> list[tuple[str, str]]:
    """Column titles and alignment ("left"/"right", as rich's `justify`) of `format_points`."""
    kinds = recipe_fields()
    swept = [
        (short_name(field), "right" if kinds[field] in ("int", "float") else "left")
        for field in grid
    ]
    return [
        ("#", "right"),
        *swept,
        ("Val accuracy", "right"),
        ("Runs", "right"),
        ("Train s", "right"),
        ("Test accuracy", "right"),
    ]


def format_points(result: Sweep) -> list[list[str]]:
    """Text cells in the order of `columns`, shared by sweep.md and the CLI."""
    table = []
    for rank, row in enumerate(result.points, start=1):
        test = MISSING
        if row["chosen"]:
            test = _plus_minus(row["test_accuracy_mean"], row["test_accuracy_std"], row["repeats"])
        runs_done = str(row["repeats"])
        if row["repeats"] != row["tried"]:
            runs_done = f"{row['repeats']} of {row['tried']}"
        table.append(
            [
                str(rank),
                *(format_value(row["values"][field]) for field in result.grid),
                _plus_minus(row["val_accuracy_mean"], row["val_accuracy_std"], row["repeats"]),
                runs_done,
                f"{row['train_seconds_mean']:.1f}",
                test,
            ]
        )
    return table


def describe_choice(result: Sweep) -> str:
    """'Chosen on validation: learning_rate=0.003 (val 98.91% ± 0.05); its test accuracy: 98.80%'"""
    row = result.points[0]
    val = _plus_minus(row["val_accuracy_mean"], row["val_accuracy_std"], row["repeats"])
    test = _plus_minus(row["test_accuracy_mean"], row["test_accuracy_std"], row["repeats"])
    return f"Chosen on validation: {row['label']} (val {val}); its test accuracy: {test}"


def describe_failure(failure: dict[str, Any]) -> str:
    """One failed run in one line: its point, its seed and why."""
    return f"{failure['label']} seed {failure['seed']}: {failure['error']}"


def describe_config(config: dict[str, Any], points: int, images: str) -> str:
    """The sweep's settings in one sentence, so sweep.md can be read on its own; `images` says
    what the runs trained on (`describe_split` reads it from the runs)."""
    first, last = config["seed"], config["seed"] + config["repeats"] - 1
    seeds = f"seed {first}" if first == last else f"seeds {first} to {last}"
    epochs = "the recipe's" if config["epochs"] is None else config["epochs"]
    repeats = "1 repeat" if config["repeats"] == 1 else f"{config['repeats']} repeats"
    spread = " (mean ± standard deviation over repeats)" if config["repeats"] > 1 else ""
    place = describe_place(config["executor"], config["workers"])
    return (
        f"{points} point{'s' * (points != 1)} × {repeats} ({seeds}) of {config['model']}, "
        f"epochs: {epochs}, {images}, trained {place}. "
        f"Ranked by validation accuracy{spread}."
    )


def sweep_markdown(result: Sweep) -> str:
    """sweep.md: the settings, the ranked points, the choice, the failed runs, the machine."""
    titles = columns(result.grid)
    lines = [f"# Sweep {result.path.name}: {result.model}", ""]
    names = [name for point in result.points for name in point.get("runs", [])]
    images = describe_split(result.path, names, result.config["limit"])
    lines += [describe_config(result.config, len(result.points) + _lost(result), images), ""]
    if result.points:
        align = "".join("r" if justify == "right" else "l" for _, justify in titles)
        lines += [markdown_table([t for t, _ in titles], align, format_points(result))]
        lines += [f"{describe_choice(result)}.", "", TEST_RULE, ""]
    if result.failed:
        lines += ["## Failed runs", ""]
        lines += [f"- {describe_failure(failure)}" for failure in result.failed] + [""]
    lines += [f"Machine: {describe_machine(result.machine)}.", ""]
    return "\n".join(lines)


def _lost(result: Sweep) -> int:
    """Points none of whose runs finished (listed under the failed runs only)."""
    ranked = {row["label"] for row in result.points}
    return len({failure["label"] for failure in result.failed} - ranked)


def save_sweep_figure(result: Sweep) -> None:
    """Draw sweep.png: every repeat's validation accuracy against each swept field."""
    from mnist_lab.scale.sweep_plots import sweep_figure

    observations = [
        (row["values"], accuracy) for row in result.points for accuracy in row["val_accuracies"]
    ]
    repeats = result.config["repeats"]
    title = f"{result.model}: validation accuracy of each point" + (
        f" (dots: {repeats} repeats, line: their mean)" if repeats > 1 else ""
    )
    figure = sweep_figure(result.grid, observations, chosen=result.points[0]["values"], title=title)
    plots.save_figure(figure, result.path / SWEEP_PNG)


def write_sweep(result: Sweep) -> None:
    """Write sweep.json and sweep.md into the sweep's folder (sweep.png: `save_sweep_figure`)."""
    payload = {
        "created": result.created,
        "model": result.model,
        "grid": {field: list(values) for field, values in result.grid.items()},
        "config": result.config,
        "machine": result.machine,
        "chosen": result.points[0] if result.points else None,
        "points": list(result.points),
        "failed": list(result.failed),
    }
    write_json_atomic(result.path / SWEEP_JSON, payload)
    write_bytes_atomic(result.path / SWEEP_MD, sweep_markdown(result).encode("utf-8"))
