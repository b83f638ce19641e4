"""`mnist-lab benchmark`: models side by side, with a live progress display and a leaderboard.

On a terminal the progress is one rich display (models done of total, the model, repeat and
epoch being trained, its validation accuracy, the time elapsed); piped or captured, it is one
plain line per epoch and per finished run, which logs and tests can read.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    console,
    print_table,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

app = typer.Typer(cls=OneLineGroup)

Event = dict[str, Any]


@app.command("benchmark", cls=OneLineCommand)
def benchmark_command(
    patterns: Annotated[
        list[str], typer.Argument(help="Model names or wildcards, e.g. 'reference' 'bn-*' or '*'.")
    ],
    epochs: Annotated[
        Optional[int],  # noqa: UP045  (typer needs Optional on Python 3.10)
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
    data_dir: DataDirOption = None,
) -> None:
    """Train models side by side on the same split and seeds; write a leaderboard and plots."""
    from rich.table import Column

    from mnist_lab.benchmark import (
        LEADERBOARD_COLUMNS,
        LEADERBOARD_TITLE,
        benchmark,
        describe_machine,
        format_leaderboard,
    )

    with progress_display(console()) as on_progress:
        result = benchmark(
            patterns,
            epochs=epochs,
            repeats=repeats,
            seed=seed,
            limit=limit,
            out=out,
            data_dir=data_dir,
            on_progress=on_progress,
        )
    print_table(
        LEADERBOARD_TITLE,
        [Column(title, justify=justify) for title, justify in LEADERBOARD_COLUMNS],  # type: ignore[arg-type]
        format_leaderboard(result.rows),
    )
    typer.echo(f"Machine: {describe_machine(result.machine)}")
    typer.echo(
        f"Saved in {result.path}/ (leaderboard.md, leaderboard.json, curves.png, "
        "accuracy_vs_time.png and each model's run folder)"
    )


@contextlib.contextmanager
def progress_display(out: Console) -> Iterator[Callable[[Event], None]]:
    """The benchmark's `on_progress`: a live rich display on a terminal, plain lines otherwise."""
    if not out.is_terminal:
        yield lambda event: _print_line(event, typer.echo)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("Models"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[accuracy]}"),
        TimeElapsedColumn(),
        console=out,
    )
    with progress:
        yield LiveProgress(progress)


class LiveProgress:
    """Benchmark events drawn on one rich progress bar; each finished run also gets a line."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def __repr__(self) -> str:
        return f"LiveProgress({self.progress.tasks!r})"

    def __call__(self, event: Event) -> None:
        kind, update = event["event"], self._update
        if kind == "start":
            self._say(event)
            self.task = self.progress.add_task("", total=event["total"], accuracy="")
        elif kind == "model_start":
            update(description=_run_of(event), accuracy="")
        elif kind == "epoch_done":
            update(
                description=f"{_run_of(event)} epoch {event['epoch']}/{event['epochs']}",
                accuracy=f"val accuracy {event['val_accuracy']:.2%}",
            )
        elif kind == "model_done":
            self._say(event)
            # The bar counts models: model i is done with its last repeat.
            update(completed=event["index"] - 1 + event["repeat"] / event["repeats"])
        elif kind == "speed":
            update(description=f"{event['name']}: measuring its speed", accuracy="")

    def _update(self, **fields: Any) -> None:
        if self.task is not None:
            self.progress.update(self.task, **fields)

    def _say(self, event: Event) -> None:
        """The plain line of `event`, printed above the live bar."""
        _print_line(event, lambda line: self.progress.console.print(line, markup=False))


def _run_of(event: Event) -> str:
    return f"{event['name']} repeat {event['repeat']}/{event['repeats']}"


def _print_line(event: Event, say: Callable[[str], Any]) -> None:
    """One line for the start, each epoch and each finished run: model i of n, repeat, epoch."""
    minutes, seconds = divmod(int(event["elapsed"]), 60)
    elapsed = f"{minutes}:{seconds:02d} elapsed"
    kind = event["event"]
    if kind == "start":
        say(
            f"Benchmarking {event['total']} model{'s' * (event['total'] != 1)} "
            f"({', '.join(event['models'])}), {event['repeats']} repeat(s) each."
        )
    elif kind in ("epoch_done", "model_done"):
        where = (
            f"[{event['index']}/{event['total']}] {event['name']} "
            f"repeat {event['repeat']}/{event['repeats']}"
        )
        if kind == "epoch_done":
            say(
                f"{where}  epoch {event['epoch']}/{event['epochs']}  "
                f"val accuracy {event['val_accuracy']:.2%}  {elapsed}"
            )
        else:
            say(
                f"{where}  test accuracy {event['test_accuracy']:.2%} "
                f"after {event['train_seconds']:.1f} s of training  {elapsed}"
            )
