"""The exercise runner: stubs derived from solutions, the catalog, checks, hints, resets."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from mnist_lab import exercises
from mnist_lab.exercises import ExerciseError, derive_stub

SOLUTION = textwrap.dedent(
    '''\
    """Exercise 9: doubling."""


    def double(x):
        """Twice x."""
        # TODO: return x doubled
        # SOLUTION
        y = x * 2
        return y
        # END SOLUTION


    class Box:
        def area(self, w, h):
            # TODO: multiply the sides.
            # SOLUTION
            return w * h
            # END SOLUTION
    '''
)


def test_derive_stub_replaces_each_solution_block_with_a_telling_raise():
    def raise_line(indent: str, todo: str) -> str:
        message = f"Exercise 9: {todo}. Run 'mnist-lab exercises hint 9' for a hint."
        return f"{indent}raise NotImplementedError({message!r})\n"

    lines = SOLUTION.splitlines(keepends=True)
    expected = (
        "".join(lines[:6])
        + raise_line("    ", "return x doubled")
        + "".join(lines[10:15])
        + raise_line("        ", "multiply the sides")
    )
    assert derive_stub(SOLUTION, 9) == expected
    assert "SOLUTION" not in expected and "y = x * 2" not in expected


def test_derive_stub_leaves_a_file_without_blocks_alone():
    text = "def f():\n    return 1\n"
    assert derive_stub(text, 1) == text


def test_the_stub_compiles_and_raises_when_called():
    namespace: dict = {}
    exec(compile(derive_stub(SOLUTION, 9), "stub.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="^Exercise 9: return x doubled. Run"):
        namespace["double"](2)


def test_project_root_is_found_from_a_subfolder(tmp_path, monkeypatch):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "manifest.toml").write_text("")
    (tmp_path / "exercises" / "deep").mkdir()
    monkeypatch.chdir(tmp_path / "exercises" / "deep")
    assert exercises.project_root() == tmp_path


def test_no_project_root_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExerciseError, match=r"No exercises here: exercises/manifest.toml was not"):
        exercises.project_root()


def test_reset_keeps_the_students_version_as_a_backup(tmp_path, monkeypatch):
    solution_dir = tmp_path / "solutions"
    solution_dir.mkdir()
    (solution_dir / "ex09_double.py").write_text(SOLUTION)
    monkeypatch.setattr(exercises, "SOLUTIONS", solution_dir)
    exercise = exercises.Exercise(
        9, "double", "Doubling", tmp_path / "ex09_double.py", tmp_path / "t.py", ""
    )
    exercise.file.write_text("my work\n")
    now = datetime(2026, 1, 2, 3, 4, 5)
    first = exercises.reset(exercise, now=now)
    assert first == tmp_path / "ex09_double.backup-20260102-030405.py.txt"
    assert first.read_text() == "my work\n"
    assert exercise.file.read_text() == derive_stub(SOLUTION, 9)
    assert exercises.reset(exercise, now=now) is None  # already the stub: nothing to keep
    exercise.file.write_text("second try\n")
    second = exercises.reset(exercise, now=now)
    assert second.name == "ex09_double.backup-20260102-030405-2.py.txt"
    assert first.read_text() == "my work\n" and second.read_text() == "second try\n"


def test_polling_is_chosen_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_LAB_WATCH_POLLING", "1")
    assert exercises.polling_reason(tmp_path) == "MNIST_LAB_WATCH_POLLING is set"
    monkeypatch.delenv("MNIST_LAB_WATCH_POLLING")
    assert exercises.polling_reason(Path("/")) in (
        None,
        *[reason for reason in [exercises.polling_reason(Path("/"))] if reason],
    )


@pytest.mark.parametrize("polling", [False, True], ids=["events", "polling"])
def test_wait_for_change_returns_the_saved_python_file(tmp_path, polling):
    import threading
    import time

    def save_later():
        time.sleep(0.6)
        (tmp_path / "notes.txt").write_text("ignored: not Python")
        (tmp_path / "ex02_normalize.py").write_text("x = 1\n")

    threading.Thread(target=save_later, daemon=True).start()
    started = time.perf_counter()
    changed = exercises.wait_for_change(tmp_path, polling=polling)
    assert changed == {tmp_path / "ex02_normalize.py"}
    assert time.perf_counter() - started < 10


# --- failures in plain words -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (  # pytest indents the message's further lines and adds its own "assert ..." lines
            "AssertionError: expected\n  [[1 0]\n   [0 1]]\n  got\n  [[0 1]\n   [1 0]]\n"
            "assert False",
            "expected\n[[1 0]\n [0 1]]\ngot\n[[0 1]\n [1 0]]",
        ),
        ("AssertionError: first\n  \n  third\nassert False", "first\n\nthird"),
        (
            "AssertionError: x should be 4\n  but it is 3\nassert 3 == 4\n"
            "Failing test case: test_h(\n    x=3,\n)",
            "x should be 4\nbut it is 3",
        ),
        ("Failed: one line\nsecond line", "one line\nsecond line"),
        (
            "assert [1, 2] == [1, 3]\n  \n  At index 1 diff: 2 != 3\n  Use -v to get more diff",
            "[1, 2] == [1, 3]\n\nAt index 1 diff: 2 != 3",
        ),
        (
            'failed on setup with "NotImplementedError: Exercise 8: register it. Run x"',
            "NotImplementedError: Exercise 8: register it. Run x",
        ),
        ("", "the test failed without a message"),
    ],
    ids=["multi-line", "blank-line", "hypothesis", "pytest-fail", "bare-assert", "setup", "empty"],
)
def test_a_failure_keeps_its_whole_message(raw, plain):
    assert exercises._plain(raw) == plain


def fake_exercise(tmp_path: Path, tests: str, hints=()) -> exercises.Exercise:
    """Exercise 9 of a made-up course in `tmp_path`: its file, and tests of it."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ex09.py").write_text(textwrap.dedent(tests))
    (tmp_path / "ex09_double.py").write_text("def double(x):\n    return 2 * x\n")
    file, tests_file = tmp_path / "ex09_double.py", tmp_path / "tests" / "test_ex09.py"
    return exercises.Exercise(9, "double", "Doubling", file, tests_file, "", tuple(hints))


