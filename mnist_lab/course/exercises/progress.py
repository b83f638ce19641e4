"""A student's progress: each exercise's state, and what is remembered between commands.

Progress (results and hints shown) lives in .mnist-lab/progress.json at the project's root,
never inside the student's files. A check's result is remembered with a fingerprint of the
exercise's file and tests, so listing the track does not run again what did not change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.exercises.catalog import Exercise, ExerciseError, read_source
from mnist_lab.course.exercises.results import NOT_STARTED
from mnist_lab.course.exercises.stubs import stub_text

STATE_DIR = ".mnist-lab"


def _state_file(root: Path) -> Path:
    return root / STATE_DIR / "progress.json"


def load_progress(root: Path) -> dict[str, Any]:
    """Cached results and hints shown, per exercise number (as a string)."""
    try:
        return json.loads(_state_file(root).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def save_progress(root: Path, progress: dict[str, Any]) -> None:
    """Write the progress back, or an ExerciseError that says what to do."""
    try:
        (root / STATE_DIR).mkdir(exist_ok=True)
        write_json_atomic(_state_file(root), progress)
    except FileExistsError:
        raise ExerciseError(
            f"Cannot save your progress: {root / STATE_DIR} is a file, not a folder; "
            "move it away and try again."
        ) from None
    except OSError as error:
        raise ExerciseError(
            f"Cannot save your progress in {_state_file(root)}: {error.strerror or error}; "
            "free some disk space or check the folder's permissions."
        ) from None


def fingerprint(exercise: Exercise) -> str:
    """What a cached result depends on: the student's file and the exercise's tests."""
    digest = hashlib.sha256()
    for path in (exercise.file, exercise.tests):
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def state(exercise: Exercise, root: Path, progress: dict[str, Any] | None = None) -> str | None:
    """done, failing or not started, from the file and the cache; None if it needs a check."""
    if not exercise.file.is_file() or read_source(exercise.file) == stub_text(exercise):
        return NOT_STARTED
    entry = (progress if progress is not None else load_progress(root)).get(str(exercise.number))
    if entry and entry.get("fingerprint") == fingerprint(exercise):
        return entry["state"]
    return None
