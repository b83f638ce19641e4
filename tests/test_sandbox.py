"""The grader's sandbox: one exercise's tests against one student's file, in a fresh process.

Every student's file here is written into tmp_path from the shipped solutions and stubs of the
fast numpy exercises (1 to 3), or by hand for the mistakes a grader must survive: a syntax error,
a loop, a memory blow-up, a file that does not import.
"""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from mnist_lab.course import exercises
from mnist_lab.course.exercises import checking
from mnist_lab.data import data_dir
from mnist_lab.scale import sandbox
from mnist_lab.scale.sandbox import run_exercise_tests

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
EX1, EX2, EX3 = (exercises.find(CATALOG, number) for number in (1, 2, 3))


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path, monkeypatch):
    """The sandbox's temporary folders go under tmp_path/temp, so a test can see them removed."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield temp
    assert list(temp.iterdir()) == [], "the sandbox left temporary files behind"


def submit(tmp_path: Path, exercise: exercises.Exercise, text: str) -> Path:
    """A student's file for `exercise`, alone in a submission folder."""
    path = tmp_path / "student" / exercise.file.name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def group_of(pid_file: Path) -> list[psutil.Process]:
    """The processes still alive in the process group the student's file wrote down."""
    group = json.loads(pid_file.read_text())["group"]
    alive = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except (psutil.Error, OSError):
            continue
    return alive


@pytest.mark.parametrize("exercise", [EX1, EX2, EX3], ids=lambda exercise: exercise.file.stem)
def test_a_solution_scores_every_test_and_its_file_is_untouched(exercise, tmp_path):
    path = submit(tmp_path, exercise, exercises.solution_text(exercise))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    outcome = run_exercise_tests(exercise, path)
    assert (outcome.error, outcome.failures) == (None, ())
    assert outcome.passed == outcome.total > 5
    assert outcome.score == 1.0
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert list(path.parent.iterdir()) == [path]


def test_a_stub_scores_zero_with_its_failures_in_plain_words(tmp_path):
    outcome = run_exercise_tests(EX2, submit(tmp_path, EX2, exercises.stub_text(EX2)))
    assert outcome.error is None
    assert (outcome.passed, outcome.score) == (0, 0.0)
    assert len(outcome.failures) == outcome.total > 5
    assert outcome.failures[0] == exercises.Failure(
        "test_normalize_returns_float32",
        "NotImplementedError: Exercise 2: check the images, turn them into float32 divided by "
        "255, and add a channel axis at the end. Run 'mnist-lab exercises hint 2' for a hint.",
    )


def test_one_broken_function_gives_partial_credit(tmp_path):
    broken = exercises.solution_text(EX3).replace(
        "return train_idx, validation_idx", "return validation_idx, train_idx"
    )
    outcome = run_exercise_tests(EX3, submit(tmp_path, EX3, broken))
    assert outcome.error is None
    assert (outcome.passed, outcome.total) == (11, 13)
    assert outcome.score == pytest.approx(11 / 13)
    assert [failure.test for failure in outcome.failures] == [
        "test_split_keeps_each_digits_share",
        "test_split_of_mnist_holds_out_a_tenth_of_each_digit",
    ]
    assert outcome.failures[1].message == (
        "digit 0 has 5923 images, so about 592.3 of them (fraction 0.1) should go to "
        "validation, but 5331 did: split each digit separately"
    )


