"""`mnist-lab exercises`: the track's progress, check, hint, reset, solution and watch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mnist_lab.cli.common import (
    OneLineCommand,
    OneLineGroup,
    console,
    print_table,
    right,
    unwrapped,
)
from mnist_lab.core.errors import MnistLabError

app = typer.Typer(
    cls=OneLineGroup,
    help="The exercise track: see your progress, check, get hints, watch, reset.",
    invoke_without_command=True,
)

NumberArgument = Annotated[
    Optional[int],  # noqa: UP045  (typer needs Optional on Python 3.10)
    typer.Argument(
        help="The exercise's number (default: the next one not done).", show_default=False
    ),
]
ALL_DONE = "Every exercise passes. Well done!"


def _track(need_states: bool = True) -> tuple[Path, list[Any], list[Any]]:
    """The project root, the catalog and, if needed, each exercise's state.

    States come from the cache; an exercise whose file changed since its last check is checked
    again, and the student is told why they wait (the list shows every state).
    """
    from mnist_lab.course import exercises

    root = exercises.project_root()
    catalog = exercises.load_catalog(root)
    if not need_states:
        return root, catalog, []

    def checking(exercise: Any) -> None:
        typer.echo(f"Checking exercise {exercise.number} ({exercise.title}): it changed...")

    return root, catalog, exercises.statuses(catalog, root, on_check=checking)


def _known(root: Path, catalog: list[Any]) -> list[Any]:
    """Each exercise's state as far as known without running a test (None: changed since)."""
    from mnist_lab.course import exercises

    return exercises.known_states(catalog, root)


def _following(root: Path, catalog: list[Any], passed: Any) -> Any:
    """The exercise to do after `passed`: the next not known to be done in its track's order."""
    from mnist_lab.course import exercises

    return exercises.next_pending(_known(root, catalog), after=passed)


def _next_line(exercise: Any) -> str:
    return f"Next: exercise {exercise.number} ({exercise.title}) in {_relative(exercise.file)}."


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _pick(number: int | None, catalog: list[Any], states: list[Any]) -> Any:
    """The exercise numbered `number`, else the next one not done (None when all are)."""
    from mnist_lab.course import exercises

    if number is not None:
        return exercises.find(catalog, number)
    return exercises.next_pending(states)


def _report(result: Any, *, verbose: bool = False) -> None:
    """Print a check's outcome in plain words: each failure's whole message, the hint for the
    first failing test at the rung it has earned (`hints.hint_beside`), what passing tests
    report, and with `verbose` pytest's own output."""
    from mnist_lab.course import exercises

    exercise = result.exercise
    if verbose and result.output.strip():
        typer.echo(result.output.rstrip())
    if result.passed:
        typer.echo(
            f"✓ Exercise {exercise.number} ({exercise.title}) passes all {result.total} tests."
        )
        for note in result.notes:
            typer.echo(f"  {note}")
        return
    failed = len(result.failures)
    typer.echo(
        f"✗ Exercise {exercise.number} ({exercise.title}): {failed} of "
        f"{max(result.total, failed)} tests fail."
    )
    for failure in result.failures:
        first, *rest = failure.message.splitlines() or [""]
        typer.echo(f"  - {failure.test}: {first}")
        for line in rest:
            typer.echo(f"      {line}")
    chosen = exercises.hint_beside(result)  # the failing test's hint, at the rung it earned
    if chosen is not None:
        hint, test = chosen
        typer.echo(f"Hint: {hint.text}")
        note = exercises.ladder_note(result, hint, test)
        if note:
            typer.echo(note)
    typer.echo(
        f"Edit {_relative(exercise.file)} and run 'mnist-lab exercises check {exercise.number}' "
        "again (or 'mnist-lab exercises watch')"
        + ("." if verbose else "; add --verbose for pytest's own report.")
    )


VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Also show pytest's own report of the tests.")
]


def print_progress(done: int, total: int) -> None:
    """'Progress: <bar> 3 of 8 done': rich's progress bar on a terminal, plain text in a pipe."""
    out = console()
    if not out.is_terminal:
        filled = round(32 * done / max(total, 1))
        typer.echo(f"Progress: {'█' * filled}{'░' * (32 - filled)} {done} of {total} done")
        return
    from rich.progress import BarColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("Progress:"),
        BarColumn(bar_width=32),
        TextColumn(f"{done} of {total} done"),
        console=out,
    )
    progress.add_task("", total=max(total, 1), completed=done)
    out.print(progress.make_tasks_table(progress.tasks))  # drawn once: nothing runs


@app.callback()
def exercises_main(ctx: typer.Context) -> None:
    """The exercise track: see your progress, check, get hints, watch, reset."""
    if ctx.invoked_subcommand is None:
        exercises_list()


