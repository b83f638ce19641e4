"""Grade a class: every student's exercise files tested in their own processes, one gradebook.

`grade("submissions/")` reads one folder or .zip per student (the student's name is its name),
finds the student's exercise files (`exNN_*.py`, at its top or under `exercises/`), and runs
each exercise's tests in a fresh, limited process (`mnist_lab.scale.sandbox`): a crash, a syntax
error, an endless loop or a memory blow-up is that exercise's result and nothing else is lost.
An exercise scores its passed tests over its tests (pytest's junit report); hidden tests, the
instructor's own files of the same names, are run the same way and reported beside them.

Students are graded on the executor of `benchmark` (in this process, a local Dask cluster, or a
cluster), one task per student. Each finished student is written at once to
`grades/students/STUDENT.json`, so `--resume` grades only the students still missing; then come
gradebook.csv, gradebook.json and feedback/STUDENT.md. Submissions are read, never written,
and the grader never imports a student's file into its own process.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mnist_lab import data as mnist_data
from mnist_lab.core.errors import ConfigError, MnistLabError
from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.course import exercises as ex
from mnist_lab.scale.executors import Call, check_workers, open_executor

GRADEBOOK_CSV, GRADEBOOK_JSON, LEADERBOARD_MD, PLAN, STUDENTS, FEEDBACK = (
    "gradebook.csv",
    "gradebook.json",
    "leaderboard.md",
    "grading.json",  # what was asked for, written first: --resume reads it
    "students",
    "feedback",
)
DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_MB = 4096
# A student's model trains by its recipe, at most this many epochs, on a fixed seed; its
# validation accuracy is held to the target (the grade rule), its test accuracy reported once.
DEFAULT_MODEL_EPOCHS, DEFAULT_MODEL_TARGET, MODEL_SEED = 2, 0.97, 0
MODEL_TIMEOUT_S = 900
EXERCISE_FILE = re.compile(r"ex(\d\d)_\w+\.py")
MAX_ZIP_BYTES = 50 * 2**20  # a class's exercise files are kilobytes; anything huge is a mistake

Progress = Callable[[dict[str, Any]], None]


class GradingError(MnistLabError):
    """The submissions or the grading options cannot be used."""


class GradingInterrupted(GradingError):
    """Ctrl-C stopped the grading: the students already graded stay, `--resume` goes on."""

    prefix = "Interrupted"
    exit_code = 130


@dataclass(frozen=True)
class Submission:
    """One student's work: a folder or a .zip, named after the student."""

    student: str
    path: Path

    def __repr__(self) -> str:
        return f"Submission({self.student!r}, {str(self.path)!r})"


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


@dataclass(frozen=True)
class Gradebook:
    """A finished grading: its folder and one row per student, in name order."""

    path: Path
    rows: tuple[dict[str, Any], ...]
    numbers: tuple[int, ...]

    def __repr__(self) -> str:
        return f"Gradebook({str(self.path)!r}, students={len(self.rows)})"


# --- options ------------------------------------------------------------------------------------


def parse_exercises(text: str | None, catalog: Sequence[ex.Exercise]) -> list[int]:
    """'1,2,5-8' as exercise numbers, each in the catalog; None or '' means every exercise."""
    known = [exercise.number for exercise in catalog]
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


