"""The exercise runner: stubs derived from solutions, the catalog, checks, hints, resets."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from exercise_runs import Drafts

from mnist_lab.course import exercises
from mnist_lab.course.exercises import (
    ExerciseError,
    catalog,
    checking,
    derive_stub,
    restoring,
    stubs,
)

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
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


BUGGY = textwrap.dedent(
    """\
    def train(images):
        # SOLUTION
        images = images / 255
        # BUGGY
        images = images / 255 / 255
        # END SOLUTION
        return images
    """
)


def test_derive_stub_of_a_debugging_exercise_shows_the_broken_code_unmarked():
    assert derive_stub(BUGGY, 15) == (
        "def train(images):\n    images = images / 255 / 255\n    return images\n"
    )


def test_the_solution_of_a_debugging_exercise_shows_the_fix_unmarked(tmp_path, monkeypatch):
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    (solutions / "ex15_debug.py").write_text(BUGGY)
    monkeypatch.setattr(catalog, "SOLUTIONS", solutions)
    monkeypatch.setattr(restoring, "state", lambda *args: exercises.DONE)
    exercise = exercises.Exercise(15, "debug", "Debug", tmp_path / "ex15_debug.py", tmp_path, "")
    assert exercises.solution(exercise, tmp_path) == (
        "def train(images):\n    images = images / 255\n    return images\n"
    )


def write_manifest(root: Path, text: str) -> None:
    (root / "exercises").mkdir(exist_ok=True)
    (root / "exercises" / "manifest.toml").write_text(textwrap.dedent(text))


ENTRY = """
    [[exercise]]
    number = {number}
    name = "e{number}"
    title = "E{number}"
    file = "ex0{number}_e.py"
    tests = "tests/test_ex0{number}_e.py"
    {track}
"""


def test_catalog_puts_each_exercise_in_its_track_and_the_first_by_default(tmp_path):
    write_manifest(
        tmp_path,
        """
        [[track]]
        name = "one"
        title = "Track one"
        summary = "The first."

        [[track]]
        name = "two"
        title = "Track two"
        """
        + ENTRY.format(number=1, track="")
        + ENTRY.format(number=2, track='track = "two"'),
    )
    catalog = exercises.load_catalog(tmp_path)
    assert [(e.number, e.track.name, e.track.title) for e in catalog] == [
        (1, "one", "Track one"),
        (2, "two", "Track two"),
    ]
    assert catalog[0].track.summary == "The first."
    grouped = exercises.tracks(catalog)
    assert [(track.name, [e.number for e in members]) for track, members in grouped] == [
        ("one", [1]),
        ("two", [2]),
    ]


def test_catalog_without_tracks_is_one_track(tmp_path):
    write_manifest(tmp_path, ENTRY.format(number=1, track=""))
    (exercise,) = exercises.load_catalog(tmp_path)
    assert exercise.track.title == "Exercises"


def test_catalog_names_an_unknown_track_and_the_known_ones(tmp_path):
    write_manifest(
        tmp_path,
        '[[track]]\nname = "one"\n' + ENTRY.format(number=1, track='track = "tow"'),
    )
    with pytest.raises(ExerciseError) as error:
        exercises.load_catalog(tmp_path)
    assert (
        "exercise 1 names the track 'tow', which no [[track]] entry defines (they are 'one')"
        in (str(error.value))
    )


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
    monkeypatch.setattr(catalog, "SOLUTIONS", solution_dir)
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


def test_a_reset_never_overwrites_a_backup_made_between_its_look_and_its_write(
    tmp_path, monkeypatch
):
    """Two resets in the same second (two terminals): the backup's name is claimed by an
    exclusive create, so one made by the other reset after this one looked is kept."""
    solution_dir = tmp_path / "solutions"
    solution_dir.mkdir()
    (solution_dir / "ex09_double.py").write_text(SOLUTION)
    monkeypatch.setattr(catalog, "SOLUTIONS", solution_dir)
    exercise = exercises.Exercise(
        9, "double", "Doubling", tmp_path / "ex09_double.py", tmp_path / "t.py", ""
    )
    exercise.file.write_text("my work\n")
    other = tmp_path / "ex09_double.backup-20260102-030405.py.txt"
    other.write_text("the other reset's backup\n")
    real_exists = Path.exists

    def looked_too_early(path, *args, **kwargs):  # as if `other` did not exist yet
        return False if ".backup-" in path.name else real_exists(path, *args, **kwargs)

    monkeypatch.setattr(Path, "exists", looked_too_early)
    backup = exercises.reset(exercise, now=datetime(2026, 1, 2, 3, 4, 5))
    assert backup.name == "ex09_double.backup-20260102-030405-2.py.txt"
    assert (other.read_text(), backup.read_text()) == ("the other reset's backup\n", "my work\n")


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
        (
            "NotImplementedError: Exercise 11: write it. Run x\nFailing test case: test_h(\n"
            "    exercise=<module 'ex11'>,\n)",
            "NotImplementedError: Exercise 11: write it. Run x",
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
    ids=[
        "multi-line",
        "blank-line",
        "hypothesis",
        "hypothesis-raise",
        "pytest-fail",
        "bare-assert",
        "setup",
        "empty",
    ],
)
def test_a_failure_keeps_its_whole_message(raw, plain):
    assert exercises.plain_message(raw) == plain


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

        def test_double_explains_at_length():
            assert double()(0) == 1, "start " + "word " * 150 + "end\\nlast line"
        """,
    )
    result = exercises.run_tests(exercise, tmp_path)
    assert (result.passed, result.total) == (False, 3)
    assert result.notes == ("double(21) is 42",)
    failure, long = result.failures
    assert failure.message == "double([1]) repeats the list\nso this test\nfails on purpose"
    # pytest cuts a message of 500 characters in its report: the check reads it whole.
    assert long.message == "start " + "word " * 150 + "end\nlast line"
    assert "printed by the test" in result.output and "2 failed, 1 passed" in result.output

    only = exercises.run_tests(exercise, tmp_path, only=["test_double_reports"])
    assert (only.passed, only.total, only.notes) == (True, 1, ("double(21) is 42",))