@app.command("list", cls=OneLineCommand)
def exercises_list() -> None:
    """Show every exercise with its state, the next one to do and your progress."""
    from mnist_lab.course import exercises

    root, catalog, states = _track()
    marks = {exercises.DONE: "✓ done", exercises.FAILING: "✗ failing"}
    known_by_number = {exercise.number: known for exercise, known in states}
    for index, (track, members) in enumerate(exercises.tracks(catalog), start=1):
        done = sum(known_by_number[exercise.number] == exercises.DONE for exercise in members)
        print_table(
            f"Track {index}: {track.title}",
            [right("#"), "Exercise", unwrapped("State"), unwrapped("File")],
            (
                [
                    str(exercise.number),
                    exercise.title,
                    marks.get(known_by_number[exercise.number], "· not started"),
                    _relative(exercise.file),
                ]
                for exercise in members
            ),
            caption=f"{done} of {len(members)} done",
        )
    print_progress(sum(known == exercises.DONE for _, known in states), len(states))
    pending = exercises.next_pending(states)
    if pending is None:
        typer.echo(ALL_DONE)
    else:
        typer.echo(
            f"{_next_line(pending)} Run 'mnist-lab exercises check {pending.number}' "
            "when it is written, 'mnist-lab exercises hint' if you are stuck."
        )


@app.command("check", cls=OneLineCommand)
def exercises_check(
    number: NumberArgument = None,
    all_: Annotated[bool, typer.Option("--all", help="Check every exercise.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Run an exercise's tests (N's alone) and explain what fails; on success, point to the next."""
    from mnist_lab.course import exercises

    root, catalog, _ = _track(need_states=False)
    chosen = catalog if all_ else [_pick(number, catalog, _known(root, catalog))]
    if chosen == [None]:
        typer.echo(ALL_DONE)
        return
    results = [exercises.check(exercise, root) for exercise in chosen]
    for result in results:
        _report(result, verbose=verbose)
    if not all(result.passed for result in results):
        raise typer.Exit(1)
    following = _following(root, catalog, None if all_ else chosen[0])
    typer.echo(_next_line(following) if following else ALL_DONE)


@app.command("hint", cls=OneLineCommand)
def exercises_hint(
    number: NumberArgument = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Show every hint at once, near-code included.")
    ] = False,
) -> None:
    """Show the next hint: a question, then the idea, then near-code once a check has failed
    twice on the same test (--all shows every hint now)."""
    from mnist_lab.course import exercises

    root, catalog, _ = _track(need_states=False)
    exercise = _pick(number, catalog, _known(root, catalog))
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
    if exercises.code_locked(exercise, root, index):
        typer.echo(
            f"The near-code hint unlocks once 'mnist-lab exercises check {exercise.number}' has "
            f"failed {exercises.CODE_AFTER} times on the same test; "
            f"'mnist-lab exercises hint {exercise.number} --all' shows every hint now."
        )
    elif index < total:
        typer.echo(f"Run 'mnist-lab exercises hint {exercise.number}' again for the next one.")


@app.command("reset", cls=OneLineCommand)
def exercises_reset(
    number: Annotated[
        Optional[int],  # noqa: UP045
        typer.Argument(help="The exercise to restore to its original stub.", show_default=False),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Restore every exercise.")] = False,
) -> None:
    """Restore original stubs; your version is kept as a timestamped backup beside it."""
    from mnist_lab.course import exercises

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


@app.command("solution", cls=OneLineCommand)
def exercises_solution(
    number: Annotated[int, typer.Argument(help="An exercise you have completed.")],
) -> None:
    """Show the reference solution of an exercise, once your version passes."""
    from mnist_lab.course import exercises

    root, catalog, _ = _track(need_states=False)
    typer.echo(exercises.solution(exercises.find(catalog, number), root))


@app.command("watch", cls=OneLineCommand)
def exercises_watch(
    number: NumberArgument = None,
    verbose: VerboseOption = False,
) -> None:
    """Re-check an exercise whenever you save a file; move on to the next when it passes."""
    from mnist_lab.course import exercises

    root, catalog, _ = _track(need_states=False)
    folder = catalog[0].file.parent if catalog else root / "exercises"
    reason = exercises.polling_reason(folder)
    how = f"by polling every 0.5 s ({reason})" if reason else "for saved files"
    current = _pick(number, catalog, _known(root, catalog))
    typer.echo(f"Watching {_relative(folder)}/ {how}. Press Ctrl-C to stop.")
    try:
        while current is not None:
            result = exercises.check(current, root)
            _report(result, verbose=verbose)
            if result.passed:
                current = _following(root, catalog, current)
                if current is not None:
                    typer.echo(_next_line(current))
                continue
            exercises.wait_for_change(folder, polling=reason is not None)
    except KeyboardInterrupt:  # Ctrl-C is how a student leaves watch mode: not an error
        typer.echo("Stopped watching. Your progress is saved; 'mnist-lab exercises' shows it.")
        return
    typer.echo(ALL_DONE)
