"""What every command group shares: one-line errors, the common options, tables and consoles.

A student sees every mistake the same way, whoever made it: one line `Error: ...` on stderr, a
non-zero exit and no traceback. Click's usage errors (a bad option value, a missing argument)
exit 2 and point to the command's --help; the library's `MnistLabError`s exit 1 (or their own
code) and name options as they are typed on the command line. Both are handled by the command
classes of `mnist_lab.cli.typer_core`, which every command and group of the app uses
(`cls=OneLineCommand`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from mnist_lab.cli.typer_core import (  # noqa: F401  (every command module imports them here)
    OneLineCommand,
    OneLineGroup,
    options_given,
    typed_name,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Column

DataDirOption = Annotated[
    Optional[Path],  # noqa: UP045  (typer needs Optional on Python 3.10)
    typer.Option(
        "--data-dir",
        help="Folder of the MNIST cache (default: $MNIST_LAB_DATA, else your user cache folder).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


# Where the runs train: shared by benchmark and sweep (and grade).
WorkersOption = Annotated[
    int,
    typer.Option(
        help="Train this many runs at once on a local Dask cluster of that many worker "
        "processes (1: one after another in this process)."
    ),
]
SchedulerOption = Annotated[
    Optional[str],  # noqa: UP045  (typer needs Optional on Python 3.10)
    typer.Option(
        help="Train on the Dask cluster whose scheduler listens at this address "
        "(e.g. tcp://10.0.0.5:8786), started with 'dask scheduler' and 'dask worker'. "
        "Default: $MNIST_LAB_SCHEDULER when set and --workers is 1.",
        show_default=False,
    ),
]


# --- printing -------------------------------------------------------------------------------


def console() -> Console:
    """A rich console on stdout (rich is imported on first use: `--help` stays fast)."""
    from rich.console import Console

    return Console()


def print_table(
    title: str,
    columns: Sequence[str | Column],
    rows: Iterable[Sequence[str]],
    *,
    total: Sequence[str] | None = None,
    caption: str | None = None,
) -> None:
    """Print a rich table: every command's tables look alike. A column is its title or a rich
    `Column` (for right-justified or unwrapped ones); `total` is a last row, in bold; `caption`
    a line under the table."""
    from rich.table import Table

    table = Table(*columns, title=title, caption=caption)
    for cells in rows:
        table.add_row(*cells)
    if total is not None:
        table.add_row(*total, style="bold")
    console().print(table)


def right(title: str, *, no_wrap: bool = False) -> Column:
    """A right-justified column, for numbers."""
    from rich.table import Column

    return Column(title, justify="right", no_wrap=no_wrap)


def unwrapped(title: str) -> Column:
    """A column whose cells never wrap (names, paths, states)."""
    from rich.table import Column

    return Column(title, no_wrap=True)
