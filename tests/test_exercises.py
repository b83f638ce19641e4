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


def test_the_hint_shown_is_the_one_for_the_first_failing_test():
    hints = (
        exercises.Hint("general question"),
        exercises.Hint("about the range", ("test_range",)),
        exercises.Hint("about the axis", ("test_axis",)),
    )
    exercise = exercises.Exercise(2, "n", "N", Path("f.py"), Path("t.py"), "", hints)

    def result(*tests: str) -> exercises.CheckResult:
        failures = tuple(exercises.Failure(test, "message") for test in tests)
        return exercises.CheckResult(exercise, False, failures, 5)

    assert exercises.hint_for(result("test_axis[flat]", "test_range")).text == "about the axis"
    assert exercises.hint_for(result("test_range")).text == "about the range"
    assert exercises.hint_for(result("test_other")).text == "general question"


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
