"""Going back to the start, or seeing the answer: reset to the stub, and the solution once done.

A reset never loses a student's work: their version is kept beside the exercise as a
timestamped backup (`ex02_normalize.backup-20260102-030405.py.txt`, then `...-2.py.txt` for a
second reset in the same second), a name claimed by an exclusive create (mnist_lab.core.naming)
so that two resets never write to the same backup. The solution opens once the student's own
version passes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from mnist_lab.core.fileio import write_bytes_atomic
from mnist_lab.core.naming import claim_file
from mnist_lab.course.exercises.catalog import Exercise, ExerciseError
from mnist_lab.course.exercises.progress import state
from mnist_lab.course.exercises.results import DONE
from mnist_lab.course.exercises.stubs import solution_text, stub_text

BACKUP_SUFFIX = ".py.txt"  # not .py: a backup is never imported, nor registers a model


def reset(exercise: Exercise, now: datetime | None = None) -> Path | None:
    """Restore the original stub, keeping the student's version as a timestamped backup.

    Returns the backup's path, or None when the file was already the stub (nothing to keep).
    """
    stub = stub_text(exercise)
    current = None
    if exercise.file.is_file():
        current = exercise.file.read_bytes()
        if current.decode("utf-8", errors="replace") == stub:
            return None
    backup = None
    try:
        if current is not None:
            stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
            stem = f"{exercise.file.stem}.backup-{stamp}"
            backup = claim_file(exercise.file.parent, stem, BACKUP_SUFFIX)
            write_bytes_atomic(backup, current)
        write_bytes_atomic(exercise.file, stub.encode("utf-8"))
    except OSError as error:  # the student's file is untouched: the writes are atomic
        if backup is not None:
            backup.unlink(missing_ok=True)
        raise ExerciseError(
            f"Cannot reset {exercise.file}: {error.strerror or error}; your version is "
            "unchanged. Free some disk space or check the folder's permissions, then try again."
        ) from None
    return backup


def solution(exercise: Exercise, root: Path) -> str:
    """The reference solution, once the student's own version passes (without the markers and
    the broken code a debugging exercise started from)."""
    if state(exercise, root) != DONE:
        raise ExerciseError(
            f"The solution of exercise {exercise.number} opens once your version passes: "
            f"run 'mnist-lab exercises check {exercise.number}' first."
        )
    return solution_text(exercise)
