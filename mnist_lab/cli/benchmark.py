"""`mnist-lab benchmark`: models side by side, with a live progress display and a leaderboard.

The runs go to an executor: in this process by default, a local Dask cluster with `--workers W`,
or a real cluster with `--scheduler ADDRESS`. The progress is `cli.progress.batch_progress`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    SchedulerOption,
    WorkersOption,
    console,
    options_given,
    print_table,
)
from mnist_lab.cli.progress import batch_progress
from mnist_lab.core.errors import MnistLabError

app = typer.Typer(cls=OneLineGroup)

# What a benchmark's plan.json keeps, which `--resume` must not be given again.
PLAN_OPTIONS = ("epochs", "repeats", "seed", "limit", "out")


@app.command("benchmark", cls=OneLineCommand)
def benchmark_command(
    ctx: typer.Context,
    patterns: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(
            metavar="PATTERNS",
            help="Model names or wildcards, e.g. 'reference' 'bn-*' or '*'.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Epochs for every model (default: each model's own, see 'list')."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per model, with seeds S..S+R-1.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the first repeat, shared by all models.")] = 0,
    limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Train on this many images only (a quick comparison)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder that receives the benchmark folder.")] = Path(
        "benchmarks"
    ),
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    resume: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Finish this interrupted benchmark folder: train only the runs it is missing.",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Train models side by side on the same split and seeds; write a leaderboard and plots.

    --resume DIR finishes a benchmark stopped by Ctrl-C, training only what it is missing.
    """
    from mnist_lab.scale.benchmark import benchmark, resume_benchmark

    given = options_given(ctx, PLAN_OPTIONS)
    if resume is not None and (patterns or given):
        dropped = ", ".join(["the model names"] * bool(patterns) + given)
        raise MnistLabError(
            f"--resume continues {resume} with the models and options it was started with; "
            f"leave out {dropped}."
        )
    if resume is None and not patterns:
        raise MnistLabError(
            "Name at least one model or pattern to benchmark (see 'mnist-lab list'), or "
            "continue a benchmark with --resume BENCHMARK_DIR."
        )
    with batch_progress(console(), "Runs") as on_progress:
        if resume is not None:
            result = resume_benchmark(
                resume,
                workers=workers,
                scheduler=scheduler,
                data_dir=data_dir,
                on_progress=_announce(on_progress),
            )
        else:
            result = benchmark(
                patterns or [],
                epochs=epochs,
                repeats=repeats,
                seed=seed,
                limit=limit,
                out=out,
                data_dir=data_dir,
                workers=workers,
                scheduler=scheduler,
                on_progress=_announce(on_progress),
            )
    show_leaderboard(result)


def _announce(on_progress: Any) -> Any:
    """The batch display, preceded by one line naming the models when the benchmark starts."""

    def relay(event: dict[str, Any]) -> None:
        if event["event"] == "start":
            models = event["models"]
            before = event.get("finished_before", 0)
            typer.echo(
                f"Benchmarking {len(models)} model{'s' * (len(models) != 1)} "
                f"({', '.join(models)}), {event['repeats']} repeat(s) each"
                + (f"; {before} run{'s' * (before != 1)} finished before." if before else ".")
            )
        if event["event"] in ("start", "task_start", "epoch_done", "task_done"):
            on_progress(event)

    return relay


def show_leaderboard(result: Any) -> None:
    from rich.table import Column

    from mnist_lab.scale.benchmark import (
        LEADERBOARD_COLUMNS,
        LEADERBOARD_TITLE,
        describe_executor,
        describe_machine,
        format_leaderboard,
    )

    print_table(
        LEADERBOARD_TITLE,
        [Column(title, justify=justify) for title, justify in LEADERBOARD_COLUMNS],  # type: ignore[arg-type]
        format_leaderboard(result.rows),
    )
    for row in result.rows:
        if row.get("failed"):
            typer.echo(f"Failed runs of {row['name']}: {'; '.join(row['errors'])}")
    typer.echo(f"Machine: {describe_machine(result.machine)}")
    typer.echo(describe_executor(result.executor))
    typer.echo(
        f"Saved in {result.path}/ (leaderboard.md, leaderboard.json, curves.png, "
        "accuracy_vs_time.png and each model's run folder)"
    )
