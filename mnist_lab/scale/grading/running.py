"""Running a grading: check the options, prepare (or resume) the folder, grade every student.

One task per student goes to the executor of `benchmark` (in this process, a local Dask
cluster, or a cluster). Each finished student is written at once to `students/STUDENT.json`, so
one failure is one cell of the gradebook, never the end of the batch, and `--resume` grades
only the students still missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core.errors import ConfigError
from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course import capstone
from mnist_lab.course import exercises as ex
from mnist_lab.scale.batch import Progress, interrupted_as
from mnist_lab.scale.executors import Call, check_workers, open_executor
from mnist_lab.scale.grading.errors import GradingError, GradingInterrupted
from mnist_lab.scale.grading.gradebook import GRADEBOOK_CSV, Gradebook, write_gradebook
from mnist_lab.scale.grading.student import grade_student
from mnist_lab.scale.grading.submissions import find_submissions

PLAN, STUDENTS = (
    "grading.json",  # what was asked for, written first: --resume reads it
    "students",
)
DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_MB = 4096
# By default a student's model is judged by the capstone's rule, as exercise 8's check judges it
# (mnist_lab.course.capstone): its recipe (at most MAX_EPOCHS epochs) on seeds 0 and 1, the mean
# validation accuracy held to the threshold, the test accuracy reported once. Fewer epochs or
# images (--model-epochs, --model-limit) make a quicker, different check with its own target.
DEFAULT_MODEL_EPOCHS = capstone.MAX_EPOCHS
DEFAULT_MODEL_TARGET = capstone.MIN_MEAN_VALIDATION_ACCURACY


def parse_exercises(text: str | None, catalog: Sequence[ex.Exercise]) -> list[int]:
    """'1,2,5-8' as exercise numbers, each in the catalog; None or '' means every exercise.

    In number order, as a gradebook's columns read, whatever the catalog's track order."""
    known = sorted(exercise.number for exercise in catalog)
    if not text:
        return known
    numbers: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ConfigError(
                f"The 'exercises' option must be numbers and ranges like 1,2,5-8. Got {text!r} "
                "instead.",
                option="exercises",
            )
        first, last = int(match[1]), int(match[2] or match[1])
        numbers += [n for n in range(first, last + 1) if n not in numbers]
    unknown = [n for n in numbers if n not in known]
    if unknown or not numbers:
        raise ConfigError(
            f"The 'exercises' option names exercise {unknown[0] if unknown else text}, which "
            f"does not exist; the exercises are {known[0]} to {known[-1]}. Got {text!r} instead.",
            option="exercises",
        )
    return sorted(numbers)


def grade(
    submissions: str | Path,
    *,
    out: str | Path = "grades",
    exercises: str | None = None,
    tests: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    model_epochs: int = DEFAULT_MODEL_EPOCHS,
    model_limit: int | None = None,
    model_target: float = DEFAULT_MODEL_TARGET,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    data_dir: str | Path | None = None,
    on_progress: Progress | None = None,
) -> Gradebook:
    """Grade every submission in `submissions` into `out` (see `mnist_lab.scale.grading`).

    `exercises` ('1,2,5-8') limits the exercises graded; `tests` is the folder of hidden test
    files; `timeout` is the wall-clock budget of each exercise's tests (seconds) and
    `memory_mb` their memory. A student's own model trains by its recipe (a recipe over the
    capstone's budget of epochs is not trained) for at most `model_epochs` (0: no model) on
    `model_limit` images (None: all), once for each of seeds 0 and 1; it meets the grade rule
    when the mean of their validation accuracies reaches `model_target`. The defaults are the
    capstone's rule, exercise 8's. Without `resume`, an `out`
    that already holds a gradebook is refused rather than overwritten; with it, the students
    graded before are kept.
    """
    catalog = ex.load_catalog()
    numbers = parse_exercises(exercises, catalog)
    check_workers(workers, scheduler)
    _check_options(timeout, memory_mb, model_epochs, model_limit, model_target)
    hidden_dir = _hidden_dir(tests)
    classroom = find_submissions(submissions)
    # The tests in the sandboxes read MNIST from this cache: fetch it here, once, if missing.
    mnist_data.load_mnist(data_dir)
    out = Path(out).expanduser()
    plan = {
        "submissions": str(Path(submissions).expanduser().resolve()),
        "exercises": numbers,
        "tests": hidden_dir,
        "timeout": timeout,
        "memory_mb": memory_mb,
        "model_epochs": model_epochs,
        "model_limit": model_limit,
        "model_target": model_target,
    }
    done = _prepare_folder(out, plan, resume)
    missing = [submission for submission in classroom if submission.student not in done]
    threads = 1 if workers > 1 or scheduler else 2
    data = str(data_dir) if data_dir else None
    model_options = {"epochs": model_epochs, "limit": model_limit} if model_epochs else None
    options = (numbers, hidden_dir, timeout, memory_mb, data, threads, model_options)
    calls = [Call(s.student, grade_student, (s, *options)) for s in missing]

    def stopped() -> str:
        return (
            f"the grading stopped with {len(done)} of {len(classroom)} students graded; {out} "
            f"keeps them. Continue with: mnist-lab grade {submissions} --out {out} --resume"
        )

    with interrupted_as(GradingInterrupted, stopped), open_executor(workers, scheduler) as executor:
        for result in executor.map_calls(calls, on_event=on_progress):
            record = (
                {
                    "student": result.call.key,
                    "exercises": result.value.exercises,
                    "model": result.value.model,
                }
                if result.ok
                else {"student": result.call.key, "exercises": {}, "error": result.error}
            )
            write_json_atomic(out / STUDENTS / f"{result.call.key}.json", record)
            done[result.call.key] = record
    records = [done[submission.student] for submission in classroom]
    return write_gradebook(out, records, numbers, catalog, model_target)


def _check_options(
    timeout: Any, memory_mb: Any, model_epochs: Any, model_limit: Any, model_target: Any
) -> None:
    """One line for the first option out of its range, before anything is graded."""

    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    checks = [
        ("timeout", number(timeout) and timeout > 0, "a number of seconds > 0", timeout),
        ("memory_mb", whole(memory_mb) and memory_mb >= 100, "an int >= 100 (MB)", memory_mb),
        ("model_epochs", whole(model_epochs) and model_epochs >= 0, "an int >= 0", model_epochs),
        (
            "model_limit",
            model_limit is None or (whole(model_limit) and model_limit >= 1),
            "an int >= 1",
            model_limit,
        ),
        (
            "model_target",
            number(model_target) and 0 < model_target <= 1,
            "a validation accuracy in (0, 1]",
            model_target,
        ),
    ]
    for name, ok, rule, value in checks:
        if not ok:
            raise ConfigError(
                f"The '{name}' option must be {rule}. Got {value!r} instead.", option=name
            )


def _hidden_dir(tests: str | Path | None) -> str | None:
    if tests is None:
        return None
    folder = Path(tests).expanduser()
    if not folder.is_dir():
        raise GradingError(
            f"{folder} is not a folder of hidden tests; give the folder holding test files "
            "named like the public ones (test_ex01_data.py, ...)."
        )
    if not list(folder.glob("test_ex*.py")):
        raise GradingError(
            f"{folder} holds no hidden test file; name them like the public ones "
            "(test_ex01_data.py, ...)."
        )
    return str(folder.resolve())


def _prepare_folder(out: Path, plan: dict[str, Any], resume: bool) -> dict[str, dict[str, Any]]:
    """Make `out` (or, resuming, check it was started with the same plan) and return the
    students already graded there."""
    plan_file = out / PLAN
    if resume:
        try:
            before = json.loads(plan_file.read_text())
        except (OSError, json.JSONDecodeError):
            raise GradingError(
                f"{out} holds no grading to resume (no {PLAN}); grade without --resume."
            ) from None
        if before != plan:
            changed = sorted(key for key in plan if plan.get(key) != before.get(key))
            raise GradingError(
                f"{out} was graded with other options ({', '.join(changed)} differ); resume "
                "with the same ones, or grade into another --out."
            )
        done = {}
        for path in sorted((out / STUDENTS).glob("*.json")):
            record = json.loads(path.read_text())
            done[record["student"]] = record
        return done
    if plan_file.exists() or (out / GRADEBOOK_CSV).exists():
        raise GradingError(
            f"{out} already holds a gradebook; add --resume to finish it, or choose another "
            "--out (nothing is overwritten)."
        )
    try:
        (out / STUDENTS).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GradingError(f"Cannot create {out} ({error.strerror or error}).") from None
    write_json_atomic(plan_file, plan)
    return {}
