"""Hints are a ladder: a question, then the idea with its chapter, then near-code, earned.

Each hint of the manifest has a rung (`catalog.RUNGS`). The hint beside a failed check is the
one for the test that failed, at the rung that test has earned: the question the first time it
fails, the idea the next, near-code only once it has failed at least twice before (`CODE_AFTER`),
so a student thinks before reading code. The progress remembers, per exercise and per test, how
many checks failed on it. `mnist-lab exercises hint` shows the next hint but keeps near-code
locked until some test of the exercise has earned it; `hint --all` shows everything, the
student's explicit choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mnist_lab.course.exercises.catalog import RUNGS, Exercise, ExerciseError, Hint
from mnist_lab.course.exercises.progress import load_progress, save_progress
from mnist_lab.course.exercises.results import CheckResult, Failure

CODE_AFTER = 2  # failed checks of one test before its near-code rung is shown
QUESTION, IDEA, CODE = range(len(RUNGS))


def base_name(reported: str) -> str:
    """A failure's test without its parameters: a parametrized test reports as name[case]."""
    return reported.split("[", 1)[0]


def hints_shown(entry: dict[str, Any]) -> int:
    """How many hints an exercise's progress entry says the student has seen (0 if unreadable)."""
    try:
        return max(int(entry.get("hints_shown", 0)), 0)
    except (TypeError, ValueError):  # a hand-edited progress file: start the ladder again
        return 0


def failure_counts(entry: dict[str, Any]) -> dict[str, int]:
    """How many checks failed on each test, from a progress entry.

    A progress file written before the ladder has none (every count is 0); a hand-edited one
    keeps only its readable counts.
    """
    counts = entry.get("failures")
    if not isinstance(counts, dict):
        return {}
    readable = {}
    for test, count in counts.items():
        try:
            readable[str(test)] = max(int(count), 0)
        except (TypeError, ValueError):
            continue
    return readable


def record_failures(entry: dict[str, Any], failures: Iterable[Failure]) -> dict[str, int]:
    """Count one more failed check for each test that failed (once per check, whatever its
    parameters), in `entry`; return the counts as they were before this check."""
    before = failure_counts(entry)
    counts = dict(before)
    for test in {base_name(failure.test) for failure in failures if failure.test != "(all)"}:
        counts[test] = counts.get(test, 0) + 1
    entry["failures"] = counts
    return before


def earned_rung(result: CheckResult, test: str) -> int:
    """The highest rung `test` has earned in this check, an index into `RUNGS`.

    Its earlier failed checks climb the ladder: none, the question; one, the idea; two or more,
    near-code. A hint already read with `mnist-lab exercises hint` counts too, but never past
    the idea: near-code is earned by failing, test by test.
    """
    by_failures = min(result.failed_before.get(test, 0), CODE_AFTER)
    seen = result.exercise.hints[: result.hints_shown]
    by_reading = max((RUNGS.index(hint.rung) for hint in seen), default=QUESTION)
    return max(by_failures, min(by_reading, IDEA))


def hint_beside(result: CheckResult) -> tuple[Hint, str | None] | None:
    """The hint to show beside a failed check, and the failing test it is for.

    For the first failing test a hint helps with (a hint without tests helps with any), the
    latest hint meant for it at a rung it has earned; else the opening question (for no test).
    """
    hints = result.exercise.hints
    if not hints:
        return None
    for failure in result.failures:
        test = base_name(failure.test)
        earned = earned_rung(result, test)
        meant = [
            hint
            for hint in hints
            if (not hint.tests or test in hint.tests) and RUNGS.index(hint.rung) <= earned
        ]
        if meant:
            return meant[-1], test
    return hints[0], None


def hint_for(result: CheckResult) -> Hint | None:
    """The hint `hint_beside` picks, without the test it is for."""
    chosen = hint_beside(result)
    return chosen[0] if chosen else None


def ladder_note(result: CheckResult, hint: Hint, test: str | None) -> str | None:
    """One line under the hint beside a failure: which test it is for, and what the next check
    that fails on it will show."""
    if test is None:
        return None
    before = result.failed_before.get(test, 0)
    if hint.rung == RUNGS[CODE]:
        return f"  (Near-code for {test}: earlier checks failed on it {before} times.)"
    everything = f"'mnist-lab exercises hint {result.exercise.number} --all' shows all now"
    again = "If the next check fails on it too"
    if hint.rung == RUNGS[QUESTION]:
        then = f"the idea; near-code once checks have failed on it {CODE_AFTER} times"
        return f"  (A question for {test}. {again}, {then}. {everything}.)"
    if before + 1 >= CODE_AFTER:
        return f"  (The idea for {test}. {again}: near-code. {everything}.)"
    return (
        f"  (The idea for {test}. Near-code once checks have failed on it {CODE_AFTER} times "
        f"({before + 1} so far). {everything}.)"
    )


def code_unlocked(exercise: Exercise, entry: Mapping[str, Any]) -> bool:
    """Whether some test of the exercise has failed often enough to earn near-code."""
    counts = failure_counts(dict(entry))
    helped = {test for hint in exercise.hints for test in hint.tests}
    earned = [test for test, count in counts.items() if count >= CODE_AFTER]
    return any(test in helped or not helped for test in earned)


def next_hint(exercise: Exercise, root: Path) -> tuple[int, Hint]:
    """The next hint not yet shown, and remembers it; never a near-code one before some test of
    the exercise has earned it (then the last one allowed again, as once all were shown)."""
    if not exercise.hints:
        raise ExerciseError(f"Exercise {exercise.number} has no hints.")
    progress = load_progress(root)
    entry = progress.setdefault(str(exercise.number), {})
    allowed = len(exercise.hints)
    if not code_unlocked(exercise, entry):
        allowed = sum(hint.rung != RUNGS[CODE] for hint in exercise.hints)
    shown = min(hints_shown(entry), allowed - 1)
    entry["hints_shown"] = max(shown + 1, hints_shown(entry))
    save_progress(root, progress)
    return shown + 1, exercise.hints[shown]


def code_locked(exercise: Exercise, root: Path, shown: int) -> bool:
    """Whether the hint after the first `shown` ones is near-code, still locked."""
    if shown >= len(exercise.hints) or exercise.hints[shown].rung != RUNGS[CODE]:
        return False
    entry = load_progress(root).get(str(exercise.number), {})
    return not code_unlocked(exercise, entry if isinstance(entry, dict) else {})
