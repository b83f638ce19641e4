"""Pins: what `mnist_lab.cli.typer_core` relies on in typer's undocumented core classes.

After a typer upgrade, a failure here names the hook that changed, before every command's
one-line errors quietly turn back into typer's boxed tracebacks.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.testing import CliRunner

from mnist_lab.cli.typer_core import OneLineCommand, OneLineGroup, options_given, typed_name


def test_the_hooks_we_override_exist():
    for cls, hooks in ((TyperCommand, ("parse_args", "invoke")), (TyperGroup, ("main",))):
        for hook in hooks:
            assert callable(getattr(cls, hook, None)), (
                f"typer.core.{cls.__name__}.{hook} is gone: mnist_lab.cli.typer_core overrides it "
                "to make every error one line"
            )


def app_with_one_command() -> typer.Typer:
    app = typer.Typer(cls=OneLineGroup, add_completion=False)

    @app.command(cls=OneLineCommand)
    def fit(
        ctx: typer.Context,
        batch_size: Annotated[int, typer.Option(help="Images per step.")] = 128,
        epochs: Annotated[int, typer.Option(help="Passes.")] = 5,
    ) -> None:
        typer.echo(" ".join(options_given(ctx, ("batch_size", "epochs"))) or "none")
        assert all(isinstance(param, TyperOption) for param in ctx.command.params), (
            "typer no longer makes its options typer.core.TyperOption"
        )
        typer.echo(" ".join(typed_name(param) for param in ctx.command.params))

    @app.command(cls=OneLineCommand)
    def other() -> None:
        """A second command, so that the app is a group."""

    return app


def test_a_typed_option_has_the_command_line_as_its_source():
    result = CliRunner().invoke(app_with_one_command(), ["fit", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "--epochs", (
        "ctx.get_parameter_source(...).name is no longer 'COMMANDLINE' for a typed option"
    )


def test_options_are_named_as_typed():
    result = CliRunner().invoke(app_with_one_command(), ["fit"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["none", "--batch-size --epochs"], (
        "typer.core.TyperOption.opts no longer lists an option as it is typed"
    )


def test_a_usage_error_is_one_line_naming_the_commands_help():
    result = CliRunner().invoke(app_with_one_command(), ["fit", "--epochs", "many"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, f"a usage error is no longer one line: {result.output!r}"
    assert lines[0].startswith("Error: Invalid value for '--epochs'"), lines[0]
    assert lines[0].endswith("See 'root fit --help'."), (
        "a usage error raised while parsing no longer carries the command's ctx"
    )


def test_help_paragraphs_are_unwrapped_so_they_reflow():
    from mnist_lab.cli.typer_core import unwrap_help

    text = """First line
    of the summary.

    A paragraph wrapped
    at an editor's width.

    - a list item
    - another, wrapped
      over two lines

    \b
    kept
    as written"""
    assert unwrap_help(text) == (
        "First line of the summary.\n\n"
        "A paragraph wrapped at an editor's width.\n\n"
        "- a list item\n- another, wrapped\n  over two lines\n\n"
        "\b\nkept\nas written"
    )


def description_lines(command: list[str], columns: int = 80) -> list[list[str]]:
    """The paragraphs of a command's --help text (between its usage and its first box)."""
    from mnist_lab.cli import app

    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Usage:" in line) + 1
    end = next(i for i, line in enumerate(lines) if line.lstrip().startswith("╭"))
    paragraphs: list[list[str]] = [[]]
    for line in lines[start:end]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]


def test_long_helps_reflow_to_an_80_column_terminal_without_breaking_mid_sentence():
    # typer kept the docstrings' own line breaks, so at 80 columns a line ended after
    # "sees, its ten" and the next began "probabilities, ..." (lab), or "and" stood alone (train)
    for command in (["lab"], ["grade"], ["train"], ["inspect"], ["evaluate"]):
        for paragraph in description_lines(command):
            short = [line for line in paragraph[:-1] if len(line) < 60]
            assert not short, (command, short)
