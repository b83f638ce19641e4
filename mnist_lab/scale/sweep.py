"""Sweep: train one model over a grid of recipe values, choose the best point on validation.

`sweep("reference", ["learning_rate=1e-3,3e-3,1e-2", "batch_size=64,128"])` trains every point
of the grid (the cartesian product of the `--set` values, first field outermost) `repeats` times
on the executor, and writes a new folder sweeps/YYYYMMDD-HHMMSS/ holding every run folder,
sweep.json, sweep.md (the points ranked by validation accuracy, mean ± standard deviation over
repeats) and sweep.png (validation accuracy against each swept field).

Repeat r of every point trains with seed `seed + r`, so all points share its split and differ
only in what was swept. The house rule holds: validation chooses the point, and test accuracy
is reported for that chosen point only. Every run is scored on the test set at its end (that is
how a run works), but reading the test score of every point to pick one would make the test set
a second validation set; so sweep.json and sweep.md show it for the choice alone.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError, MnistLabError
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table
from mnist_lab.evaluation import plots
from mnist_lab.models.recipes import canonical_field, choices_of, recipe_fields
from mnist_lab.scale.benchmark import (
    MISSING,
    check_repeats,
    create_folder,
    describe_machine,
    final_val_accuracy,
    machine_info,
    mean_std,
)
from mnist_lab.scale.executors import describe_place
from mnist_lab.training import TRAIN_SIZE, TrainConfig, resolve

SWEEP_JSON, SWEEP_MD, SWEEP_PNG = "sweep.json", "sweep.md", "sweep.png"
EXAMPLE = "learning_rate=1e-3,3e-3,1e-2"  # what a --set looks like, quoted in its errors
# Options of the sweep itself: `--set seed=...` is answered with the option to use instead.
SWEEP_OPTIONS = ("seed", "limit", "repeats", "workers", "scheduler")
TEST_RULE = (
    "Validation accuracy chooses the point; test accuracy is shown for the chosen point only, "
    "so the test set never takes part in the choice."
)

Progress = Callable[[dict[str, Any]], None]
Grid = dict[str, tuple[Any, ...]]  # swept field (full name) -> its values, in the order given


class SweepError(MnistLabError):
    """A sweep could not run: every one of its runs failed."""


class SweepInterrupted(SweepError):
    """Ctrl-C or SIGTERM stopped a sweep: the finished runs stay, without sweep.md."""

    prefix = "Interrupted"
    exit_code = 130


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


# --- the grid ---------------------------------------------------------------------------------


def short_name(field: str) -> str:
    """A field as a user types it: `rotation` for `augmentation.rotation`."""
    return field.removeprefix("augmentation.")


def format_value(value: Any) -> str:
    """A swept value as `--set` takes it back: 0.001, 64, true, none, cosine."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def label(values: dict[str, Any]) -> str:
    """A point in words, e.g. 'learning_rate=0.001,batch_size=64' (empty for no field)."""
    return ",".join(f"{short_name(field)}={format_value(v)}" for field, v in values.items())


def _wrong(field: str, rule: str, text: str) -> ConfigError:
    # No `option`: a recipe field that shares a CLI option's name ('epochs') must keep its name.
    return ConfigError(f"The recipe field '{field}' must be {rule}. Got {text!r} instead.")


def parse_value(field: str, text: str) -> Any:
    """`text` typed by the kind of recipe field `field` (its full name): int, float, bool
    (true/false) or one of its choices (`none` is the optimizer's None)."""
    kind, text = recipe_fields()[field], text.strip()
    if kind == "int":
        if not re.fullmatch(r"[+-]?\d+", text):
            raise _wrong(field, "a whole number", text)
        return int(text)
    if kind == "float":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _wrong(field, "a finite number", text)
        return number
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise _wrong(field, "true or false", text)
        return text.lower() == "true"
    choices = choices_of(field)
    value = None if text.lower() == "none" else text.lower()
    if value not in choices:
        raise _wrong(field, "one of " + ", ".join(format_value(c) for c in choices), text)
    return value


def parse_set(text: str) -> tuple[str, tuple[Any, ...]]:
    """One `--set FIELD=V1,V2,...`: the field's full name and its typed values, in order."""
    name, equals, values = text.partition("=")
    if not equals or not name.strip():
        raise ConfigError(
            f"The 'sets' option must be FIELD=V1,V2,... (e.g. {EXAMPLE}). Got {text!r} instead.",
            option="sets",
        )
    if name.strip() in SWEEP_OPTIONS:
        raise ConfigError(
            f"The '{name.strip()}' option is not a recipe field, so it cannot be swept; give it "
            f"once. The fields are: {', '.join(recipe_fields())}.",
            option=name.strip(),
        )
    try:
        field = canonical_field(name.strip())
    except ConfigError as error:  # no `option`: 'out' is a CLI option but must stay 'out' here
        raise ConfigError(str(error)) from None
    items = values.split(",")
    if any(not item.strip() for item in items):
        raise ConfigError(
            f"The 'sets' option must give one or more values after '=', separated by commas "
            f"(e.g. {EXAMPLE}). Got {text!r} instead.",
            option="sets",
        )
    typed = tuple(parse_value(field, item) for item in items)
    shown = [format_value(v) for v in typed]  # values that print alike would share their runs
    repeated = [v for i, v in enumerate(typed) if shown[i] in shown[:i]]
    if repeated:
        raise ConfigError(
            f"The 'sets' option gives the value {format_value(repeated[0])} of '{field}' twice; "
            f"give each value once. Got {text!r} instead.",
            option="sets",
        )
    return field, typed