def test_a_syntax_error_is_reported_without_starting_pytest(tmp_path, monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError("pytest was started for a file that does not parse")

    monkeypatch.setattr(sandbox.subprocess, "Popen", no_process)
    path = submit(tmp_path, EX2, "import numpy as np\n\n\ndef normalize(images:\n    pass\n")
    outcome = run_exercise_tests(EX2, path)
    assert outcome.error == "SyntaxError on line 4: '(' was never closed"
    assert (outcome.passed, outcome.total, outcome.score) == (0, 0, 0.0)
    assert outcome.seconds < 0.5
    indented = submit(tmp_path, EX2, "def normalize(images):\nreturn images\n")
    assert run_exercise_tests(EX2, indented).error == (
        "SyntaxError on line 2: expected an indented block after function definition on line 1"
    )


def test_the_tests_run_by_the_checks_pytest_command_with_the_report_outside_the_sandbox(
    tmp_path, monkeypatch
):
    started = []

    def no_process(command, **kwargs):
        started.append((command, kwargs["cwd"]))
        raise ChildProcessError("stopped before pytest started")

    monkeypatch.setattr(sandbox.subprocess, "Popen", no_process)
    with pytest.raises(ChildProcessError):
        run_exercise_tests(EX2, submit(tmp_path, EX2, exercises.solution_text(EX2)))
    ((command, cwd),) = started
    report = Path(next(part for part in command if part.startswith("--junitxml=")).split("=", 1)[1])
    assert command == checking.pytest_command([f"tests/{EX2.tests.name}"], report, cwd / "tests")
    assert cwd not in report.parents  # the student's tests cannot write the grader's report


def test_a_missing_file_is_reported(tmp_path):
    expected = "no file ex02_normalize.py in the submission"
    assert run_exercise_tests(EX2, None).error == expected
    assert run_exercise_tests(EX2, tmp_path / "ex02_normalize.py").error == expected


def test_a_file_that_does_not_import_says_why_in_one_line(tmp_path):
    outcome = run_exercise_tests(EX2, submit(tmp_path, EX2, "IMAGE = np.zeros((28, 28))\n"))
    assert outcome.error == "the tests could not run: NameError: name 'np' is not defined"
    assert (outcome.passed, outcome.score) == (0, 0.0)


def test_a_process_that_ends_without_a_report_is_reported(tmp_path):
    outcome = run_exercise_tests(EX2, submit(tmp_path, EX2, "import os\nos._exit(3)\n"))
    assert outcome.error == (
        "the tests could not run: pytest ended with exit code 3, printing nothing and writing "
        "no report"
    )


LOOPS = {
    "at import": """
        import json, os, subprocess
        child = subprocess.Popen(["sleep", "600"])  # a process of its own, in the same group
        left = subprocess.Popen(["sleep", "600"], start_new_session=True)  # out of the group
        pids = {{"group": os.getpgid(0), "children": [child.pid, left.pid]}}
        json.dump(pids, open({pids!r}, "w"))
        while True:
            pass
    """,
    "in a function": """
        import json, os
        json.dump({{"group": os.getpgid(0)}}, open({pids!r}, "w"))

        def check_images(images):
            while True:
                pass

        def normalize(images):
            check_images(images)
    """,
}


@pytest.mark.parametrize("where", LOOPS)
def test_a_loop_times_out_and_its_whole_process_group_is_killed(where, tmp_path):
    pids = tmp_path / "pids.json"
    path = submit(tmp_path, EX2, LOOPS[where].format(pids=str(pids)))
    start = time.monotonic()
    outcome = run_exercise_tests(EX2, path, timeout=3)
    assert outcome.error == "timed out after 3 s"
    assert (outcome.passed, outcome.total, outcome.score) == (0, 0, 0.0)
    assert 3 <= time.monotonic() - start < 8
    assert group_of(pids) == []
    for child in json.loads(pids.read_text()).get("children", []):
        assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"


def test_a_memory_blow_up_is_stopped(tmp_path):
    text = "chunks = []\nwhile True:\n    chunks.append(bytearray(20_000_000))\n"
    outcome = run_exercise_tests(EX2, submit(tmp_path, EX2, text), memory_mb=300, timeout=60)
    assert outcome.error == "used more than 300 MB of memory"
    assert outcome.seconds < 30
    many = run_exercise_tests(EX2, submit(tmp_path, EX2, text), memory_mb=2048, timeout=60)
    assert many.error == "used more than 2,048 MB of memory"


def test_the_graders_environment_does_not_reach_the_students_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    seen = tmp_path / "seen.json"
    dump = f"import json, os\njson.dump(dict(os.environ), open({str(seen)!r}, 'w'))\n"
    path = submit(tmp_path, EX2, exercises.solution_text(EX2) + dump)
    data = data_dir().resolve()  # the tests read MNIST from the grader's cache
    outcome = run_exercise_tests(EX2, path, data_dir=data, threads=2)
    assert outcome.score == 1.0
    env = json.loads(seen.read_text())
    assert "SECRET_TOKEN" not in env
    # Only the whitelist passes; the sandbox sets its own variables, pytest its PYTEST_*.
    allowed = {*sandbox.PASSED_THROUGH, *sandbox.sandbox_env(tmp_path, data, 2)}
    leaked = {
        name for name, value in os.environ.items()
        if env.get(name) == value and name not in allowed and not name.startswith("PYTEST_")
    }  # fmt: skip
    assert leaked == set()
    assert env["HOME"] != os.environ.get("HOME") and env["HOME"] != str(Path.home())
    assert env["MNIST_LAB_DATA"] == str(data)
    assert env["MNIST_LAB_EXERCISES_DIR"] == env["MNIST_LAB_PLUGINS"]
    assert str(tmp_path / "student") not in json.dumps(env)
    assert (env["CI"], env["TF_NUM_INTRAOP_THREADS"], env["TF_NUM_INTEROP_THREADS"]) == (
        "1", "2", "2",
    )  # fmt: skip


def test_the_students_other_files_are_out_of_reach(tmp_path):
    seen = tmp_path / "seen.json"
    text = f"""
        import json, os, pathlib
        here = pathlib.Path(__file__).resolve().parent
        json.dump(sorted(os.listdir(here)) + sorted(os.listdir(here.parent / "tests")),
                  open({str(seen)!r}, "w"))
    """
    path = submit(tmp_path, EX2, text)
    (path.parent / "ex03_labels.py").write_text("SECRET = 1\n")
    run_exercise_tests(EX2, path)
    assert json.loads(seen.read_text()) == [
        "ex02_normalize.py",
        "conftest.py",
        "test_ex02_normalize.py",
    ]


def test_a_hidden_test_file_runs_instead_of_the_public_one(tmp_path):
    hidden = tmp_path / "hidden" / EX2.tests.name
    hidden.parent.mkdir()
    hidden.write_text(
        textwrap.dedent(
            """
            import numpy as np

            EXERCISE = "ex02_normalize.py"


            def test_hidden_white_is_one(exercise):
                assert exercise.normalize(np.full((1, 28, 28), 255, np.uint8)).max() == 1.0


            def test_hidden_answer(exercise):
                assert exercise.ANSWER == 42, f"ANSWER is {exercise.ANSWER}, not 42"
            """
        )
    )
    path = submit(tmp_path, EX2, exercises.solution_text(EX2) + "\nANSWER = 41\n")
    outcome = run_exercise_tests(EX2, path, tests_file=hidden)
    assert (outcome.passed, outcome.total, outcome.error) == (1, 2, None)
    assert outcome.failures == (exercises.Failure("test_hidden_answer", "ANSWER is 41, not 42"),)


def test_a_hidden_test_file_that_does_not_collect_is_reported(tmp_path):
    hidden = tmp_path / "hidden" / EX2.tests.name
    hidden.parent.mkdir()
    hidden.write_text("import no_such_module\n\n\ndef test_x():\n    pass\n")
    path = submit(tmp_path, EX2, exercises.solution_text(EX2))
    outcome = run_exercise_tests(EX2, path, tests_file=hidden)
    assert outcome.error == (
        "the tests could not run: ModuleNotFoundError: No module named 'no_such_module'"
    )


def test_last_line_finds_the_exception_pytest_printed():
    output = "\nE   ImportError: cannot import name 'x'\n=== 1 error in 0.1s ===\n"
    assert sandbox.last_line(output) == "ImportError: cannot import name 'x'"
    assert sandbox.last_line("\n!!! Interrupted !!!\nsomething odd\n=====\n") == "something odd"
    assert sandbox.last_line("", 1) == (
        "pytest ended with exit code 1, printing nothing and writing no report"
    )
