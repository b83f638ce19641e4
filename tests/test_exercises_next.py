"""`check N` checks N alone, and what comes next follows the track being worked on.

Before, a passing `check 10` re-checked every exercise changed since its last check to find the
next one (with exercise 8, the capstone that trains a model, changed, it took 3.5 minutes), and
"Next:" sent a student who had just finished exercise 9 back to exercise 1.
"""

from __future__ import annotations

import time
from pathlib import Path

from typer.testing import CliRunner

from mnist_lab.cli import app
from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
DONE, FAILING, NOT_STARTED = exercises.DONE, exercises.FAILING, exercises.NOT_STARTED
runner = CliRunner()


def by_number(number: int):
    return exercises.find(CATALOG, number)


def states(**overrides: str | None) -> list:
    """Every exercise of the catalog as done, except those named ex<N>=state."""
    return [(e, overrides.get(f"ex{e.number}", DONE)) for e in CATALOG]


def test_without_after_the_next_is_the_first_not_done_in_the_catalogs_order():
    assert exercises.next_pending(states(ex3=NOT_STARTED, ex12=FAILING)).number == 3
    assert exercises.next_pending(states()) is None


def test_after_an_exercise_the_next_is_the_first_not_done_that_follows_it():
    pending = states(ex1=NOT_STARTED, ex10=NOT_STARTED, ex11=NOT_STARTED)
    assert exercises.next_pending(pending, after=by_number(9)).number == 10
    # from the end of the catalog (exercise 8, the capstone) it comes round to the start
    assert exercises.next_pending(pending, after=by_number(8)).number == 1
    assert exercises.next_pending(states(ex8=NOT_STARTED), after=by_number(17)).number == 8
    assert exercises.next_pending(states(), after=by_number(9)) is None


def test_a_state_not_known_counts_as_not_done():
    assert exercises.next_pending(states(ex5=None), after=by_number(4)).number == 5
    assert exercises.next_pending(states(ex5=None), after=by_number(5)).number == 5


def test_known_states_run_no_test(course):
    solve(course, 8)  # changed since the stub, never checked
    catalog = exercises.load_catalog(course)
    known = {e.number: known for e, known in exercises.known_states(catalog, course)}
    assert known[8] is None
    assert known[1] == NOT_STARTED and set(known) == {e.number for e in CATALOG}
    assert exercises.load_progress(course) == {}  # no check ran, none was recorded


def solve(course: Path, number: int) -> Path:
    exercise = by_number(number)
    target = course / "exercises" / exercise.file.name
    target.write_text(exercises.solution_text(exercise))
    return target


def test_check_n_checks_n_alone_and_its_next_follows_the_track(course):
    # Exercise 8 (it trains a model for minutes) and exercise 1 changed and were never checked.
    solve(course, 8)
    solve(course, 1)
    (course / "exercises" / by_number(1).file.name).write_text("raise SystemExit('broken')\n")
    solve(course, 11)
    started = time.monotonic()
    result = runner.invoke(app, ["exercises", "check", "11"])
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert "Checking exercise" not in result.stdout  # nothing else ran
    assert "✓ Exercise 11 (" in result.stdout
    # 12 follows 11 in the inside track, though exercise 1 is not done
    assert result.stdout.rstrip().splitlines()[-1].startswith("Next: exercise 12 (")
    progress = exercises.load_progress(course)
    assert set(progress) == {"11"}, progress  # only exercise 11 was checked
    assert seconds < 120, seconds  # exercise 8 alone would train for minutes


def test_check_without_a_number_takes_the_first_not_done_without_checking_the_others(course):
    solve(course, 8)  # changed, never checked: not known to be done, and not checked now
    result = runner.invoke(app, ["exercises", "check"])
    assert result.exit_code == 1
    assert "Checking exercise" not in result.stdout
    assert "✗ Exercise 1 (" in result.stdout
    assert set(exercises.load_progress(course)) == {"1"}
