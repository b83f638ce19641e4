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

The package's modules, one job each: `submissions` (finding and opening them), `student`
(grading one student: the executor's task), `running` (`grade`: options, folder, resume),
`gradebook` (the gradebook, leaderboard.md and the feedback files) and `errors`.
"""

from __future__ import annotations

from mnist_lab.scale.batch import Progress
from mnist_lab.scale.grading.errors import GradingError, GradingInterrupted
from mnist_lab.scale.grading.gradebook import (
    FEEDBACK,
    GRADEBOOK_CSV,
    GRADEBOOK_JSON,
    LEADERBOARD_MD,
    Gradebook,
    feedback_text,
    gradebook_rows,
    leaderboard_text,
    write_gradebook,
)
from mnist_lab.scale.grading.running import (
    DEFAULT_MEMORY_MB,
    DEFAULT_MODEL_EPOCHS,
    DEFAULT_MODEL_TARGET,
    DEFAULT_TIMEOUT_S,
    PLAN,
    STUDENTS,
    grade,
    parse_exercises,
)
from mnist_lab.scale.grading.student import (
    MODEL_SEEDS,
    MODEL_TIMEOUT_S,
    StudentGrades,
    grade_student,
    outcome_record,
)
from mnist_lab.scale.grading.submissions import (
    EXERCISE_FILE,
    MAX_ZIP_BYTES,
    Submission,
    find_submissions,
    opened,
    student_files,
)

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_MODEL_EPOCHS",
    "DEFAULT_MODEL_TARGET",
    "DEFAULT_TIMEOUT_S",
    "EXERCISE_FILE",
    "FEEDBACK",
    "GRADEBOOK_CSV",
    "GRADEBOOK_JSON",
    "LEADERBOARD_MD",
    "MAX_ZIP_BYTES",
    "MODEL_SEEDS",
    "MODEL_TIMEOUT_S",
    "PLAN",
    "STUDENTS",
    "Gradebook",
    "GradingError",
    "GradingInterrupted",
    "Progress",
    "StudentGrades",
    "Submission",
    "feedback_text",
    "find_submissions",
    "grade",
    "grade_student",
    "gradebook_rows",
    "leaderboard_text",
    "opened",
    "outcome_record",
    "parse_exercises",
    "student_files",
    "write_gradebook",
]
