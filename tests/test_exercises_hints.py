"""Hints are a ladder: a question, then the idea with its chapter, then near-code, earned by
failing the same test twice; the manifest says each hint's rung, and a malformed one is one line.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from mnist_lab.course import exercises
from mnist_lab.course.exercises.catalog import read_catalog

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
Hint = exercises.Hint

LADDER = (
    Hint("a question", ("test_range", "test_axis"), "question"),
    Hint("the idea", ("test_range", "test_axis"), "idea"),
    Hint("near-code for the range", ("test_range",), "code"),
    Hint("near-code for the axis", ("test_axis",), "code"),
)


def failed(*tests: str, before=None, shown: int = 0, hints=LADDER) -> exercises.CheckResult:
    exercise = exercises.Exercise(2, "n", "N", Path("f.py"), Path("t.py"), "", hints)
    failures = tuple(exercises.Failure(test, "message") for test in tests)
    return exercises.CheckResult(
        exercise, False, failures, 5, hints_shown=shown, failed_before=dict(before or {})
    )


@pytest.mark.parametrize(
    ("tests", "before", "shown", "expected"),
    [
        (["test_range"], {}, 0, "a question"),  # never failed before: the question
        (["test_range"], {"test_range": 1}, 0, "the idea"),  # once: the idea
        (["test_range"], {"test_range": 2}, 0, "near-code for the range"),  # twice: near-code
        (["test_range"], {"test_range": 7}, 0, "near-code for the range"),
        (["test_axis[flat]"], {"test_axis": 2}, 0, "near-code for the axis"),  # its own code
        # failing another test does not unlock this one's rungs
        (["test_axis"], {"test_range": 2}, 0, "a question"),
        (["test_axis"], {"test_range": 2, "test_axis": 1}, 0, "the idea"),
        # hints read with `hint` count up to the idea, never to near-code
        (["test_range"], {}, 1, "a question"),
        (["test_range"], {}, 2, "the idea"),
        (["test_range"], {"test_range": 1}, 4, "the idea"),
        # the hint is for the first failing test a hint helps with
        (["test_other", "test_axis"], {"test_axis": 2}, 0, "near-code for the axis"),
        (["test_other"], {"test_other": 3}, 0, "a question"),  # no hint for it: the question
    ],
)
def test_the_hint_beside_a_failure_climbs_the_ladder_of_that_test(tests, before, shown, expected):
    assert exercises.hint_for(failed(*tests, before=before, shown=shown)).text == expected


def test_the_hint_says_which_test_it_is_for_and_what_comes_next():
    question = failed("test_range[3]", before={})
    hint, test = exercises.hint_beside(question)
    assert (hint.text, test) == ("a question", "test_range")
    assert exercises.ladder_note(question, hint, test) == (
        "  (A question for test_range. If the next check fails on it too, the idea; near-code "
        "once checks have failed on it 2 times. 'mnist-lab exercises hint 2 --all' shows all now.)"
    )
    # the idea read with `hint` before any failure: near-code still needs two failed checks
    read = failed("test_range", before={}, shown=2)
    assert exercises.ladder_note(read, *exercises.hint_beside(read)) == (
        "  (The idea for test_range. Near-code once checks have failed on it 2 times (1 so far). "
        "'mnist-lab exercises hint 2 --all' shows all now.)"
    )
    idea = failed("test_range", before={"test_range": 1})
    assert exercises.ladder_note(idea, *exercises.hint_beside(idea)) == (
        "  (The idea for test_range. If the next check fails on it too: near-code. "
        "'mnist-lab exercises hint 2 --all' shows all now.)"
    )
    code = failed("test_range", before={"test_range": 3})
    hint, test = exercises.hint_beside(code)
    assert exercises.ladder_note(code, hint, test) == (
        "  (Near-code for test_range: earlier checks failed on it 3 times.)"
    )
    hint, test = exercises.hint_beside(failed("(all)"))  # pytest did not run: the question
    assert (hint.text, test) == ("a question", None)
    assert exercises.ladder_note(failed("(all)"), hint, test) is None


def test_a_hint_without_tests_helps_with_any_failure():
    hints = (
        Hint("first"),
        Hint("about the range", ("test_range",), "idea"),
        Hint("general, later", (), "idea"),
        Hint("general code", (), "code"),
    )
    assert exercises.hint_for(failed("test_other", before={"test_other": 1}, hints=hints)).text == (
        "general, later"
    )
    assert exercises.hint_for(failed("test_other", before={"test_other": 2}, hints=hints)).text == (
        "general code"
    )
    assert exercises.hint_for(failed("test_other", hints=hints)).text == "first"


# --- the failures the progress remembers ---------------------------------------------------------


def test_each_failed_check_counts_once_per_test():
    entry: dict = {"hints_shown": 1}
    failures = [exercises.Failure(name, "m") for name in ("test_a[1]", "test_a[2]", "test_b")]
    assert exercises.record_failures(entry, failures) == {}
    assert entry["failures"] == {"test_a": 1, "test_b": 1}
    assert exercises.record_failures(entry, failures[:1]) == {"test_a": 1, "test_b": 1}
    assert entry["failures"] == {"test_a": 2, "test_b": 1}
    # a run that never reached the tests is no test's failure
    exercises.record_failures(entry, [exercises.Failure("(all)", "timeout")])
    assert entry["failures"] == {"test_a": 2, "test_b": 1} and entry["hints_shown"] == 1


@pytest.mark.parametrize(
    ("entry", "counts"),
    [
        ({"hints_shown": 2, "state": "failing"}, {}),  # written before the ladder
        ({"failures": "twice"}, {}),
        (
            {"failures": {"test_a": "two", "test_b": 2, "test_c": None, "test_d": -4}},
            {"test_b": 2, "test_d": 0},
        ),
    ],
)
def test_an_old_or_hand_edited_progress_entry_reads_as_no_failures(entry, counts):
    assert exercises.failure_counts(entry) == counts


def course_of_one(tmp_path: Path, hints=LADDER[:3]) -> exercises.Exercise:
    """Exercise 2 of a made-up course in `tmp_path`, whose test `test_range` always fails."""
    (tmp_path / "tests").mkdir()
    tests = "def test_range():\n    assert False, 'out of range'\n\ndef test_axis():\n    pass\n"
    (tmp_path / "tests" / "test_ex02.py").write_text(tests)
    (tmp_path / "ex02_n.py").write_text("x = 1\n")
    return exercises.Exercise(
        2, "n", "N", tmp_path / "ex02_n.py", tmp_path / "tests" / "test_ex02.py", "", hints
    )


def test_checks_remember_each_tests_failures_and_climb_its_ladder(tmp_path):
    exercise = course_of_one(tmp_path)
    progress = tmp_path / exercises.STATE_DIR / "progress.json"
    progress.parent.mkdir()
    # a progress file of the course before the ladder: no failures recorded
    progress.write_text(json.dumps({"2": {"hints_shown": 0, "state": "failing"}}))
    seen = []
    for _ in range(3):
        result = exercises.check(exercise, tmp_path)
        seen.append((dict(result.failed_before), exercises.hint_for(result).text))
    assert seen == [
        ({}, "a question"),
        ({"test_range": 1}, "the idea"),
        ({"test_range": 2}, "near-code for the range"),
    ]
    assert json.loads(progress.read_text())["2"]["failures"] == {"test_range": 3}


def test_hint_keeps_near_code_locked_until_a_test_has_failed_twice(tmp_path):
    exercise = course_of_one(tmp_path)
    hints = exercise.hints
    assert exercises.next_hint(exercise, tmp_path) == (1, hints[0])
    assert not exercises.code_locked(exercise, tmp_path, 1)  # the idea comes next
    assert exercises.next_hint(exercise, tmp_path) == (2, hints[1])
    assert exercises.code_locked(exercise, tmp_path, 2)
    assert exercises.next_hint(exercise, tmp_path) == (2, hints[1])  # not the near-code
    exercises.check(exercise, tmp_path)
    assert exercises.next_hint(exercise, tmp_path) == (2, hints[1])  # one failure is not enough
    exercises.check(exercise, tmp_path)
    assert not exercises.code_locked(exercise, tmp_path, 2)
    assert exercises.next_hint(exercise, tmp_path) == (3, hints[2])
    assert exercises.next_hint(exercise, tmp_path) == (3, hints[2])  # the last one again


# --- the manifest says each hint's rung ----------------------------------------------------------


def manifest_with(tmp_path: Path, hints: str) -> Path:
    path = tmp_path / "manifest.toml"
    path.write_text(
        textwrap.dedent(
            """\
            [[exercise]]
            number = 1
            name = "data"
            title = "The data"
            file = "ex01_data.py"
            tests = "tests/test_ex01_data.py"
            """
        )
        + textwrap.dedent(hints)
    )
    return path


def test_a_well_formed_ladder_is_read_with_its_rungs(tmp_path):
    path = manifest_with(
        tmp_path,
        """
        [[exercise.hints]]
        rung = "question"
        text = "Why?"
        [[exercise.hints]]
        rung = "idea"
        text = "Because."
        tests = ["test_a"]
        [[exercise.hints]]
        rung = "code"
        text = "x = 1"
        """,
    )
    (exercise,) = read_catalog(path)
    assert exercise.hints == (
        Hint("Why?", (), "question"),
        Hint("Because.", ("test_a",), "idea"),
        Hint("x = 1", (), "code"),
    )


@pytest.mark.parametrize(
    ("hints", "error"),
    [
        (
            '[[exercise.hints]]\ntext = "Why?"\n',
            "exercise 1's hint 1 has rung = None; give it one of 'question', 'idea', 'code'.",
        ),
        (
            '[[exercise.hints]]\nrung = "hint"\ntext = "Why?"\n',
            "exercise 1's hint 1 has rung = 'hint'; give it one of 'question', 'idea', 'code'.",
        ),
        (
            '[[exercise.hints]]\nrung = "idea"\ntext = "Because."\n',
            "exercise 1's hint 1 has rung = 'idea': the ladder starts with a question.",
        ),
        (
            '[[exercise.hints]]\nrung = "question"\ntext = "Why?"\n'
            '[[exercise.hints]]\nrung = "code"\ntext = "x = 1"\n'
            '[[exercise.hints]]\nrung = "idea"\ntext = "Because."\n',
            "exercise 1's hint 3 is rung 'idea' after rung 'code': hints go 'question', "
            "then 'idea', then 'code'; reorder them.",
        ),
        (
            '[[exercise.hints]]\nrung = "question"\n',
            'exercise 1\'s hint 1 needs text = "..." (what the hint says).',
        ),
        (
            '[[exercise.hints]]\nrung = "question"\ntext = "Why?"\ntests = "test_a"\n',
            "exercise 1's hint 1: tests must be a list of test names, got 'test_a'.",
        ),
    ],
)
def test_a_malformed_ladder_is_one_line_that_says_where(tmp_path, hints, error):
    path = manifest_with(tmp_path, hints)
    with pytest.raises(exercises.ExerciseError) as raised:
        read_catalog(path)
    assert str(raised.value) == f"{path}: {error}"


# --- the course's own hints -------------------------------------------------------------------

# The chapters the idea rungs point to; 09-11 are being written beside this ladder.
CHAPTER_OF = {12: "09-regularization", 13: "09-regularization", 14: "10-learning-rate",
              17: "10-learning-rate", 15: "11-debugging"}  # fmt: skip


@pytest.mark.parametrize("exercise", CATALOG, ids=lambda e: e.file.stem)
def test_every_exercise_climbs_question_idea_code_and_the_idea_names_its_chapter(exercise):
    question, idea, code = exercise.hints
    assert (question.rung, idea.rung, code.rung) == exercises.RUNGS
    assert question.text.count("?") >= 2, question.text  # questions, not answers
    chapters = re.findall(r"docs/course/(\d\d-[a-z-]+)\.md", idea.text)
    assert chapters, f"exercise {exercise.number}'s idea points to no chapter"
    for chapter in chapters:
        assert (ROOT / "docs" / "course" / f"{chapter}.md").is_file(), chapter
    if exercise.number in CHAPTER_OF:
        assert CHAPTER_OF[exercise.number] in chapters, exercise.number
    # every test a rung helps with, every rung helps with: each test has its whole ladder
    assert set(question.tests) == set(idea.tests) == set(code.tests), exercise.number


def test_the_capstones_hints_name_no_time_budget_and_no_threshold():
    capstone = exercises.find(CATALOG, 8)
    for hint in capstone.hints:
        assert not re.search(r"minute|second|\bhour|time budget|wall", hint.text, re.I), hint
        assert not re.search(r"\d+(?:\.\d+)?\s*%|\b0\.9\d*\b|\b9[89](?:\.\d+)?\b", hint.text), hint
    # it is judged on the mean validation accuracy of seeds 0 and 1, within a budget of epochs
    idea = capstone.hints[1].text
    assert "seeds 0 and 1" in idea and "mean" in idea and "epochs" in idea
