"""The only door to typer's core classes: our command classes and what they rely on.

Typer's documented API declares commands; changing how a command reports its errors means
subclassing `typer.core.TyperCommand`, `TyperGroup` and reading `TyperOption`, which typer does
not document. Every such use is here, and `tests/test_typer_core.py` pins what it relies on: the
`parse_args`, `invoke` and `main` hooks, a usage error's `ctx`, an option's `opts`, and a
parameter source named "COMMANDLINE".

Typer (0.26 and later) vendors Click: its exceptions derive from the public `typer.TyperException`,
and its context is `typer.Context`; the `click` package is never imported here.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from mnist_lab.core.errors import ConfigError, MnistLabError, describe_os_error

COMMAND_LINE = "COMMANDLINE"  # the name of Click's ParameterSource for a typed option


# --- every error as one line ----------------------------------------------------------------


class _OneLineErrors:
    """What our command and group classes add to typer's: errors a student can act on.

    - A bare group (`mnist-lab`, `mnist-lab data`) shows its help and exits 0, as Click did
      before 8.2 made it an error.
    - Click's usage errors carry the context of the command being parsed, so that they can say
      which --help to read (its parser leaves it out of "Option '--out' requires an argument").
    - The library's errors, Ctrl-C and OS errors met in a command become one line on stderr.
    - Help paragraphs reflow to the terminal's width (`unwrap_help`).
    """

    no_args_is_help: bool
    help: str | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        if self.help:
            self.help = unwrap_help(self.help)

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


def unwrap_help(text: str) -> str:
    """A docstring's paragraphs each on one line, so the help reflows to the terminal's width.

    Typer keeps the single line breaks of every paragraph after the first, so a docstring
    wrapped at 100 columns broke mid-sentence in an 80-column terminal. Lines that start a
    list item ("- ") or are indented keep their break, and so does a paragraph marked with
    Click's "\\b" (no rewrapping).
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_unwrap(paragraph) for paragraph in paragraphs)


def _unwrap(paragraph: str) -> str:
    if paragraph.startswith("\b"):
        return paragraph
    lines: list[str] = []
    for line in paragraph.split("\n"):
        if lines and not line.startswith(("- ", " ")):
            lines[-1] = f"{lines[-1]} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


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


def options_given(ctx: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among `names` typed on the command line, as typed ('--batch-size')."""
    return [
        typed_name(param)
        for param in ctx.command.params
        if param.name in names
        and getattr(ctx.get_parameter_source(param.name), "name", None) == COMMAND_LINE
    ]


def typed_name(param: Any) -> str:
    """A parameter as the user types it: '--batch-size' for an option; an argument as the
    placeholder our messages use for it ('MODEL', as in '--resume RUN')."""
    if isinstance(param, TyperOption):
        return next((opt for opt in param.opts if opt.startswith("--")), param.opts[0])
    return (param.metavar or param.name).upper()
