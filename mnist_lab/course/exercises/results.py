"""What a check says: its result, and each failing test's message in plain words.

pytest writes a junit-xml report of every run; this module reads it, so `mnist-lab exercises
check` and the grader's sandbox (mnist_lab.scale.sandbox) explain a failure in the same words: the
test's own message, without pytest's introspection around it.
"""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnist_lab.course.exercises.catalog import Exercise

# The states of an exercise, as the progress remembers them and `mnist-lab exercises` shows them.
DONE = "done"
FAILING = "failing"
NOT_STARTED = "not started"

_TRUNCATED = re.compile(r"\n?\[\+\d+ more lines?; full report in element text\]\s*$")
_SETUP_ERROR = re.compile(r'failed on (?:setup|teardown) with "(?P<error>.*)"', re.S)


@dataclass(frozen=True)
class Failure:
    """One failing test, in plain words: its name and what it said."""

    test: str
    message: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of running one exercise's tests.

    `output` is pytest's own console output (for a verbose report); `notes` are what passing
    tests chose to report (exercise 8: the accuracy reached); `hints_shown` is how many hints
    the student had seen when the check ran, and `failed_before` how many earlier checks had
    failed on each test: together they pick the rung of the hint shown beside a failure.
    """

    exercise: Exercise
    passed: bool
    failures: tuple[Failure, ...]
    total: int
    output: str = ""
    notes: tuple[str, ...] = ()
    hints_shown: int = 0
    failed_before: dict[str, int] = field(default_factory=dict)

    @property
    def state(self) -> str:
        return DONE if self.passed else FAILING


def plain_message(message: str) -> str:
    """A pytest failure message in plain words: the test's own message, every line of it.

    pytest reports `assert ..., message` as "AssertionError: " and the message (its further
    lines indented by two spaces), then its own "assert ..." introspection, which is dropped;
    `pytest.fail(...)` as "Failed: ..."; an error in a fixture as 'failed on setup with "..."'.
    A bare `assert` keeps pytest's introspection, the only words it has.
    """
    text = _TRUNCATED.sub("", message).strip("\n")
    text = text.split("\nFailing test case:", 1)[0]  # hypothesis's example: in --verbose
    setup = _SETUP_ERROR.fullmatch(text)
    if setup:
        text = setup["error"]
    if text.startswith("AssertionError: "):
        first, *rest = text.removeprefix("AssertionError: ").splitlines()
        kept = [first]
        for line in rest:
            if line and not line.startswith("  "):  # pytest's own "assert ..." lines follow
                break
            kept.append(line[2:])
        text = "\n".join(kept)
    elif text.startswith("assert "):  # pytest's introspection, its further lines indented
        first, *rest = text.removeprefix("assert ").splitlines()
        rest = [line.removeprefix("  ") for line in rest if "Use -v to get" not in line]
        text = "\n".join([first, *rest])
    else:
        text = text.removeprefix("Failed: ")
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return text or "the test failed without a message"


def read_junit(report: Path) -> tuple[int, tuple[Failure, ...], tuple[str, ...]]:
    """(tests, failures in plain words, notes) of a pytest junit-xml report (xunit1)."""
    return summarize_junit(ElementTree.parse(report).getroot())


def summarize_junit(root: Any) -> tuple[int, tuple[Failure, ...], tuple[str, ...]]:
    """`read_junit` of an already parsed report. Shared by `check` and the grader's sandbox,
    so both say a failure in the same words."""
    failures, notes, total = [], [], 0
    for case in root.iter("testcase"):
        total += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            message = problem.get("message", "")
            if _TRUNCATED.search(message):  # pytest shortens long messages: read them whole
                message = _raised(problem.text or "") or message
            failures.append(Failure(case.get("name", "?"), plain_message(message)))
        # What a test reports even when it passes (the exercises' `note` fixture).
        notes += [p.get("value", "") for p in case.iter("property") if p.get("name") == "note"]
    return total, tuple(failures), tuple(notes)


def _raised(report: str) -> str:
    """The exception of a test's full report: pytest's "E   " lines, without the prefix."""
    lines = [line[4:] if line.startswith("E   ") else line[1:].lstrip() for line in
             report.splitlines() if line.startswith("E ") or line == "E"]  # fmt: skip
    return textwrap.dedent("\n".join(lines)).strip("\n")
