"""Stubs and solutions from one file: a student's starting file is derived from the solution.

Reference solutions ship inside the package (mnist_lab/course/solutions/) with the parts a
student writes marked; the shipped stub is derived from the solution by replacing each marked
part with a `raise NotImplementedError(...)`, so a stub and its solution can never drift apart.
A debugging exercise ships broken code instead: its blocks hold the fix, then `# BUGGY`, then
what the stub shows in its place.
"""

from __future__ import annotations

import re

from mnist_lab.course.exercises.catalog import Exercise, read_source

_SOLUTION_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)# SOLUTION[ \t]*\n(?P<fix>.*?)"
    r"(?:^[ \t]*# BUGGY[ \t]*\n(?P<buggy>.*?))?^[ \t]*# END SOLUTION[ \t]*\n",
    re.M | re.S,
)
_TODO = re.compile(r"^[ \t]*# TODO: (?P<text>.+?)\s*$", re.M)


def derive_stub(solution: str, number: int) -> str:
    """The student's starting file: each `# SOLUTION ... # END SOLUTION` block becomes a raise.

    The raise repeats the `# TODO:` line above the block, so the error says what to do. A block
    with a `# BUGGY` line becomes the lines after it instead: the broken code a debugging
    exercise starts from, with nothing to say where the bug is.
    """

    def replace(match: re.Match[str]) -> str:
        if match["buggy"] is not None:
            return match["buggy"]
        todos = _TODO.findall(solution[: match.start()])
        what = todos[-1].rstrip(".") if todos else "write this part"
        message = f"Exercise {number}: {what}. Run 'mnist-lab exercises hint {number}' for a hint."
        return f"{match['indent']}raise NotImplementedError({message!r})\n"

    return _SOLUTION_BLOCK.sub(replace, solution)


def stub_text(exercise: Exercise) -> str:
    """The original stub of an exercise, derived from its shipped solution."""
    return derive_stub(read_source(exercise.solution), exercise.number)


def solution_text(exercise: Exercise) -> str:
    """The shipped solution as a student would write it: the markers and the broken code of a
    debugging exercise taken out."""
    return _SOLUTION_BLOCK.sub(lambda match: match["fix"], read_source(exercise.solution))
