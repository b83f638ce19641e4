"""The exercise track: the catalog, each exercise's state, checks, hints, resets and solutions.

An exercise is a file under exercises/ that a student completes until its tests pass. The
catalog (exercises/manifest.toml) lists them in order with their tests and hints. This package
is the one import path of the track (`from mnist_lab.course import exercises`); each job lives
in a module of its own:

- `catalog`: the manifest read into `Exercise`s, their tracks and hints.
- `stubs`: a student's starting file derived from the shipped solution.
- `results`: a check's result, and pytest's junit-xml report read in plain words.
- `progress`: each exercise's state, remembered in .mnist-lab/ at the project's root.
- `hints`: the hint ladder (question, idea, near-code), and each test's failed checks.
- `checking`: the pytest command of an exercise, run in a separate process; the whole track's
  states.
- `restoring`: reset to the stub with a backup of the student's version; the solution.
- `watching`: waiting for a saved file.
"""

from __future__ import annotations

from mnist_lab.course.exercises.catalog import (
    MANIFEST,
    RUNGS,
    SOLUTIONS,
    Exercise,
    ExerciseError,
    Hint,
    Track,
    find,
    load_catalog,
    project_root,
    read_source,
    tracks,
)
from mnist_lab.course.exercises.checking import (
    CHECK_TIMEOUT_S,
    check,
    known_states,
    next_pending,
    pytest_command,
    run_tests,
    statuses,
)
from mnist_lab.course.exercises.hints import (
    CODE_AFTER,
    code_locked,
    failure_counts,
    hint_beside,
    hint_for,
    hints_shown,
    ladder_note,
    next_hint,
    record_failures,
)
from mnist_lab.course.exercises.progress import (
    STATE_DIR,
    fingerprint,
    load_progress,
    save_progress,
    state,
)
from mnist_lab.course.exercises.restoring import reset, solution
from mnist_lab.course.exercises.results import (
    DONE,
    FAILING,
    NOT_STARTED,
    CheckResult,
    Failure,
    plain_message,
    read_junit,
    summarize_junit,
)
from mnist_lab.course.exercises.stubs import derive_stub, solution_text, stub_text
from mnist_lab.course.exercises.watching import (
    NETWORK_FILESYSTEMS,
    polling_reason,
    wait_for_change,
)

__all__ = [
    "CHECK_TIMEOUT_S",
    "CODE_AFTER",
    "DONE",
    "FAILING",
    "MANIFEST",
    "NETWORK_FILESYSTEMS",
    "NOT_STARTED",
    "RUNGS",
    "SOLUTIONS",
    "STATE_DIR",
    "CheckResult",
    "Exercise",
    "ExerciseError",
    "Failure",
    "Hint",
    "Track",
    "check",
    "code_locked",
    "derive_stub",
    "failure_counts",
    "find",
    "fingerprint",
    "hint_beside",
    "hint_for",
    "hints_shown",
    "ladder_note",
    "load_catalog",
    "load_progress",
    "known_states",
    "next_hint",
    "next_pending",
    "plain_message",
    "polling_reason",
    "project_root",
    "pytest_command",
    "read_junit",
    "read_source",
    "record_failures",
    "reset",
    "run_tests",
    "save_progress",
    "solution",
    "solution_text",
    "state",
    "statuses",
    "stub_text",
    "summarize_junit",
    "tracks",
    "wait_for_change",
]
