"""`mnist-lab train`, `runs` and `list`: train a registered model, see its runs, see the models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    JsonOption,
    OneLineCommand,
    OneLineGroup,
    console,
    options_given,
    print_table,
    right,
    unwrapped,
)
from mnist_lab.core.errors import ConfigError, MnistLabError

app = typer.Typer(cls=OneLineGroup)

# The options a run keeps in its config.json, which `--resume` must not be given again.
RUN_OPTIONS = (
    "model", "epochs", "batch_size", "seed", "validation_split", "limit", "out", "keep_epochs",
    "devices",
)  # fmt: skip


@app.command("train", cls=OneLineCommand)
def train_command(
    ctx: typer.Context,
    model: Annotated[
        Optional[str],  # noqa: UP045  (typer needs Optional on Python 3.10)
        typer.Argument(
            help="A registered model's name (see 'mnist-lab list').", show_default=False
        ),
    ] = None,
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
    keep_epochs: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--keep-epochs/--no-keep-epochs",
            help="Keep each epoch's weights in the run's epochs/ folder, for the lab's epoch "
            "slider (default: for models under 2 million parameters).",
            show_default=False,
        ),
    ] = None,
    devices: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            metavar="N|all",
            help="Train on N devices under a MirroredStrategy (batch size per device): the "
            "first N GPUs, or 'all' of them; without a GPU, N logical CPU devices, for testing "
            "only (default: one device).",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Continue this interrupted run folder from its last completed epoch, "
            "with its own options.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train a registered model, evaluate it on the test set and save a run folder.

    Ctrl-C stops after the current step; the run keeps its last completed epoch and
    'mnist-lab train --resume RUN' continues it.
    """
    from mnist_lab.training import TrainConfig, resolve, train

    if resume is not None:
        _resume(ctx, resume, data_dir)
        return
    if model is None:
        raise MnistLabError(
            "Give a model to train (see 'mnist-lab list'), or --resume RUN to continue a run."
        )
    config = TrainConfig(
        model=model,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        validation_split=validation_split,
        limit=limit,
        out=str(out),
        data_dir=str(data_dir) if data_dir is not None else None,
        keep_epochs=keep_epochs,
        devices=_parse_devices(devices),
    )
    config = resolve(config)  # reports a bad option or an unknown name before anything else
    epochs, batch_size = config.epochs, config.batch_size
    images = f"{limit:,} training images" if limit else "the 60,000 training images"
    typer.echo(
        f"Training '{model}' for {epochs} epoch{'s' * (epochs != 1)} on {images} "
        f"({validation_split:.0%} held out for validation), batch size {batch_size}, seed {seed}."
    )
    if config.devices is not None and config.devices > 1:
        _report_devices(config.devices, batch_size)
    _report_run(train(config))


def _parse_devices(text: str | None) -> int | None:
    """`--devices N|all` as a count ('all' asks TensorFlow how many GPUs there are)."""
    if text is None:
        return None
    if text.strip().lower() == "all":
        from mnist_lab.training.devices import count_all

        return count_all()
    if not (text.strip().isdecimal() and int(text) >= 1):
        raise ConfigError(
            f"The 'devices' option must be a whole number >= 1 or 'all'. Got {text!r} instead.",
            option="devices",
        )
    return int(text)


def _report_devices(count: int, batch_size: int) -> None:
    """Say where the run trains and its global batch; a split CPU is for testing only."""
    from mnist_lab.training.devices import place

    placement = place(count)  # the training places itself the same way
    if placement.logical_cpus:
        typer.echo(
            f"No GPU found: made {count} logical CPU devices, useful for testing the "
            "multi-device path only: it is not faster than one device on a CPU."
        )
    typer.echo(
        f"{count} replicas ({', '.join(placement.devices)}): a global batch of "
        f"{batch_size * count} ({batch_size} per replica)."
    )


