"""Markdown tables of the course site that are computed from the code at every site build.

The zoo table comes from the registry, the layer table from a registered model and the CLI
reference from the typer app, so none of them can drift from what they describe. docs/hooks.py
puts them into the pages; they are cheap enough to make on every build (the zoo builds each
model once to count its parameters, which starts TensorFlow).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnist_lab.core.markdown import markdown_table

# --- the zoo ----------------------------------------------------------------------------------


def builtin_summaries() -> list[dict[str, Any]]:
    """`registry.model_summaries` of the built-in models only, whatever else is installed.

    The site documents the zoo that ships with mnist-lab; a student's models and installed
    plugins are theirs to list with `mnist-lab list`.
    """
    from mnist_lab.models import registry

    names = [
        name for name in registry.list_models() if registry.model_info(name).source == "built-in"
    ]
    return registry.model_summaries(names)


def zoo_table(rows: Sequence[dict[str, Any]]) -> str:
    """One row per model: name, description, parameters, recipe and tags."""
    cells = [
        [
            f"`{row['name']}`",
            row["description"],
            "—" if row["params"] is None else f"{row['params']:,}",
            row["recipe"],
            ", ".join(row["tags"]),
        ]
        for row in rows
    ]
    return markdown_table(
        ["name", "what it is", "parameters", "trains with", "tags"], "llrll", cells
    )


# --- a model's layers -------------------------------------------------------------------------


def _shape(layer: Any) -> str:
    shape = tuple(layer.output.shape)
    return "(" + ", ".join("N" if size is None else str(size) for size in shape) + ")"


def _settings(layer: Any) -> str:
    """What a layer's constructor was told, in the words of the course."""
    config = layer.get_config()
    kind = type(layer).__name__
    activation = config.get("activation")
    activation = f", {activation}" if activation and activation != "linear" else ""
    if "filters" in config:
        size = "x".join(str(k) for k in config["kernel_size"])
        strides = "x".join(str(s) for s in config.get("strides", (1, 1)))
        stride = f", stride {strides}" if strides not in ("1x1", "1") else ""
        return f"{config['filters']} filters {size}{stride}{activation}"
    if "pool_size" in config:
        return "window " + "x".join(str(p) for p in config["pool_size"])
    if "units" in config:
        return f"{config['units']} units{activation}"
    if kind == "Dropout":
        return f"drop {config['rate']:g} of the inputs"
    return ""


def layer_rows(model: Any) -> list[list[str]]:
    """One row per layer of a built model: name, type, settings, output shape, parameters."""
    return [
        [
            str(index),
            type(layer).__name__,
            _settings(layer),
            _shape(layer),
            f"{layer.count_params():,}",
        ]
        for index, layer in enumerate(model.layers, start=1)
    ]


def layer_table(model: Any) -> str:
    """The layers of a built model as a markdown table, with its total parameter count."""
    rows = layer_rows(model)
    rows.append(["", "**total**", "", "", f"**{model.count_params():,}**"])
    header = ["#", "layer", "settings", "output shape", "parameters"]
    return markdown_table(header, "rllrr", rows)


def receptive_fields(model: Any) -> list[dict[str, Any]]:
    """What one unit of each convolution or pooling layer sees of the input, for a chain of
    layers: its receptive field (r pixels square) and the step between neighbouring units (jump).

    A layer with kernel k (dilated: d(k-1)+1) and stride s gives r' = r + (k - 1) * jump and
    jump' = jump * s; padding moves the field but does not change its size.
    """
    field, jump, rows = 1, 1, []
    for layer in model.layers:
        config = layer.get_config()
        kernel = config.get("kernel_size") or config.get("pool_size")
        if kernel is None:
            continue
        strides = config.get("strides") or kernel
        dilation = config.get("dilation_rate") or (1, 1)
        size = dilation[0] * (kernel[0] - 1) + 1
        field += (size - 1) * jump
        jump *= strides[0]
        rows.append(
            {"name": layer.name, "kind": type(layer).__name__, "kernel": kernel[0],
             "stride": strides[0], "output": tuple(layer.output.shape[1:]), "field": field,
             "jump": jump}
        )  # fmt: skip
    return rows


def receptive_field_table(model: Any) -> str:
    """`receptive_fields` as a markdown table."""
    cells = [
        [
            f"{row['kind']} {row['kernel']}x{row['kernel']}, stride {row['stride']}",
            "(" + ", ".join(str(size) for size in row["output"]) + ")",
            f"{row['field']}x{row['field']}",
            str(row["jump"]),
        ]
        for row in receptive_fields(model)
    ]
    header = ["layer", "output shape", "one unit sees", "step between units"]
    return markdown_table(header, "llrr", cells)


# --- the exercises ----------------------------------------------------------------------------


def hints_markdown(number: int, root: Path) -> str:
    """The first two rungs of exercise `number`'s hints (the question and the idea), from the
    manifest, as folded admonitions, and one sentence on where the last rung is.

    They are the hints `mnist-lab exercises hint` shows, one at a time, in the same order. The
    near-code rung is never on a page: the command shows it once a check has failed twice on
    the same test (or at once with --all, the student's explicit choice).
    """
    from mnist_lab.course.exercises import CODE_AFTER, RUNGS, find, load_catalog

    exercise = find(load_catalog(root), number)
    shown = [hint for hint in exercise.hints if hint.rung != RUNGS[-1]]
    titles = {"question": "a question", "idea": "the idea"}
    folded = [
        f'??? tip "Hint {index} of {len(exercise.hints)}: {titles[hint.rung]}"\n\n'
        f"    {_literal(hint.text)}\n"
        for index, hint in enumerate(shown, start=1)
    ]
    if len(shown) < len(exercise.hints):
        folded.append(
            f"The last hint, near-code, is not on this page: `mnist-lab exercises hint {number}` "
            f"shows it once the check has failed {_times(CODE_AFTER)} on the same test.\n"
        )
    return "\n".join(folded)


def _times(count: int) -> str:
    return {1: "once", 2: "twice", 3: "three times"}.get(count, f"{count} times")


def _literal(text: str) -> str:
    """A hint's plain text, with the brackets of code such as `history['loss'][-1]` escaped so
    that markdown does not read them as links."""
    return text.replace("[", "\\[").replace("]", "\\]")


# --- the CLI ----------------------------------------------------------------------------------


def cli_reference() -> str:
    """Every command, argument and option of `mnist-lab`, from the typer app itself.

    It is typer's own `typer ... utils docs` generator, without its top heading: the page has
    its own. Commands are `##` headings, subcommands `###`.
    """
    import typer
    import typer.cli
    import typer.main

    from mnist_lab.cli import app

    command = typer.main.get_command(app)
    docs = typer.cli.get_docs_for_click(
        obj=command, ctx=typer.Context(command), name="mnist-lab", title="mnist-lab"
    )
    lines = docs.splitlines()
    return "\n".join(lines[1:]).strip() + "\n"