def test_a_check_runs_the_one_pytest_command_line(tmp_path, monkeypatch):
    report, rootdir = tmp_path / "report.xml", tmp_path / "tests"
    assert checking.pytest_command(["tests/test_ex09.py"], report, rootdir) == [
        sys.executable, "-m", "pytest", "tests/test_ex09.py", "-q", "-p", "no:cacheprovider",
        f"--junitxml={report}", "-o", "junit_family=xunit1", "--rootdir", str(rootdir),
    ]  # fmt: skip
    exercise = fake_exercise(tmp_path, "def test_x():\n    pass\n")
    ran = []

    def run(command, **kwargs):
        ran.append(command)
        return subprocess.CompletedProcess(command, 4, "", "ERROR: not run")

    monkeypatch.setattr(checking.subprocess, "run", run)
    result = exercises.run_tests(exercise, tmp_path, only=["test_x"])
    (command,) = ran
    report = Path(next(part for part in command if part.startswith("--junitxml=")).split("=", 1)[1])
    assert command == checking.pytest_command(
        [f"{exercise.tests}::test_x"], report, exercise.tests.parent
    )
    assert result.failures == (exercises.Failure("(all)", "ERROR: not run"),)


# The hint ladder is tested in tests/test_exercises_hints.py.


# --- the catalog's hints name real tests -------------------------------------------------------


@pytest.mark.parametrize("exercise", CATALOG, ids=lambda e: e.file.stem)
def test_every_test_a_hint_names_exists(exercise):
    tree = ast.parse(exercise.tests.read_text())
    tests = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    for number, hint in enumerate(exercise.hints, start=1):
        unknown = sorted(set(hint.tests) - tests)
        assert not unknown, f"hint {number} of exercise {exercise.number} names {unknown}"
    helped = {test for hint in exercise.hints for test in hint.tests}
    unhelped = sorted(name for name in tests if name.startswith("test_") and name not in helped)
    assert not unhelped, f"no hint of exercise {exercise.number} helps with {unhelped}"


# --- shortcuts that must fail --------------------------------------------------------------------


def solution_with(number: int, function: str, body: str) -> str:
    """Exercise `number`'s solution with the written part of `function` replaced by `body`."""
    text = exercises.find(CATALOG, number).solution.read_text()
    block = stubs._SOLUTION_BLOCK.search(text, text.index(f"def {function}("))
    body = textwrap.indent(textwrap.dedent(body), block["indent"])
    return text[: block.start()] + body + text[block.end() :]


