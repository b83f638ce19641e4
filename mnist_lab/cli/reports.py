"""`mnist-lab evaluate` and `predict`: what a trained run gets right and wrong, and your digits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    console,
    print_table,
    right,
)

app = typer.Typer(cls=OneLineGroup)

RunArgument = Annotated[Path, typer.Argument(help="A run folder written by 'mnist-lab train'.")]


@app.command("evaluate", cls=OneLineCommand)
def evaluate_command(
    run: RunArgument,
    split: Annotated[
        str,
        typer.Option(
            metavar="[validation|test]",
            help="Which images to evaluate on: 'test' (the 10,000 test images, the final score, "
            "which chooses nothing) or 'validation' (the images this run held out, from its "
            "own seed: look there before deciding what to change). Validation files are named "
            "*-validation.png and per_class-validation.json, beside the test ones.",
        ),
    ] = "test",
    data_dir: DataDirOption = None,
) -> None:
    """Write a run's confusion matrix, worst mistakes and per-digit metrics; print a report.

    By default on the test set, the run's final score; with --split validation on the images the
    run held out, where error analysis looks before anything is changed.
    """
    from mnist_lab.data import load_mnist
    from mnist_lab.evaluation.reports import evaluate_run
    from mnist_lab.evaluation.splits import check_split

    split = check_split(split)  # a bad value fails before MNIST is loaded
    report = evaluate_run(run, dataset=load_mnist(data_dir) if data_dir else None, split=split)
    console().print(
        f"{report['model']}: {split} accuracy {report[f'{split}_accuracy']:.2%} "
        f"({report['errors']:,} of {report[f'{split}_size']:,} {split} images wrong)"
    )
    confused = ", ".join(
        f"{true} taken for {predicted} ({count}x)"
        for true, predicted, count in report["most_confused"]
    )
    console().print(f"Most confused: {confused or 'nothing'}")
    print_table(
        "Per digit",
        [right(title) for title in ("Digit", "Precision", "Recall", "F1", "Images")],
        (
            [
                digit,
                f"{row['precision']:.2%}",
                f"{row['recall']:.2%}",
                f"{row['f1']:.2%}",
                f"{row['support']:,}",
            ]
            for digit, row in report["per_class"].items()
        ),
    )
    typer.echo(f"Wrote {', '.join(Path(f).name for f in report['files'].values())} into {run}/")


@app.command("predict", cls=OneLineCommand)
def predict_command(
    run: RunArgument,
    images: Annotated[
        list[Path], typer.Argument(help="PNG or JPEG pictures of single digits, any size.")
    ],
    show: Annotated[
        bool,
        typer.Option(
            "--show",
            help="Also save the 28x28 image the model saw (fit into 20x20, centred by mass) "
            "as RUN/seen/NAME.png, enlarged 10x.",
        ),
    ] = False,
) -> None:
    """Recognize the digit in each picture with a trained run's model."""
    from mnist_lab.evaluation.reports import predict_images

    for result in predict_images(run, images, show=show):
        top = ", ".join(f"{digit}: {p:.1%}" for digit, p in result["top3"])
        typer.echo(f"{result['path']}: {result['digit']}   ({top})")
        if "seen" in result:
            typer.echo(f"  the model saw {result['seen']}")