def find_submissions(folder: str | Path) -> list[Submission]:
    """One submission per folder or .zip in `folder`, by student name; one line when unusable."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise GradingError(
            f"{folder} is not a folder of submissions; give the folder that holds one folder "
            "or .zip per student."
        )
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            student = entry.name
        elif entry.suffix.lower() == ".zip" and entry.is_file():
            student = entry.stem
        else:
            continue
        if student in found:
            raise GradingError(
                f"{folder} holds two submissions of {student} ({found[student].path.name} and "
                f"{entry.name}); keep one of them."
            )
        found[student] = Submission(student, entry)
    if not found:
        raise GradingError(
            f"{folder} holds no submission: put one folder or .zip per student in it, each "
            "with the student's exercise files (exNN_*.py)."
        )
    return list(found.values())


# --- one student ------------------------------------------------------------------------------


@contextlib.contextmanager
def opened(submission: Submission) -> Iterator[Path]:
    """A folder to read the submission's files from: the folder itself, or the zip's exercise
    files extracted to a temporary folder (only `exNN_*.py`, never anything else)."""
    if submission.path.is_dir():
        yield submission.path
        return
    with tempfile.TemporaryDirectory(prefix="mnist-lab-submission-") as scratch:
        try:
            with zipfile.ZipFile(submission.path) as archive:
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or not EXERCISE_FILE.fullmatch(name):
                        continue
                    if info.file_size > MAX_ZIP_BYTES:
                        continue
                    # Flattened by depth: the shallowest copy of a name wins (see student_files).
                    depth = len(Path(info.filename).parts) - 1
                    target = Path(scratch) / f"depth{depth}" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if not target.exists():
                        target.write_bytes(archive.read(info))
        except (zipfile.BadZipFile, OSError) as error:
            raise GradingError(f"Cannot read {submission.path}: {error}.") from None
        yield Path(scratch)


def student_files(root: Path, catalog: Sequence[ex.Exercise]) -> dict[int, Path]:
    """The student's file of each exercise found under `root`: at its top, under exercises/,
    or (a zip of a folder) one or two folders down, the shallowest first."""
    files: dict[int, Path] = {}
    for exercise in catalog:
        name = exercise.file.name
        candidates = [root / name, root / "exercises" / name]
        candidates += sorted(root.glob(f"*/{name}")) + sorted(root.glob(f"*/*/{name}"))
        found = next((path for path in candidates if path.is_file()), None)
        if found is not None:
            files[exercise.number] = found
    return files


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
    model their files register (`model_options`: epochs, limit; None: no model). The task an
    executor runs; everything it returns is plain data."""
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
                seed=MODEL_SEED,
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


