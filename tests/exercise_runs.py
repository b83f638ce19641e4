"""Drafts of several exercises checked together, in one pytest process, as a student's
exercises/ folder holds one file of each exercise.

Checking each draft in a process of its own (`exercises.run_tests`) starts TensorFlow once per
draft: 3 to 4 s of a 5 s run when a test compares with Keras or explains a failure with it. A
process holding one draft of each exercise starts it once, and runs each test as `run_tests`
would: the same command line (`exercises.pytest_command`), the same report (`read_junit`).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from xml.etree import ElementTree

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
T = TypeVar("T")


@dataclass(frozen=True)
class Draft:
    """Exercise `number`'s solution with `changes` (old, new) made, and what its check must
    say: for each test run, phrases its failure message must hold."""

    number: int
    changes: tuple[tuple[str, str], ...]
    told: dict[str, tuple[str, ...]]

    def text(self) -> str:
        exercise = exercises.find(CATALOG, self.number)
        text = exercise.solution.read_text()
        for old, new in self.changes:
            assert text.count(old) == 1, f"exercise {self.number}'s solution no longer has {old!r}"
            text = text.replace(old, new)
        return text


def rounds(drafts: Mapping[str, T], number: Callable[[T], int]) -> list[dict[str, T]]:
    """The drafts in as few runs as hold them, in their order: at most one draft of each
    exercise (`number` of a draft) per run."""
    runs: list[dict[str, T]] = []
    for name, draft in drafts.items():
        free = [run for run in runs if all(number(d) != number(draft) for d in run.values())]
        if free:
            free[0][name] = draft
        else:
            runs.append({name: draft})
    return runs


def run_together(drafts: Sequence[tuple[int, str, Sequence[str]]]) -> dict[str, str]:
    """For each draft (exercise number, the text of its file, the tests to run on it), the file
    written into one folder, and every draft's tests run in one pytest process: the failure
    message of each test, by test as the report names it (a passing test is absent; a
    parametrized test is one entry per case, `test[id]`)."""
    numbers = [number for number, _, _ in drafts]
    assert len(set(numbers)) == len(numbers), f"two drafts of one exercise: {numbers}"
    targets, names = [], []
    with tempfile.TemporaryDirectory(prefix="mnist-lab-drafts-") as scratch:
        folder = Path(scratch) / "exercises"
        folder.mkdir()
        for number, text, tests in drafts:
            exercise = exercises.find(CATALOG, number)
            (folder / exercise.file.name).write_text(text)
            targets += [f"{exercise.tests}::{test}" for test in tests]
            names += list(tests)
        assert len(set(names)) == len(names), f"two exercises' tests share a name: {names}"
        report = Path(scratch) / "report.xml"
        command = exercises.pytest_command(targets, report, exercise.tests.parent)
        env = {**os.environ, "MNIST_LAB_EXERCISES_DIR": str(folder)}
        env["MNIST_LAB_PLUGINS"] = str(folder)  # where exercise 8's model registers from
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=exercises.CHECK_TIMEOUT_S
        )
        output = (done.stdout + done.stderr)[-3000:]
        assert report.is_file(), output
        ran = [case.get("name", "?") for case in ElementTree.parse(report).iter("testcase")]
        _, failures, _ = exercises.read_junit(report)
    assert {test_of(name, names) for name in ran} == set(names), output
    return {failure.test: failure.message for failure in failures}


def test_of(name: str, tests: Sequence[str]) -> str | None:
    """Which of `tests` ran as `name` (itself, or one case `test[id]` of it); None if none."""
    return next((t for t in tests if name == t or name.startswith(f"{t}[")), None)


class Drafts:
    """Named drafts (exercise number, a function making its file's text, the tests to run on
    it), checked on first use a round at a time: the round holding the draft asked for."""

    def __init__(self, drafts: Mapping[str, tuple[int, Callable[[], str], Sequence[str]]]):
        self.drafts = dict(drafts)
        self.rounds = rounds(self.drafts, lambda draft: draft[0])
        self.checked: dict[int, dict[str, str]] = {}

    def told(self, name: str) -> dict[str, str]:
        """What the tests run on draft `name` say of it, by failing test."""
        (index,) = [i for i, run in enumerate(self.rounds) if name in run]
        if index not in self.checked:
            run = self.rounds[index].values()
            self.checked[index] = run_together([(n, text(), tests) for n, text, tests in run])
        tests = self.drafts[name][2]
        return {test: m for test, m in self.checked[index].items() if test_of(test, tests)}