def tried(tmp_path: Path, number: int, text: str, only=()) -> exercises.CheckResult:
    """The check of exercise `number` on a file holding `text`."""
    exercise = exercises.find(CATALOG, number)
    (tmp_path / exercise.file.name).write_text(text)
    return exercises.run_tests(exercise, tmp_path, only=only)


def messages(result: exercises.CheckResult) -> dict[str, str]:
    return {failure.test: failure.message for failure in result.failures}


HARD_CODED = """\
    return {
        "count": 10000,
        "image_shape": (28, 28),
        "dtype": "uint8",
        "pixel_range": (0, 255),
        "per_class": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    }
"""
DESCRIBE = [
    "test_describe_summarizes_the_test_split",
    "test_describe_summarizes_a_random_part_of_the_training_set",
    "test_describe_summarizes_made_up_images",
]


def test_describe_returning_the_course_pages_dict_fails():
    told = DRAFTS.told("ex1-the-pages-dict")
    assert sorted(told) == sorted(DESCRIBE[1:])  # right for the test split alone
    assert told[DESCRIBE[2]].startswith(
        "for 6 made-up images of 2x4 pixels from 7 to 200, describe(...)['count'] should be 6, "
        "but it is 10000: compute each fact from the arrays describe is given"
    )


WRAPPED_ONE_HOT = """\
    from mnist_lab.data import preprocess

    return preprocess.one_hot(labels, num_classes)
"""
ASKS_3 = "exercise 3 asks for your own one-hot encoding and stratified split"


def line_of(text: str, code: str) -> int:
    """The number of the line of `text` that holds `code`."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if code in line)


HANDED_BACK = "from mnist_lab.data.preprocess import one_hot, stratified_split  # noqa: F401\n"


def test_exercise_3_handing_back_the_librarys_functions_fails():
    assert DRAFTS.told("ex3-the-librarys-functions") == {
        "test_one_hot_and_the_split_are_your_own_code": (
            f"{ASKS_3}: mnist_lab.preprocess.one_hot was called: one_hot in ex03_labels.py is "
            "that very function; write your own with a def"
        )
    }


def test_exercise_3_wrapping_the_librarys_one_hot_fails_every_test_that_calls_it(tmp_path):
    """The rule holds in every test, not only in the one named for it."""
    text = solution_with(3, "one_hot", WRAPPED_ONE_HOT)
    line = line_of(text, "return preprocess.one_hot(labels, num_classes)")
    result = tried(tmp_path, 3, text)
    told = messages(result)
    assert "test_one_hot_and_the_split_are_your_own_code" in told
    assert set(told.values()) == {
        f"{ASKS_3}: mnist_lab.preprocess.one_hot was called (ex03_labels.py, line {line})"
    }
    assert {test for test in told if test.startswith("test_one_hot")} == set(told)
    assert result.total - len(told) >= 5  # the split's own tests still pass


def test_exercise_4_returning_the_registrys_reference_fails(tmp_path):
    body = 'from mnist_lab import create_model\n\nreturn create_model("reference")\n'
    text = solution_with(4, "build_reference", body)
    line = line_of(text, 'return create_model("reference")')
    result = tried(tmp_path, 4, text)
    said = (
        "exercise 4 asks for your own reference CNN, built from layers: "
        f"mnist_lab.registry.create_model was called (ex04_reference_cnn.py, line {line})"
    )
    told = messages(result)
    assert told["test_reference_is_your_own_code"] == said
    assert set(told.values()) == {said}  # every test that builds the reference says it


def librarys_confusion_matrix() -> str:
    """Exercise 6's solution with confusion_matrix imported from the library."""
    text = exercises.find(CATALOG, 6).solution.read_text()
    start = text.index("def confusion_matrix(")
    end = text.index("# END SOLUTION\n", start) + len("# END SOLUTION\n")
    return text[:start] + "from mnist_lab.evaluation import confusion_matrix\n" + text[end:]


