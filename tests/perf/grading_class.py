"""Time `mnist-lab grade` on a synthetic class of 30 submissions, serially and with 2 workers.

The class mixes what a real one holds, six students of each kind: full solutions, bare stubs,
partial work (exercise 1 solved, the others stubs), broken files (exercise 1 does not parse)
and loops (exercise 2 never returns). Exercises 1 to 3 are graded, each in its own sandboxed
process, with a 20 s budget per exercise; students' models are left out (`--model-epochs 0`), so
the figures are the tests' own cost. Results go to docs/results/grading.json and grading.md.
Run: `.venv/bin/python tests/perf/grading_class.py`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from mnist_lab.core.markdown import markdown_table
from mnist_lab.scale.grading import grade
from mnist_lab.scale.machine import describe_machine, machine_info

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "docs" / "results"
SOLUTIONS, STUBS = ROOT / "mnist_lab" / "course" / "solutions", ROOT / "exercises"
FILES = ("ex01_data.py", "ex02_normalize.py", "ex03_labels.py")
KINDS = ("solution", "stub", "partial", "broken", "looping")
TIMEOUT_S = 20


def write_class(folder: Path) -> None:
    """Thirty students, six of each kind, named like kind-01."""
    for kind in KINDS:
        for number in range(1, 7):
            student = folder / f"{kind}-{number:02d}"
            student.mkdir(parents=True)
            for index, name in enumerate(FILES):
                source = (
                    SOLUTIONS if kind == "solution" or (kind, index) == ("partial", 0) else STUBS
                )
                text = (source / name).read_text()
                if (kind, index) == ("broken", 0):
                    text = "def load_data(:\n"
                if (kind, index) == ("looping", 1):
                    text = "while True:\n    pass\n"
                (student / name).write_text(text)


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="mnist-lab-class-") as tmp:
        submissions = Path(tmp) / "submissions"
        write_class(submissions)
        for workers in (1, 2):
            print(f"grading 30 submissions with --workers {workers} ...", flush=True)
            started = time.perf_counter()
            book = grade(
                submissions,
                out=Path(tmp) / f"grades-{workers}",
                exercises="1-3",
                timeout=TIMEOUT_S,
                model_epochs=0,
                workers=workers,
            )
            seconds = time.perf_counter() - started
            totals = {row["student"]: row["total"] for row in book.rows}
            rows.append(
                {
                    "workers": workers,
                    "seconds": round(seconds, 1),
                    "seconds_per_student": round(seconds / len(book.rows), 2),
                    "totals_by_kind": {
                        kind: sorted({t for s, t in totals.items() if s.startswith(kind)})
                        for kind in KINDS
                    },
                }
            )
            print(f"  {rows[-1]}", flush=True)
    machine = machine_info()
    created = datetime.now().isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "grading.json").write_text(
        json.dumps({"created": created, "machine": machine, "runs": rows}, indent=2) + "\n"
    )
    serial = rows[0]["seconds"]
    table = markdown_table(
        ["Workers", "Seconds", "Seconds per student", "Speed-up"],
        "rrrr",
        [
            [
                str(row["workers"]),
                f"{row['seconds']:.1f}",
                f"{row['seconds_per_student']:.2f}",
                f"{serial / row['seconds']:.2f}x",
            ]
            for row in rows
        ],
    )
    totals = rows[0]["totals_by_kind"]
    kinds = ", ".join(f"{kind} {'/'.join(f'{t:g}' for t in totals[kind])}" for kind in KINDS)
    (RESULTS / "grading.md").write_text(
        f"30 synthetic submissions (6 each of {', '.join(KINDS)}), exercises 1-3, "
        f"{TIMEOUT_S} s per exercise, measured by `tests/perf/grading_class.py` on "
        f"{created[:10]}.\n\n{table}\nTotals out of 3 by kind: {kinds}.\n\n"
        f"Machine: {describe_machine(machine)}.\n"
    )
    print((RESULTS / "grading.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
