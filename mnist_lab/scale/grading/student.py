"""Grading one student: each exercise's tests in its own sandboxed process, then their model.

`grade_student` is the task an executor runs for one student, in this process or on a Dask
worker; it returns plain data (`StudentGrades`), never anything of the student's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mnist_lab.course import capstone
from mnist_lab.course import exercises as ex
from mnist_lab.scale.grading.submissions import Submission, opened, student_files

# A student's model trains by its recipe once per seed of the capstone's rule (0 and 1), and is
# judged on their mean validation accuracy, as exercise 8's check judges it.
MODEL_SEEDS = capstone.SEEDS
# The sandbox's hard stop for all of a student's trainings: two seeds of the capstone's safety
# stop (SAFETY_MINUTES each, which ends a runaway training inside) and 10 minutes to start and
# score. A guard, never the grade rule: the rule counts epochs.
MODEL_TIMEOUT_S = 2 * 60 * 60 + 10 * 60


@dataclass(frozen=True)
class StudentGrades:
    """One student's results: per exercise (two-digit number), the public and hidden outcome;
    and their own model's scores, if their files register one."""

    student: str
    exercises: dict[str, dict[str, Any]]
    model: dict[str, Any] | None = None

    def summary(self) -> str:
        """One line for the progress display: '3.5 of 4 (ex02: timed out after 120 s)'."""
        total = sum(entry["public"]["score"] for entry in self.exercises.values())
        problems = [
            f"ex{number}: {entry['public']['error']}"
            for number, entry in self.exercises.items()
            if entry["public"]["error"]
        ]
        extra = f" ({'; '.join(problems)})" if problems else ""
        return f"{total:g} of {len(self.exercises)}{extra}"


def grade_student(
    submission: Submission,
    numbers: Sequence[int],
    hidden_dir: str | None,
    timeout: float,
    memory_mb: int,
    data_dir: str | None,
    threads: int,
    model_options: dict[str, Any] | None = None,
) -> StudentGrades:
    """Test one student's files, each exercise in its own sandboxed process, then train the
    model their files register for each seed of MODEL_SEEDS (`model_options`: epochs, limit;
    None: no model). The task an executor runs; everything it returns is plain data."""
    from mnist_lab.scale.sandbox import run_exercise_tests, train_student_model

    catalog = ex.load_catalog()
    chosen = [exercise for exercise in catalog if exercise.number in numbers]
    results: dict[str, dict[str, Any]] = {}
    with opened(submission) as root:
        files = student_files(root, catalog)  # every exercise's: a model may live in any
        for exercise in chosen:
            options = {"timeout": timeout, "memory_mb": memory_mb, "threads": threads}
            options["data_dir"] = Path(data_dir) if data_dir else None
            student_file = files.get(exercise.number)
            uses = exercise.own_code.uses if exercise.own_code is not None else ()
            options["earlier"] = [files[number] for number in uses if number in files]
            public = run_exercise_tests(exercise, student_file, **options)
            hidden = None
            if hidden_dir is not None and (Path(hidden_dir) / exercise.tests.name).is_file():
                hidden_tests = Path(hidden_dir) / exercise.tests.name
                hidden = run_exercise_tests(
                    exercise, student_file, tests_file=hidden_tests, **options
                )
            results[f"{exercise.number:02d}"] = {
                "file": exercise.file.name,
                "found": student_file is not None,
                "public": outcome_record(public),
                "hidden": None if hidden is None else outcome_record(hidden),
            }
        model = None
        if model_options is not None:
            sources = {path.name: path.read_bytes() for path in files.values()}
            trained = train_student_model(
                sources,
                epochs=model_options["epochs"],
                limit=model_options["limit"],
                seeds=MODEL_SEEDS,
                timeout=MODEL_TIMEOUT_S,
                memory_mb=memory_mb,
                data_dir=Path(data_dir) if data_dir else None,
                threads=threads,
            )
            model = None if trained is None else asdict(trained)
    return StudentGrades(submission.student, results, model)


def _test_outcomes(outcome: Any) -> dict[str, str]:
    """Every test that ran, by name: "passed" or "failed"."""
    failed = {failure.test for failure in outcome.failures}
    return {name: "failed" if name in failed else "passed" for name in outcome.tests}


def outcome_record(outcome: Any) -> dict[str, Any]:
    """A sandbox outcome as plain JSON data."""
    return {
        "passed": outcome.passed,
        "total": outcome.total,
        "score": round(outcome.score, 4),
        "error": outcome.error,
        "failures": [asdict(failure) for failure in outcome.failures],
        "tests": _test_outcomes(outcome),
        "seconds": round(outcome.seconds, 2),
    }