def test_a_check_keeps_pytests_output_and_what_passing_tests_report(tmp_path):
    exercise = fake_exercise(
        tmp_path,
        """\
        import importlib.util, os, pathlib

        def double():
            path = pathlib.Path(os.environ["MNIST_LAB_EXERCISES_DIR"]) / "ex09_double.py"
            spec = importlib.util.spec_from_file_location("ex09", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.double

        def test_double_reports(record_property):
            record_property("note", f"double(21) is {double()(21)}")

        def test_double_of_a_list():
            print("printed by the test")
            assert double()([1]) == [1, 1], "double([1]) should be [1, 1]\\nsee the page"
            assert False, "double([1]) repeats the list\\nso this test\\nfails on purpose"
        """,
    )
    result = exercises.run_tests(exercise, tmp_path)
    assert (result.passed, result.total) == (False, 2)
    assert result.notes == ("double(21) is 42",)
    (failure,) = result.failures
    assert failure.message == "double([1]) repeats the list\nso this test\nfails on purpose"
    assert "printed by the test" in result.output and "1 failed, 1 passed" in result.output

    only = exercises.run_tests(exercise, tmp_path, only=["test_double_reports"])
    assert (only.passed, only.total, only.notes) == (True, 1, ("double(21) is 42",))


# --- hints keep to the ladder ------------------------------------------------------------------

LADDER = (
    exercises.Hint("a question", ("test_range", "test_axis")),
    exercises.Hint("about the range", ("test_range",)),
    exercises.Hint("about the axis", ("test_axis",)),
)


def failed(*tests: str, shown: int = 0, hints=LADDER) -> exercises.CheckResult:
    exercise = exercises.Exercise(2, "n", "N", Path("f.py"), Path("t.py"), "", hints)
    failures = tuple(exercises.Failure(test, "message") for test in tests)
    return exercises.CheckResult(exercise, False, failures, 5, hints_shown=shown)


@pytest.mark.parametrize(
    ("tests", "shown", "expected"),
    [
        (["test_axis[flat]", "test_range"], 3, "about the axis"),  # all seen: the one meant for it
        (["test_range"], 3, "about the range"),
        (["test_axis"], 0, "a question"),  # none seen: the first, whichever test fails
        (["test_axis"], 1, "a question"),  # one seen: never hint 3 of 3
        (["test_range"], 1, "about the range"),  # the next one, meant for this test
        (["test_other"], 3, "a question"),  # no hint for it: the opening question
    ],
)
def test_the_hint_beside_a_failure_never_skips_ahead(tests, shown, expected):
    assert exercises.hint_for(failed(*tests, shown=shown)).text == expected


def test_a_hint_without_tests_helps_with_any_failure():
    hints = (exercises.Hint("first"), exercises.Hint("about the range", ("test_range",)))
    hints += (exercises.Hint("general, later"),)
    assert exercises.hint_for(failed("test_other", shown=2, hints=hints)).text == "general, later"
    assert exercises.hint_for(failed("test_range", shown=1, hints=hints)).text == "about the range"


def test_a_check_knows_how_many_hints_were_shown(tmp_path):
    exercise = fake_exercise(
        tmp_path,
        "def test_fails():\n    assert False, 'no'\n",
        hints=[exercises.Hint("one"), exercises.Hint("two", ("test_fails",))],
    )
    assert exercises.check(exercise, tmp_path).hints_shown == 0
    assert exercises.hint_for(exercises.check(exercise, tmp_path)).text == "one"
    assert exercises.next_hint(exercise, tmp_path) == (1, exercise.hints[0])
    result = exercises.check(exercise, tmp_path)
    assert result.hints_shown == 1 and exercises.hint_for(result).text == "two"