# --- the class --------------------------------------------------------------------------------


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
    """Grade every submission in `submissions` into `out` (see the module's docstring).

    `exercises` ('1,2,5-8') limits the exercises graded; `tests` is the folder of hidden test
    files; `timeout` is the wall-clock budget of each exercise's tests (seconds) and
    `memory_mb` their memory. A student's own model trains by its recipe for at most
    `model_epochs` (0: no model) on `model_limit` images (None: all), seed 0; it meets the
    grade rule when its validation accuracy reaches `model_target`. Without `resume`, an `out`
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
    try:
        with open_executor(workers, scheduler) as executor:
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
    except KeyboardInterrupt:
        raise GradingInterrupted(
            f"the grading stopped with {len(done)} of {len(classroom)} students graded; {out} "
            f"keeps them. Continue with: mnist-lab grade {submissions} --out {out} --resume"
        ) from None
    records = [done[submission.student] for submission in classroom]
    return _write_gradebook(out, records, numbers, catalog, model_target)


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


# --- the gradebook ----------------------------------------------------------------------------


def _score(entry: dict[str, Any] | None) -> float | None:
    return None if entry is None else entry["score"]


def gradebook_rows(
    records: Sequence[dict[str, Any]], numbers: Sequence[int], model_target: float
) -> list[dict]:
    """One row per student: exNN scores (0 to 1), exNN_hidden, total (the sum of the public
    scores), the model and its accuracies, and notes (what kept a score from being counted,
    and whether the model met the validation target)."""
    rows = []
    for record in records:
        row: dict[str, Any] = {"student": record["student"]}
        notes = [record["error"]] if record.get("error") else []
        total = 0.0
        for number in numbers:
            entry = record["exercises"].get(f"{number:02d}")
            public = entry["public"] if entry else None
            row[f"ex{number:02d}"] = _score(public) if public else 0.0
            row[f"ex{number:02d}_hidden"] = _score(entry["hidden"]) if entry else None
            total += row[f"ex{number:02d}"]
            if entry and not entry["found"]:
                notes.append(f"ex{number:02d}: no file")
            elif public and public["error"]:
                notes.append(f"ex{number:02d}: {public['error']}")
        row["total"] = round(total, 4)
        model = record.get("model") or {}
        row["model"] = model.get("model")
        row["model_val_accuracy"] = model.get("val_accuracy")
        row["model_test_accuracy"] = model.get("test_accuracy")
        if model.get("error"):
            notes.append(f"model: {model['error']}")
        elif model.get("val_accuracy") is not None:
            met = model["val_accuracy"] >= model_target
            notes.append(
                f"model {'meets' if met else 'misses'} the {model_target:.2%} validation target"
            )
        row["notes"] = "; ".join(notes)
        rows.append(row)
    return rows


def _csv(rows: Sequence[dict[str, Any]], numbers: Sequence[int], hidden: bool) -> str:
    columns = ["student"] + [f"ex{n:02d}" for n in numbers]
    if hidden:
        columns += [f"ex{n:02d}_hidden" for n in numbers]
    columns += ["total", "model", "model_val_accuracy", "model_test_accuracy", "notes"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return buffer.getvalue()


def feedback_text(
    record: dict[str, Any], numbers: Sequence[int], catalog: Sequence[ex.Exercise]
) -> str:
    """A student's feedback: per exercise what passed, the first failure in the words of
    `mnist-lab exercises check`, and the hint that matches it."""
    by_number = {exercise.number: exercise for exercise in catalog}
    lines = [f"# Feedback for {record['student']}", ""]
    if record.get("error"):
        lines += [f"Your submission could not be graded: {record['error']}", ""]
    for number in numbers:
        exercise = by_number[number]
        entry = record["exercises"].get(f"{number:02d}")
        lines.append(f"## Exercise {number}: {exercise.title}")
        lines.append("")
        if entry is None or not entry["found"]:
            lines += [f"No file {exercise.file.name} was found in your submission.", ""]
            continue
        public, hidden = entry["public"], entry["hidden"]
        counts = f"public tests: {public['passed']} of {public['total']} passed"
        if hidden is not None:
            counts += f"; hidden tests: {hidden['passed']} of {hidden['total']} passed"
        lines += [counts[0].upper() + counts[1:] + ".", ""]
        if public["error"]:
            lines += [f"The tests could not be counted: {public['error']}.", ""]
        failures = [ex.Failure(**failure) for failure in public["failures"]]
        if failures:
            first = failures[0]
            lines += [f"First failure, `{first.test}`: {first.message}", ""]
            result = ex.CheckResult(
                exercise, False, tuple(failures), public["total"], hints_shown=len(exercise.hints)
            )
            hint = ex.hint_for(result)
            if hint is not None:
                lines += [f"Hint: {hint.text}", ""]
        elif hidden is not None and hidden["passed"] < hidden["total"]:
            lines += ["Every public test passes, but some hidden ones do not: test your code on "
                      "other inputs than the public tests use.", ""]  # fmt: skip
    return "\n".join(lines)


def leaderboard_text(records: Sequence[dict[str, Any]], model_target: float) -> str:
    """The class's models ranked by validation accuracy; test accuracy is reported, never ranked."""
    from mnist_lab.core.markdown import markdown_table

    models = [
        (record["student"], record["model"])
        for record in records
        if record.get("model") and record["model"].get("val_accuracy") is not None
    ]
    models.sort(key=lambda item: (-item[1]["val_accuracy"], item[0]))
    table = markdown_table(
        ["#", "Student", "Model", "Params", "Epochs", "Val accuracy", "Test accuracy", "Target"],
        "rllrrrrl",
        [
            [
                str(rank),
                student,
                model["model"],
                f"{model['params']:,}",
                str(model["epochs"]),
                f"{model['val_accuracy']:.2%}",
                f"{model['test_accuracy']:.2%}",
                "met" if model["val_accuracy"] >= model_target else "missed",
            ]
            for rank, (student, model) in enumerate(models, start=1)
        ],
    )
    return (
        "# The class's models\n\nEach student's own model, trained by its recipe on seed "
        f"{MODEL_SEED}, ranked by validation accuracy (the grade rule: at least "
        f"{model_target:.2%}); test accuracy is measured once per model and ranks nothing.\n\n"
        + (table if models else "No submission registers a model.\n")
    )


def _write_gradebook(
    out: Path,
    records: Sequence[dict[str, Any]],
    numbers: Sequence[int],
    catalog: Sequence[ex.Exercise],
    model_target: float,
) -> Gradebook:
    rows = gradebook_rows(records, numbers, model_target)
    hidden = any(row.get(f"ex{n:02d}_hidden") is not None for row in rows for n in numbers)
    write_bytes_atomic(out / GRADEBOOK_CSV, _csv(rows, numbers, hidden).encode("utf-8"))
    write_json_atomic(
        out / GRADEBOOK_JSON, {"exercises": list(numbers), "rows": rows, "students": records}
    )
    text = leaderboard_text(records, model_target)
    write_bytes_atomic(out / LEADERBOARD_MD, text.encode("utf-8"))
    (out / FEEDBACK).mkdir(exist_ok=True)
    for record in records:
        text = feedback_text(record, numbers, catalog)
        write_bytes_atomic(out / FEEDBACK / f"{record['student']}.md", text.encode("utf-8"))
    return Gradebook(out, tuple(rows), tuple(numbers))