def test_exercise_6_importing_the_librarys_confusion_matrix_fails():
    assert DRAFTS.told("ex6-the-librarys-confusion-matrix") == {
        "test_the_four_functions_are_your_own_code": (
            "exercise 6 asks for your own predictions, accuracy and confusion matrix: "
            "mnist_lab.evaluation.confusion_matrix was called: confusion_matrix in "
            "ex06_evaluate.py is that very function; write your own with a def"
        )
    }


FIXED_FIT = """\
    from mnist_lab.data.preprocess import stratified_split

    digits = np.argmax(y, axis=1)
    train_idx, validation_idx = stratified_split(digits, validation_fraction, seed)
    return model.fit(
        x[train_idx], y[train_idx], validation_data=(x[validation_idx], y[validation_idx]),
        epochs=3, batch_size=32, verbose=0,
    )
"""
EPOCHS_TEST = "test_train_uses_the_epochs_and_batch_size_asked"
SPLIT_TEST = "test_train_holds_out_a_stratified_split"
VALIDATION_SPLIT = (
    "return model.fit(x, y, epochs=epochs, batch_size=batch_size, validation_split=0.1, "
    "verbose=0)\n"
)


def test_exercise_5_ignoring_epochs_and_batch_size_fails():
    test = EPOCHS_TEST
    assert DRAFTS.told("ex5-fixed-epochs-and-batch-size") == {
        f"{test}[1-50]": (
            "train(..., epochs=1, batch_size=50) should train 1 epoch of 11 steps (540 "
            "training images in batches of 50), but the History shows 3 epochs of 17 steps: "
            "pass train's epochs and batch_size on to model.fit"
        ),
        f"{test}[2-300]": (
            "train(..., epochs=2, batch_size=300) should train 2 epochs of 2 steps (540 "
            "training images in batches of 300), but the History shows 3 epochs of 17 steps: "
            "pass train's epochs and batch_size on to model.fit"
        ),
    }


def test_exercise_5_with_keras_validation_split_fails():
    assert DRAFTS.told("ex5-keras-validation-split")[SPLIT_TEST].startswith(
        "train passed validation_split=0.1 to fit: Keras then holds out the last 10% of the "
        "images as they come, here 900..999, all of them 9s."
    )


def zoo_model() -> str:
    """Exercise 8's solution whose my_model hands back the zoo's "fast"."""
    text = exercises.find(CATALOG, 8).solution.read_text()
    start = text.index("def my_model()", text.index("# SOLUTION"))
    end = text.index("# END SOLUTION\n", start)
    zoo = 'def my_model() -> keras.Model:\n    return create_model("fast")\n'
    text = text[:start] + zoo + text[end:]
    return text.replace(
        "from mnist_lab import register_model", "from mnist_lab import create_model, register_model"
    )


def test_exercise_8_handing_back_a_zoo_model_fails():
    text = zoo_model()
    assert DRAFTS.told("ex8-a-zoo-model") == {
        "test_my_model_is_your_own_design": (
            "exercise 8 asks for a model of your own design: mnist_lab.registry.create_model "
            f"was called (ex08_my_model.py, line {line_of(text, 'return create_model(')})"
        )
    }


# Shortcuts whose tests are named: drafts of different exercises share a pytest process, as a
# student's exercises/ holds one file of each (tests/exercise_runs.py), so 6 runs are 2. Each
# draft: (exercise, its file's text, made when checked, the tests run on it).
DRAFTS = Drafts(
    {
        "ex1-the-pages-dict": (1, lambda: solution_with(1, "describe", HARD_CODED), DESCRIBE),
        "ex3-the-librarys-functions": (
            3,
            lambda: HANDED_BACK,
            ["test_one_hot_and_the_split_are_your_own_code"],
        ),
        "ex6-the-librarys-confusion-matrix": (
            6,
            librarys_confusion_matrix,
            ["test_the_four_functions_are_your_own_code"],
        ),
        "ex5-fixed-epochs-and-batch-size": (
            5,
            lambda: solution_with(5, "train", FIXED_FIT),
            [EPOCHS_TEST],
        ),
        "ex5-keras-validation-split": (
            5,
            lambda: solution_with(5, "train", VALIDATION_SPLIT),
            [SPLIT_TEST],
        ),
        "ex8-a-zoo-model": (8, zoo_model, ["test_my_model_is_your_own_design"]),
    }
)
