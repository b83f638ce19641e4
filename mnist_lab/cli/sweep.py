"""`mnist-lab sweep`: one model over a grid of recipe values, chosen on validation accuracy.

The command parses its options, calls `mnist_lab.scale.sweep.sweep` and prints the ranked points,
the chosen one with its test accuracy (the only test accuracy it shows) and where the files are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    SchedulerOption,
    WorkersOption,
    console,
    print_table,
)

app = typer.Typer(cls=OneLineGroup)


@app.command("sweep", cls=OneLineCommand)
def sweep_command(
    model: Annotated[str, typer.Argument(help="The registered model to sweep, e.g. 'reference'.")],
    sets: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="A recipe field and its values, e.g. learning_rate=1e-3,3e-3,1e-2 (repeatable: "
            "the grid is every combination).",
            show_default=False,
        ),
    ],
    repeats: Annotated[int, typer.Option(help="Runs per point, with seeds S..S+R-1.")] = 1,
    epochs: Annotated[
        Optional[int],  # noqa: UP045  (typer needs Optional on Python 3.10)
        typer.Option(help="Epochs of every run (default: the model's recipe)."),
    ] = None,
    limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Train on this many images only (a quick sweep)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the first repeat, shared by all points.")] = 0,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    out: Annotated[Path, typer.Option(help="Folder that receives the sweep folder.")] = Path(
        "sweeps"
    ),
    data_dir: DataDirOption = None,
) -> None:
    """Train one model over a grid of recipe values; rank the points on validation accuracy."""
    from rich.table import Column

    from mnist_lab.cli.progress import batch_progress
    from mnist_lab.scale.sweep import (
        TEST_RULE,
        columns,
        describe_choice,
        describe_failure,
        format_points,
        sweep,
    )

    with batch_progress(console(), title=f"Sweep of {model}") as on_progress:
        result = sweep(
            model,
            sets,
            repeats=repeats,
            epochs=epochs,
            limit=limit,
            seed=seed,
            workers=workers,
            scheduler=scheduler,
            out=out,
            data_dir=data_dir,
            on_progress=on_progress,
        )
    print_table(
        f"Sweep of {model} (best validation accuracy first)",
        [Column(title, justify=justify) for title, justify in columns(result.grid)],  # type: ignore[arg-type]
        format_points(result),
        caption=TEST_RULE,
    )
    for failure in result.failed:
        typer.echo(f"Failed: {describe_failure(failure)}")
    typer.echo(describe_choice(result))
    typer.echo(f"Saved in {result.path}/ (sweep.md, sweep.json, sweep.png and each run folder)")
