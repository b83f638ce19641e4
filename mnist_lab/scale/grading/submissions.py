"""A class's submissions: one folder or .zip per student, and each student's exercise files.

Submissions are read, never written: a zip is opened into a temporary folder holding only its
exercise files (`exNN_*.py`), so nothing else in it is ever extracted.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mnist_lab.course import exercises as ex
from mnist_lab.scale.grading.errors import GradingError

EXERCISE_FILE = re.compile(r"ex(\d\d)_\w+\.py")
MAX_ZIP_BYTES = 50 * 2**20  # a class's exercise files are kilobytes; anything huge is a mistake


@dataclass(frozen=True)
class Submission:
    """One student's work: a folder or a .zip, named after the student."""

    student: str
    path: Path

    def __repr__(self) -> str:
        return f"Submission({self.student!r}, {str(self.path)!r})"


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