def _report_run(run: Any) -> None:
    metrics = run.metrics
    replicas = metrics.get("replicas", 1)
    on = f" on {replicas} replicas" if replicas > 1 else ""
    typer.echo(
        f"Test accuracy: {metrics['test_accuracy']:.2%}   test loss: {metrics['test_loss']:.4f}   "
        f"({metrics['train_seconds']:.1f} s of training{on}, "
        f"{metrics['seconds_per_epoch']:.1f} s per epoch)"
    )
    kept = ", epochs/" if run.epoch_weights else ""
    typer.echo(
        f"Run saved in {run.path}/ (curves.png, metrics.json, history.json, model.keras{kept})"
    )


def _resume(ctx: typer.Context, path: Path, data_dir: Path | None) -> None:
    """`train --resume RUN`: the run's own options only, and nothing changed if it is complete."""
    from mnist_lab.core.runs import COMPLETED, METRICS, open_run
    from mnist_lab.training import resume

    given = options_given(ctx, RUN_OPTIONS)
    if given:
        raise MnistLabError(
            f"--resume continues a run with the options it started with; drop {', '.join(given)}."
        )
    run = open_run(path)
    state, config = run.state, run.config
    if state["state"] == COMPLETED:
        accuracy = run.metrics["test_accuracy"] if (run.path / METRICS).is_file() else None
        score = f", test accuracy {accuracy:.2%}" if accuracy is not None else ""
        typer.echo(
            f"{run.path} is already complete ({state['epochs_done']} of {config['epochs']} "
            f"epochs{score}); nothing to resume."
        )
        return
    typer.echo(
        f"Resuming '{config['model']}' in {run.path}: {state.get('epochs_done', 0)} of "
        f"{config['epochs']} epochs done ({state['state']})."
    )
    if (config.get("devices") or 1) > 1:  # a resumed run trains on the devices it started on
        _report_devices(config["devices"], config["batch_size"])
    _report_run(resume(run.path, data_dir=str(data_dir) if data_dir is not None else None))


@app.command("list", cls=OneLineCommand)
def list_command(
    patterns: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(help="Names or shell-style wildcards, e.g. 'ref*' (default: all models)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the registered models with their parameter counts, sources and descriptions."""
    from mnist_lab.models.registry import broken_plugins, model_summaries

    summaries = model_summaries(patterns or "*")
    broken = broken_plugins()
    if as_json:
        typer.echo(json.dumps({"models": summaries, "broken": broken}, indent=2))
        return
    print_table(
        "Registered models",
        [
            unwrapped("Name"),
            right("Parameters", no_wrap=True),
            "Source",
            "Description",
            "Trains with",
        ],
        (
            [
                row["name"],
                f"{row['params']:,}" if row["params"] is not None else "[red]broken[/red]",
                row["source"],
                row["description"],
                row["recipe"],
            ]
            for row in summaries
        ),
    )
    for origin, error in broken.items():
        console().print(f"[yellow]Could not load {origin}: {error}[/yellow]")
    if not summaries:
        console().print(f"No model matches {' '.join(patterns or ['*'])}.")


@app.command("runs", cls=OneLineCommand)
def runs_command(
    out: Annotated[Path, typer.Option(help="The folder that holds the run folders.")] = Path(
        "runs"
    ),
    as_json: JsonOption = False,
) -> None:
    """List the run folders: model, state, epochs done and test accuracy, oldest first."""
    from mnist_lab.core.runs import COMPLETED, list_runs

    summaries = list_runs(out)
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        typer.echo(f"No runs in {out}/ yet; 'mnist-lab train reference' makes the first one.")
        return
    colours = {COMPLETED: "green", "interrupted": "yellow", "failed": "red", "running": "cyan"}

    def cells(row: dict[str, Any]) -> list[str]:
        accuracy = row.get("test_accuracy")
        done, total = row.get("epochs_done"), row.get("epochs")
        return [
            Path(row["run"]).name,
            row["model"] or "?",
            f"[{colours.get(row['state'], 'red')}]{row['state']}[/]",
            f"{done if done is not None else '?'}/{total if total is not None else '?'}",
            f"{accuracy:.2%}" if accuracy is not None else "-",
        ]

    print_table(
        f"Runs in {out}/",
        ["Run", "Model", "State", right("Epochs"), right("Test accuracy")],
        map(cells, summaries),
    )
    if any(row["state"] in ("interrupted", "failed") for row in summaries):
        console().print("Continue an unfinished run with 'mnist-lab train --resume RUN'.")
