"""What every command group shares: one-line errors, the common options, tables and consoles.

A student sees every mistake the same way, whoever made it: one line `Error: ...` on stderr, a
non-zero exit and no traceback. Click's usage errors (a bad option value, a missing argument)
exit 2 and point to the command's --help; the library's `MnistLabError`s exit 1 (or their own
code) and name options as they are typed on the command line. Both are handled by the command
classes below, which every command and group of the app uses (`cls=OneLineCommand`).

Typer (0.26 and later) vendors Click: its exceptions derive from the public `typer.TyperException`,
and its context is `typer.Context`; the `click` package is never imported here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from mnist_lab.core.errors import ConfigError, MnistLabError, describe_os_error

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


# --- every error as one line ----------------------------------------------------------------


class _OneLineErrors:
    """What our command and group classes add to typer's: errors a student can act on.

    - A bare group (`mnist-lab`, `mnist-lab data`) shows its help and exits 0, as Click did
      before 8.2 made it an error.
    - Click's usage errors carry the context of the command being parsed, so that they can say
      which --help to read (its parser leaves it out of "Option '--out' requires an argument").
    - The library's errors, Ctrl-C and OS errors met in a command become one line on stderr.
    """

    no_args_is_help: bool

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit(0)
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except typer.TyperException as error:
            if hasattr(error, "ctx") and error.ctx is None:
                error.ctx = ctx
            raise

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except MnistLabError as error:
            typer.echo(f"{error.prefix}: {as_typed(error, ctx)}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted.", code=130) from None
        except OSError as error:  # a full disk or a read-only folder, met outside our checks
            raise fail(f"{describe_os_error(error)}.") from None


class OneLineCommand(_OneLineErrors, TyperCommand):
    """A command whose every error is one line (the `cls` of every command of the app)."""


class OneLineGroup(_OneLineErrors, TyperGroup):
    """A group whose every error is one line; as the root app, it prints Click's usage errors.

    Typer would draw them in a box with the usage text; a student needs only what was wrong
    and where to look, as for every other error of the command.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:  # Click's errors; usage errors name their command
            ctx = getattr(error, "ctx", None)  # as typer's own rich_format_error reads it
            where = f" See '{ctx.command_path} --help'." if ctx is not None else ""
            typer.echo(f"Error: {_sentence(error.format_message())}{where}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _sentence(message: str) -> str:
    return message if message.endswith((".", "?")) else f"{message}."


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `Error: message` on stderr; raise what this returns to exit with `code`."""
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def as_typed(error: MnistLabError, ctx: typer.Context) -> str:
    """The message, naming an option as the command spells it ('--batch-size', not 'batch_size').

    An option the command does not have (a recipe's) keeps the name the library gave it.
    """
    if not isinstance(error, ConfigError) or error.option is None:
        return str(error)
    named = next((param for param in ctx.command.params if param.name == error.option), None)
    return error.naming(typed_name(named)) if named is not None else str(error)


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


def options_given(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among `names` typed on the command line, as typed ('--batch-size')."""
    return [
        typed_name(param)
        for param in ctx.command.params
        if param.name in names
        and getattr(ctx.get_parameter_source(param.name), "name", None) == "COMMANDLINE"
    ]


def typed_name(param: Any) -> str:
    """A parameter as the user types it: '--batch-size' for an option; an argument as the
    placeholder our messages use for it ('MODEL', as in '--resume RUN')."""
    if isinstance(param, TyperOption):
        return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
    return (param.metavar or param.name).upper()


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
