"""Checking an exercise: its tests run by pytest in a separate process, the outcome remembered.

A student's code may hang, crash or print, so the tests never run in the caller's process.
`pytest_command` is the one place that says how an exercise's tests are run; the grader's
sandbox (mnist_lab.scale.sandbox) runs the same command inside its own limits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mnist_lab.course.exercises.catalog import Exercise
from mnist_lab.course.exercises.hints import hints_shown, record_failures
from mnist_lab.course.exercises.progress import fingerprint, load_progress, save_progress, state
from mnist_lab.course.exercises.results import DONE, CheckResult, Failure, read_junit

CHECK_TIMEOUT_S = 900


def pytest_command(targets: Sequence[str], report: Path, rootdir: Path) -> list[str]:
    """The command line that runs an exercise's tests (`targets`: files or file::test ids),
    quietly, without a cache, writing a junit-xml report (xunit1, as `read_junit` reads it) to
    `report`; `rootdir` is the exercise tests' folder, whose conftest provides their fixtures."""
    return [
        sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider",
        f"--junitxml={report}", "-o", "junit_family=xunit1", "--rootdir", str(rootdir),
    ]  # fmt: skip


def run_tests(
    exercise: Exercise,
    exercises_dir: Path,
    timeout: float | None = None,
    *,
    only: Iterable[str] = (),
) -> CheckResult:
    """Run the exercise's tests against the copy of its file in `exercises_dir`.

    `only` names the tests to run (all of them when empty). `timeout` is in seconds; by
    default the exercise's own `check_minutes`, else `CHECK_TIMEOUT_S`.
    """
    if timeout is None:
        minutes = exercise.check_minutes
        timeout = minutes * 60 if minutes is not None else CHECK_TIMEOUT_S
    targets = [f"{exercise.tests}::{name}" for name in only] or [str(exercise.tests)]
    with tempfile.TemporaryDirectory(prefix="mnist-lab-check-") as scratch:
        report = Path(scratch) / "report.xml"
        command = pytest_command(targets, report, exercise.tests.parent)
        # The copy under test is also where models register from (exercise 8 adds one).
        env = {
            **os.environ,
            "MNIST_LAB_EXERCISES_DIR": str(exercises_dir),
            "MNIST_LAB_PLUGINS": str(exercises_dir),
        }
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env
            )
        except subprocess.TimeoutExpired as stopped:
            failure = Failure(
                "(all)", f"the tests did not finish in {timeout:.0f} s: is a loop stuck?"
            )
            return CheckResult(exercise, False, (failure,), 0, _text(stopped))
        output = completed.stdout + completed.stderr
        if not report.is_file():
            lines = output.strip().splitlines()
            failure = Failure("(all)", lines[-1] if lines else "pytest did not run")
            return CheckResult(exercise, False, (failure,), 0, output)
        total, failures, notes = read_junit(report)
    passed = completed.returncode == 0 and total > 0 and not failures
    return CheckResult(exercise, passed, failures, total, output, notes)


def _text(stopped: subprocess.TimeoutExpired) -> str:
    """What a process stopped at its timeout had printed so far."""
    parts = (stopped.stdout, stopped.stderr)
    return "".join(p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in parts)


def check(exercise: Exercise, root: Path) -> CheckResult:
    """Run an exercise's tests against the student's file and remember the outcome.

    The result also carries how many hints the student has seen and how often each test failed
    before (this failure is counted too, for the next check), so `hint_for` picks the rung.
    """
    result = run_tests(exercise, exercise.file.parent)
    progress = load_progress(root)
    entry = progress.setdefault(str(exercise.number), {})
    entry.update(fingerprint=fingerprint(exercise), state=result.state)
    before = record_failures(entry, result.failures)
    save_progress(root, progress)
    return replace(result, hints_shown=hints_shown(entry), failed_before=before)


def statuses(
    catalog: list[Exercise], root: Path, on_check: Any = None
) -> list[tuple[Exercise, str]]:
    """Each exercise with its state; a file changed since its last check is checked again.

    `on_check(exercise)` is called before each such check, so a caller can say why it waits.
    """
    progress = load_progress(root)
    result = []
    for exercise in catalog:
        known = state(exercise, root, progress)
        if known is None:
            if on_check is not None:
                on_check(exercise)
            known = check(exercise, root).state
        result.append((exercise, known))
    return result


def known_states(catalog: list[Exercise], root: Path) -> list[tuple[Exercise, str | None]]:
    """Each exercise with its state as far as it is known without running a test: from the
    file and the cache, None for a file changed since its last check.

    What `check N` and `watch` use to say what comes next: checking every changed exercise
    again (as `statuses` does for the list) would make one exercise's check wait for all.
    """
    progress = load_progress(root)
    return [(exercise, state(exercise, root, progress)) for exercise in catalog]


def next_pending(
    states: Sequence[tuple[Exercise, str | None]], after: Exercise | None = None
) -> Exercise | None:
    """The first exercise not known to be done, or None when every one is.

    With `after`, the first one that follows it in the catalog's order, coming round to the
    start only at the end, so the next exercise is in the track the student is working on. An
    exercise whose state is not known (None) counts as not done.
    """
    order = [exercise for exercise, _ in states]
    start = order.index(after) + 1 if after in order else 0
    turned = [*states[start:], *states[:start]]
    return next((exercise for exercise, known in turned if known != DONE), None)
