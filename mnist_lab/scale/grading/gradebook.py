"""The gradebook and the feedback files, written from every student's record.

gradebook.csv and gradebook.json hold one row per student (a score from 0 to 1 per exercise,
hidden tests beside them, the total and notes); leaderboard.md ranks the class's own models on
validation accuracy; feedback/STUDENT.md tells each student what passed and what to try next.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnist_lab.core.fileio import write_bytes_atomic, write_json_atomic
from mnist_lab.core.markdown import markdown_table
from mnist_lab.course import exercises as ex
from mnist_lab.scale.grading.student import MODEL_SEEDS

GRADEBOOK_CSV, GRADEBOOK_JSON, LEADERBOARD_MD, FEEDBACK = (
    "gradebook.csv",
    "gradebook.json",
    "leaderboard.md",
    "feedback",
)


@dataclass(frozen=True)
class Gradebook:
    """A finished grading: its folder and one row per student, in name order."""

    path: Path
    rows: tuple[dict[str, Any], ...]
    numbers: tuple[int, ...]

    def __repr__(self) -> str:
        return f"Gradebook({str(self.path)!r}, students={len(self.rows)})"


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
                + _seeds_note(model)
            )
        row["notes"] = "; ".join(notes)
        rows.append(row)
    return rows


def _seeds(seeds: Sequence[int]) -> str:
    """(0, 1) -> "seeds 0 and 1"; (0,) -> "seed 0"."""
    words = [str(seed) for seed in seeds]
    if len(words) == 1:
        return f"seed {words[0]}"
    return f"seeds {', '.join(words[:-1])} and {words[-1]}"


def _seeds_note(model: dict[str, Any]) -> str:
    """The note's end, like ' (mean of seeds 0 and 1: 99.20%, 99.10%)'; '' without seeds."""
    seeds, accuracies = model.get("seeds"), model.get("val_accuracies")
    if not seeds or not accuracies:
        return ""
    each = ", ".join(f"{accuracy:.2%}" for accuracy in accuracies)
    return f" (mean of {_seeds(seeds)}: {each})"


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
        "# The class's models\n\nEach student's own model, trained by its recipe on "
        f"{_seeds(MODEL_SEEDS)}, ranked by the mean of their validation accuracies (the grade "
        f"rule: a mean of at least {model_target:.2%}); test accuracy is measured once per "
        "model and ranks nothing (both columns are the seeds' means).\n\n"
        + (table if models else "No submission registers a model.\n")
    )


def write_gradebook(
    out: Path,
    records: Sequence[dict[str, Any]],
    numbers: Sequence[int],
    catalog: Sequence[ex.Exercise],
    model_target: float,
) -> Gradebook:
    """Write gradebook.csv, gradebook.json, leaderboard.md and feedback/STUDENT.md into `out`."""
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
