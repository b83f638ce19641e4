"""The `mnist-lab` command: one typer app composed of a sub-app per group of commands.

Each command parses its options, calls one library function and prints the result; the library
is imported inside the commands, so `mnist-lab --help` answers at once, without TensorFlow.

- `train`, `list`, `runs`: mnist_lab/cli/train.py
- `benchmark`: mnist_lab/cli/benchmark.py
- `sweep`: mnist_lab/cli/sweep.py
- `grade`: mnist_lab/cli/grade.py
- the progress display of many trainings (benchmark, sweep): mnist_lab/cli/progress.py
- `evaluate`, `predict`: mnist_lab/cli/reports.py
- `inspect`: mnist_lab/cli/inspect.py
- `lab`: mnist_lab/cli/lab.py
- `data ...`: mnist_lab/cli/data.py
- `exercises ...`: mnist_lab/cli/exercises.py
- one-line errors, shared options, tables: mnist_lab/cli/common.py
"""

from __future__ import annotations

import typer

from mnist_lab.cli import benchmark, data, exercises, grade, inspect, lab, reports, sweep, train
from mnist_lab.cli.common import OneLineGroup

__all__ = ["app", "main"]

app = typer.Typer(
    cls=OneLineGroup,
    help="Learn convolutional networks on MNIST: train, compare and inspect registered models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(train.app)  # no name: its commands join the root (train, list, runs)
app.add_typer(benchmark.app)
app.add_typer(sweep.app)
app.add_typer(grade.app)
app.add_typer(reports.app)
app.add_typer(inspect.app)
app.add_typer(lab.app)
app.add_typer(data.app, name="data")
app.add_typer(exercises.app, name="exercises")


def main() -> None:
    """Entry point of the `mnist-lab` console script."""
    app()
