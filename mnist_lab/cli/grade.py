"""`mnist-lab grade`: a class's submissions become a gradebook, with feedback for each student."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    OneLineCommand,
    OneLineGroup,
    SchedulerOption,
    WorkersOption,
    console,
    print_table,
    right,
)
from mnist_lab.cli.progress import batch_progress
from mnist_lab.course import capstone

app = typer.Typer(cls=OneLineGroup)


@app.command("grade", cls=OneLineCommand)
def grade_command(
    submissions: Annotated[
        Path,
        typer.Argument(
            help="Folder holding one folder or .zip per student, named after the student.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder that receives the gradebook.")] = Path("grades"),
    exercises: Annotated[
        Optional[str],  # noqa: UP045  (typer needs Optional on Python 3.10)
        typer.Option(help="Exercises to grade, e.g. 1,2,5-8 (default: all).", show_default=False),
    ] = None,
    tests: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            help="Folder of hidden test files named like the public ones (test_ex01_data.py).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds each exercise's tests may run before they are stopped.")
    ] = 120,
    memory_mb: Annotated[
        int,
        typer.Option(
            "--memory", help="Megabytes each exercise's tests may use before they are stopped."
        ),
    ] = 4096,
    model_epochs: Annotated[
        int,
        typer.Option(
            help="Epochs at most of each student's own model (its recipe, seeds 0 and 1). "
            "The default is the capstone's rule; fewer is a quicker, different check. 0: none."
        ),
    ] = capstone.MAX_EPOCHS,
    model_limit: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            help="Train the students' models on this many images (default: all, as the "
            "capstone's rule does).",
            show_default=False,
        ),
    ] = None,
    model_target: Annotated[
        float,
        typer.Option(
            help="The grade rule: the mean validation accuracy of seeds 0 and 1 a student's "
            "model must reach. The default is the capstone's; lower it with fewer epochs."
        ),
    ] = capstone.MIN_MEAN_VALIDATION_ACCURACY,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    resume: Annotated[
        bool, typer.Option(help="Finish a grading stopped before: grade only the students missing.")
    ] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Grade a class: test every student's exercise files in their own processes, with partial
    credit and hidden tests, and train each student's own model; write gradebook.csv,
    gradebook.json, leaderboard.md and feedback/STUDENT.md."""
    from mnist_lab.scale.grading import grade

    with batch_progress(console(), "Students") as on_progress:
        book = grade(
            submissions,
            out=out,
            exercises=exercises,
            tests=tests,
            timeout=timeout,
            memory_mb=memory_mb,
            model_epochs=model_epochs,
            model_limit=model_limit,
            model_target=model_target,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            data_dir=data_dir,
            on_progress=on_progress,
        )
    numbers = [f"ex{n:02d}" for n in book.numbers]
    print_table(
        f"Gradebook ({len(book.rows)} students, scores from 0 to 1)",
        ["Student", *[right(name) for name in numbers], right("Total"), "Notes"],
        [
            [row["student"], *[f"{row[name]:.2f}" for name in numbers], f"{row['total']:g}"]
            + [row["notes"]]
            for row in book.rows
        ],
    )
    typer.echo(
        f"Saved in {book.path}/ (gradebook.csv, gradebook.json, leaderboard.md, "
        "feedback/STUDENT.md)"
    )
