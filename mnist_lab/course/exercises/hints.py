"""Hints, one rung of the ladder at a time: from a question to a pointer, never skipping ahead.

`mnist-lab exercises hint` shows the next hint and remembers it in the progress; a failed check
shows the hint meant for its first failure, among those already shown and the next one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnist_lab.course.exercises.catalog import Exercise, ExerciseError, Hint
from mnist_lab.course.exercises.progress import load_progress, save_progress
from mnist_lab.course.exercises.results import CheckResult


def hint_for(result: CheckResult) -> Hint | None:
    """The hint to show beside a failed check, never past the next one the student has not seen.

    Hints go from a question to a pointer, and `next_hint` gives them one at a time: a check
    keeps to that ladder. Among the hints already shown and the next one, it picks the latest
    meant for the first failing test it can help with (a hint without tests helps with any);
    else the first hint, the opening question.
    """
    hints = result.exercise.hints
    if not hints:
        return None
    ladder = hints[: result.hints_shown + 1]
    for failure in result.failures:
        test = failure.test.split("[", 1)[0]  # parametrized tests report as name[case]
        meant = [hint for hint in ladder if not hint.tests or test in hint.tests]
        if meant:
            return meant[-1]
    return hints[0]


def hints_shown(entry: dict[str, Any]) -> int:
    """How many hints an exercise's progress entry says the student has seen (0 if unreadable)."""
    try:
        return max(int(entry.get("hints_shown", 0)), 0)
    except (TypeError, ValueError):  # a hand-edited progress file: start the ladder again
        return 0


def next_hint(exercise: Exercise, root: Path) -> tuple[int, Hint]:
    """The next hint not yet shown (the last one again once all were shown); remembers it."""
    if not exercise.hints:
        raise ExerciseError(f"Exercise {exercise.number} has no hints.")
    progress = load_progress(root)
    entry = progress.setdefault(str(exercise.number), {})
    shown = min(hints_shown(entry), len(exercise.hints) - 1)
    entry["hints_shown"] = shown + 1
    save_progress(root, progress)
    return shown + 1, exercise.hints[shown]