def parse_sets(sets: Sequence[str]) -> Grid:
    """Every `--set` as one grid: field -> values, each field once, in the order given."""
    if isinstance(sets, str):
        sets = [sets]
    if not sets:
        raise ConfigError(
            f"The 'sets' option must name at least one recipe field to sweep (e.g. {EXAMPLE}).",
            option="sets",
        )
    grid: Grid = {}
    for text in sets:
        field, values = parse_set(text)
        if field in grid:
            raise ConfigError(
                f"The 'sets' option sweeps '{field}' twice; give all its values in one "
                f"{short_name(field)}=V1,V2,... Got {text!r} again.",
                option="sets",
            )
        grid[field] = values
    return grid


def expand(grid: Grid) -> list[dict[str, Any]]:
    """Every point of the grid: the cartesian product, first field outermost (order stable)."""
    fields = list(grid)
    return [dict(zip(fields, combo, strict=True)) for combo in itertools.product(*grid.values())]


# --- the runs of each point -------------------------------------------------------------------


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


def _check_point(config: TrainConfig, values: dict[str, Any]) -> None:
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


# --- formatting -------------------------------------------------------------------------------


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


def describe_config(config: dict[str, Any], points: int) -> str:
    """The sweep's settings in one sentence, so sweep.md can be read on its own."""
    first, last = config["seed"], config["seed"] + config["repeats"] - 1
    seeds = f"seed {first}" if first == last else f"seeds {first} to {last}"
    epochs = "the recipe's" if config["epochs"] is None else config["epochs"]
    images = "all" if config["limit"] is None else f"{config['limit']:,} of the"
    repeats = "1 repeat" if config["repeats"] == 1 else f"{config['repeats']} repeats"
    spread = " (mean ± standard deviation over repeats)" if config["repeats"] > 1 else ""
    place = describe_place(config["executor"], config["workers"])
    return (
        f"{points} point{'s' * (points != 1)} × {repeats} ({seeds}) of {config['model']}, "
        f"epochs: {epochs}, on {images} {TRAIN_SIZE:,} training images, trained {place}. "
        f"Ranked by validation accuracy{spread}."
    )


def _markdown(result: Sweep) -> str:
    titles = columns(result.grid)
    lines = [f"# Sweep {result.path.name}: {result.model}", ""]
    lines += [describe_config(result.config, len(result.points) + _lost(result)), ""]
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


def _save_figure(result: Sweep) -> None:
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


def _write(result: Sweep) -> None:
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
    write_bytes_atomic(result.path / SWEEP_MD, _markdown(result).encode("utf-8"))


# --- the sweep --------------------------------------------------------------------------------


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
    receives the executor's events (see mnist_lab/scale/executors.py); a failed run is listed and
    never stops the others. Ctrl-C keeps the finished runs and raises SweepInterrupted.
    """
    from mnist_lab.scale.executors import TrainingTask, check_workers, open_executor

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
            _check_point(config, values)
            tasks.append(TrainingTask(key=task_key(values, seed + r), config=config))

    results: dict[str, Any] = {}
    with open_executor(workers, scheduler) as executor:
        if dataset is None:
            dataset = mnist_data.load_mnist(data_dir)
        machine = machine_info()
        now = datetime.now()
        path = create_folder(out, now, what="sweep")
        try:
            for outcome in executor.map(tasks, path, dataset, on_progress):
                results[outcome.task.key] = outcome
        except KeyboardInterrupt:
            done = sum(outcome.ok for outcome in results.values())
            raise SweepInterrupted(
                f"the sweep stopped after {done} of {len(tasks)} runs; {path} keeps the runs "
                "finished so far but no sweep.md. Run the sweep again to compare the points."
            ) from None
        where = {"executor": executor.name, "workers": executor.workers}

    config = {"model": model, "epochs": epochs, "repeats": repeats, "seed": seed, "limit": limit}
    config |= where
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
            rows.append((index, summarize_point(values, point_runs, repeats)))
    # Best validation mean first; a tie keeps the grid's order.
    ranked = [
        row for _, row in sorted(rows, key=lambda item: (-item[1]["val_accuracy_mean"], item[0]))
    ]
    if ranked:
        best = ranked[0]
        chosen_runs = [runs.Run(path / name) for name in best["runs"]]
        test_mean, test_std = mean_std([run.metrics["test_accuracy"] for run in chosen_runs])
        best |= {"test_accuracy_mean": test_mean, "test_accuracy_std": test_std, "chosen": True}
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
    _write(result)
    if not ranked:
        raise SweepError(
            f"Every run of the sweep failed ({len(failed)} of {len(tasks)}); the first: "
            f"{describe_failure(failed[0]).rstrip('.')}. {path / SWEEP_MD} lists them all."
        )
    _save_figure(result)
    return result
