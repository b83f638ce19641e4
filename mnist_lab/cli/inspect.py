"""`mnist-lab inspect`: a trained run's filters, feature maps and saliency, as figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    print_table,
    right,
    unwrapped,
)

app = typer.Typer(cls=OneLineGroup)


@app.command("inspect", cls=OneLineCommand)
def inspect_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by 'mnist-lab train'.")],
    images: Annotated[
        Optional[list[Path]],  # noqa: UP045  (typer needs Optional on Python 3.10)
        typer.Argument(
            help="PNG or JPEG pictures of single digits to look at, prepared as 'predict' "
            "prepares them (default: an image of --split, see --index).",
            show_default=False,
        ),
    ] = None,
    split: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            metavar="[validation|test]",
            help="Which images --index counts in: 'validation' (default: the images this run "
            "held out, from its own seed; look at mistakes there before changing anything) or "
            "'test' (a look at the final score's images, which choose nothing).",
            show_default=False,
        ),
    ] = None,
    index: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            help="Which image of --split to look at (default 0).",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a run's filters.png, feature_maps.png and saliency.png; print its layer table.

    The figures show the first convolution's filters, every convolution's feature maps for one
    digit, and which pixels the predicted digit's logit (its score before the softmax) depends
    on. Without pictures, the digit is one of the run's validation images. Several pictures
    each get their own feature_maps-NAME.png and saliency-NAME.png; the run's other files are
    never touched.
    """
    from mnist_lab.evaluation.inspection import inspect_run
    from mnist_lab.evaluation.splits import check_split

    if split is not None:
        check_split(split)  # a bad value fails before MNIST is loaded
    dataset = None
    if data_dir is not None and not images:
        from mnist_lab.data import load_mnist

        dataset = load_mnist(data_dir)
    report = inspect_run(run, images or (), index=index, split=split, dataset=dataset)
    layers = report["layers"]
    print_table(
        f"Layers of {report['model']}",
        [unwrapped("Layer"), "Type", right("Output shape", no_wrap=True), right("Parameters")],
        (
            [row["name"], row["type"], _shape(row["output_shape"]), f"{row['params']:,}"]
            for row in layers
        ),
        total=["total", "", "", f"{sum(row['params'] for row in layers):,}"],
    )
    for digit in report["digits"]:
        known = f" (true {digit['label']})" if digit["label"] is not None else ""
        answer = f"predicted {digit['digit']} ({digit['probability']:.2%})"
        typer.echo(f"{digit['source']}{known}: {answer}")
    names = ", ".join(Path(file).name for file in report["files"])
    typer.echo(f"Wrote {names} into {run}/")


def _shape(shape: tuple) -> str:
    """(26, 26, 32) as '26 x 26 x 32'."""
    return " x ".join(str(size) for size in shape)
