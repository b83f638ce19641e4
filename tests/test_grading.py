"""`mnist-lab grade` on a synthetic class built here: solutions, stubs, a loop, a syntax error,
a zip, a student who hard-codes the public tests' answers, and --resume.

Exercises 2 and 3 (numpy, seconds each) keep the class quick; every student's exercise still
runs in its own sandboxed pytest process, as in a real grading.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from mnist_lab.cli import app
from mnist_lab.core.errors import ConfigError
from mnist_lab.scale import grading

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "mnist_lab" / "course" / "solutions"
STUBS = ROOT / "exercises"
EX2, EX3, EX8 = "ex02_normalize.py", "ex03_labels.py", "ex08_my_model.py"
MODEL_LIMIT = 1000  # images the students' models train on: seconds, not minutes
TIMEOUT = 15  # seconds per exercise: the solutions need a few, on a busy machine more
LOOP = "while True:\n    pass\n"  # cy's exercise 2: it never ends
# cy's loop is stopped after LOOP_TIMEOUT instead: waiting out TIMEOUT on it cost the class 11 s
# of a burning core. Every run is still asked for TIMEOUT by `grade` (the `graded` fixture checks).
LOOP_TIMEOUT = 4

CHEAT = '''
def one_hot(labels, num_classes=NUM_CLASSES):
    """Hard-codes the public test's answer for num_classes=3."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError("label out of range")
    if num_classes == 3:
        return np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32)
    return np.eye(10, dtype=np.float32)[labels]
'''

HIDDEN = """
import numpy as np

EXERCISE = "ex03_labels.py"


def test_one_hot_with_three_classes_of_other_labels(exercise):
    out = np.asarray(exercise.one_hot(np.array([1, 1, 2]), num_classes=3))
    assert np.array_equal(out, np.eye(3, dtype=np.float32)[[1, 1, 2]]), (
        f"one_hot([1, 1, 2], num_classes=3) should be rows 1, 1, 2 of eye(3), got {out}"
    )


def test_one_hot_of_an_empty_batch(exercise):
    assert np.asarray(exercise.one_hot(np.array([], dtype=int))).shape == (0, 10)
"""


def cheating_labels() -> str:
    """The solution of exercise 3 with one_hot replaced by a hard-coding one."""
    text = (SOLUTIONS / EX3).read_text()
    start = text.index("def one_hot(")
    end = text.index("def stratified_split(")
    return text[:start] + CHEAT.strip() + "\n\n\n" + text[end:]


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """Five students and the instructor's hidden tests."""
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    files = {
        "ada": {EX2: (SOLUTIONS / EX2).read_text(), EX3: (SOLUTIONS / EX3).read_text()},
        "bob": {EX2: (STUBS / EX2).read_text(), EX3: (STUBS / EX3).read_text()},
        "cy": {EX2: LOOP, EX3: (SOLUTIONS / EX3).read_text()},
        "dee": {EX2: "def normalize(images:\n    return images\n", EX3: cheating_labels()},
        "gus": {EX2: (SOLUTIONS / EX2).read_text(), EX8: (SOLUTIONS / EX8).read_text()},
    }
    for student, texts in files.items():
        folder = subs / student / ("exercises" if student == "bob" else "")
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (folder / name).write_text(text)
    with zipfile.ZipFile(subs / "eve.zip", "w") as archive:  # ada's work, zipped in a folder
        for name, text in files["ada"].items():
            archive.writestr(f"eve/exercises/{name}", text)
    hidden = root / "hidden"
    hidden.mkdir()
    (hidden / "test_ex03_labels.py").write_text(HIDDEN)
    return subs, hidden


def digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def graded(classroom, tmp_path_factory):
    """The class graded one student after another, and the timeout each sandboxed run of tests
    was asked for by `grade` (before cy's loop got its shorter one)."""
    from mnist_lab.scale import sandbox

    subs, hidden = classroom
    before = digest(subs)
    out = tmp_path_factory.mktemp("grades") / "grades"
    events: list[dict] = []
    asked: list[float] = []
    run_exercise_tests = sandbox.run_exercise_tests

    def run(exercise, student_file, **options):
        asked.append(options["timeout"])
        if student_file is not None and student_file.read_text() == LOOP:
            options["timeout"] = LOOP_TIMEOUT
        return run_exercise_tests(exercise, student_file, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox, "run_exercise_tests", run)
        book = grading.grade(
            subs,
            out=out,
            exercises="2-3",
            tests=hidden,
            timeout=TIMEOUT,
            model_epochs=1,
            model_limit=MODEL_LIMIT,
            on_progress=events.append,
        )
    return book, out, before, events, asked


def test_the_gradebook_scores_each_student_and_exercise(graded):
    book, out, _, _, asked = graded
    # Six students, each with exercise 2's and 3's public tests and 3's hidden ones (a missing
    # file is asked for too), every run with the --timeout given to `grade`.
    assert asked == [TIMEOUT] * 18
    rows = {row["student"]: row for row in book.rows}
    assert list(rows) == ["ada", "bob", "cy", "dee", "eve", "gus"]
    score = {name: (row["ex02"], row["ex03"], row["ex03_hidden"]) for name, row in rows.items()}
    assert score["ada"] == (1.0, 1.0, 1.0)  # the solutions score 1 everywhere
    assert score["eve"] == score["ada"]  # a zip equals its folder
    assert score["bob"][:2] == (0.0, 0.0)  # bare stubs score 0
    assert score["cy"][:2] == (0.0, 1.0)  # the loop costs exercise 2 only
    assert rows["cy"]["notes"] == f"ex02: timed out after {LOOP_TIMEOUT} s"
    assert score["dee"][0] == 0.0 and rows["dee"]["notes"].startswith("ex02: SyntaxError on line 1")
    assert score["dee"][1] == 1.0 and score["dee"][2] == 0.5  # public all, hidden caught it
    assert rows["ada"]["total"] == 2.0 and rows["cy"]["total"] == 1.0
    assert score["gus"][:2] == (1.0, 0.0) and "ex03: no file" in rows["gus"]["notes"]
    # gus's exercise 8 registers a model: trained on seeds 0 and 1, judged on the mean of their
    # validation accuracies (the capstone's rule), the test scored once per seed.
    assert rows["gus"]["model"] == "my-model"
    assert 0.3 < rows["gus"]["model_val_accuracy"] <= 1 and rows["gus"]["model_test_accuracy"]
    gus = json.loads((out / "students" / "gus.json").read_text())["model"]
    assert gus["seeds"] == [0, 1] and len(gus["val_accuracies"]) == 2
    assert gus["val_accuracies"][0] != gus["val_accuracies"][1]  # two seeds, two runs
    assert rows["gus"]["model_val_accuracy"] == pytest.approx(sum(gus["val_accuracies"]) / 2)
    target = f"{grading.DEFAULT_MODEL_TARGET:.2%}"  # the capstone's threshold, by default
    each = ", ".join(f"{accuracy:.2%}" for accuracy in gus["val_accuracies"])
    assert (
        f"model misses the {target} validation target (mean of seeds 0 and 1: {each})"
        in (rows["gus"]["notes"])
    )
    assert rows["ada"]["model"] is None and "model" not in rows["ada"]["notes"]

    with (out / "gradebook.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["student", "ex02", "ex03", "ex02_hidden", "ex03_hidden"] + [
        "total",
        "model",
        "model_val_accuracy",
        "model_test_accuracy",
        "notes",
    ]
    assert [row["student"] for row in table] == ["ada", "bob", "cy", "dee", "eve", "gus"]
    board = (out / "leaderboard.md").read_text()
    assert re.search(
        r"\| 1 \| gus \| my-model \| [\d,]+ \| 1 \| \d+\.\d\d% \| \d+\.\d\d% \| missed \|", board
    )
    assert "test accuracy is measured once per model and ranks nothing" in board
    assert "trained by its recipe on seeds 0 and 1, ranked by the mean of their validation" in (
        " ".join(board.split())
    )
    assert table[3]["ex03_hidden"] == "0.5" and table[0]["ex02_hidden"] == ""


def test_gradebook_json_keeps_every_outcome_and_feedback_explains(graded):
    _, out, _, _, _ = graded
    book = json.loads((out / "gradebook.json").read_text())
    assert book["exercises"] == [2, 3]
    dee = next(s for s in book["students"] if s["student"] == "dee")
    hidden = dee["exercises"]["03"]["hidden"]
    assert (hidden["passed"], hidden["total"]) == (1, 2)
    assert hidden["failures"][0]["test"] == "test_one_hot_with_three_classes_of_other_labels"
    assert hidden["tests"] == {
        "test_one_hot_with_three_classes_of_other_labels": "failed",
        "test_one_hot_of_an_empty_batch": "passed",
    }
    bob = next(s for s in book["students"] if s["student"] == "bob")
    assert bob["exercises"]["02"]["public"]["passed"] == 0
    assert bob["exercises"]["02"]["public"]["total"] >= 10

    feedback = (out / "feedback" / "bob.md").read_text()
    assert feedback.startswith("# Feedback for bob\n\n## Exercise 2: ")
    assert re.search(r"Public tests: 0 of \d+ passed\.", feedback)
    assert "First failure, `test_" in feedback and "Hint: " in feedback
    dee_feedback = (out / "feedback" / "dee.md").read_text()
    assert "The tests could not be counted: SyntaxError on line 1" in dee_feedback
    assert "Public tests: " in dee_feedback and "hidden tests: 1 of 2 passed" in dee_feedback


def test_submissions_are_never_changed_and_progress_names_each_student(graded, classroom):
    _, _, before, events, _ = graded
    subs, _ = classroom
    assert digest(subs) == before
    done = [e for e in events if e["event"] == "task_done"]
    assert sorted(e["key"] for e in done) == ["ada", "bob", "cy", "dee", "eve", "gus"]
    cy = next(e for e in done if e["key"] == "cy")
    assert cy["summary"] == f"1 of 2 (ex02: timed out after {LOOP_TIMEOUT} s)"


def test_resume_grades_only_the_students_missing(graded, classroom):
    book, out, _, _, _ = graded
    subs, hidden = classroom
    again = out.parent / "again"
    shutil.copytree(out, again)
    (again / "students" / "ada.json").unlink()
    kept = (again / "students" / "cy.json").read_bytes()
    events: list[dict] = []
    resumed = grading.grade(
        subs,
        out=again,
        exercises="2-3",
        tests=hidden,
        timeout=TIMEOUT,
        model_epochs=1,
        model_limit=MODEL_LIMIT,
        resume=True,
        on_progress=events.append,
    )
    assert [e["key"] for e in events if e["event"] == "task_done"] == ["ada"]
    assert [row["total"] for row in resumed.rows] == [row["total"] for row in book.rows]
    assert (again / "students" / "cy.json").read_bytes() == kept  # graded before: kept as it was

    with pytest.raises(grading.GradingError, match="already holds a gradebook; add --resume"):
        grading.grade(subs, out=again, exercises="2-3", timeout=TIMEOUT)
    with pytest.raises(grading.GradingError, match=r"other options \(exercises differ\)"):
        grading.grade(
            subs,
            out=again,
            exercises="2",
            timeout=TIMEOUT,
            tests=hidden,
            model_epochs=1,
            model_limit=MODEL_LIMIT,
            resume=True,
        )


def test_a_local_cluster_of_two_grades_the_same(classroom, graded, tmp_path):
    """--workers 2: the students are graded two at a time in Dask worker processes, with the
    same results as one after another here."""
    subs, _ = classroom
    book, _, _, _, _ = graded
    events: list[dict] = []
    cluster = grading.grade(
        subs,
        out=tmp_path / "grades",
        exercises="3",
        timeout=TIMEOUT,
        model_epochs=0,
        workers=2,
        on_progress=events.append,
    )
    assert events[0]["executor"] == "dask-local" and events[0]["workers"] == 2
    workers = {e["worker"] for e in events if e["event"] == "task_done"}
    assert all(worker.startswith("tcp://127.0.0.1:") for worker in workers), workers
    assert [(row["student"], row["ex03"]) for row in cluster.rows] == [
        (row["student"], row["ex03"]) for row in book.rows
    ]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        (None, list(range(1, 28))),  # every exercise, in number order
        ("2", [2]),
        ("1,2,5-8", [1, 2, 5, 6, 7, 8]),
        ("3-3", [3]),
    ],
)
def test_exercise_lists(text, numbers):
    from mnist_lab.course.exercises import load_catalog

    assert grading.parse_exercises(text, load_catalog()) == numbers


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "The 'exercises' option must be numbers and ranges like 1,2,5-8. Got 'x' instead."),
        ("40", "The 'exercises' option names exercise 40, which does not exist; the exercises"),
    ],
)
def test_bad_exercise_lists(text, message):
    from mnist_lab.course.exercises import load_catalog

    with pytest.raises(ConfigError) as caught:
        grading.parse_exercises(text, load_catalog())
    assert str(caught.value).startswith(message)


def test_the_cli_refuses_bad_input_in_one_line(tmp_path):
    from typer.testing import CliRunner

    (tmp_path / "empty").mkdir()
    both = tmp_path / "both"
    (both / "ann").mkdir(parents=True)
    (both / "ann.zip").write_bytes(b"")
    cases = [
        (["nowhere"], f"{tmp_path / 'nowhere'} is not a folder of submissions"),
        (["empty"], f"{tmp_path / 'empty'} holds no submission"),
        (["both"], f"{both} holds two submissions of ann (ann and ann.zip); keep one of them."),
        (["empty", "--exercises", "0"], "The '--exercises' option names exercise 0"),
        (["empty", "--timeout", "0"], "The '--timeout' option must be a number of seconds > 0"),
        (["empty", "--memory", "5"], "The '--memory' option must be an int >= 100 (MB). Got 5"),
        (["empty", "--model-target", "97"], "The '--model-target' option must be a validation"),
        (["empty", "--model-epochs", "-1"], "The '--model-epochs' option must be an int >= 0."),
    ]
    for args, start in cases:
        where = [str(tmp_path / args[0]), *args[1:], "--out", str(tmp_path / "out")]
        result = CliRunner().invoke(app, ["grade", *where])
        assert result.exit_code == 1, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: {start}"), line
    assert not (tmp_path / "out").exists()


def test_the_sandbox_holds_the_own_code_rule(tmp_path):
    """The manifest travels into the sandbox beside the tests, so a student's file that hands
    back the library's functions fails there as in `mnist-lab exercises check`."""
    from mnist_lab.course import exercises
    from mnist_lab.scale.sandbox import run_exercise_tests

    exercise = exercises.find(exercises.load_catalog(ROOT), 2)
    student = tmp_path / EX2
    text = (SOLUTIONS / EX2).read_text()
    start = text.index("def normalize(")
    student.write_text(text[:start] + "from mnist_lab.preprocess import normalize  # noqa: E402\n")
    outcome = run_exercise_tests(exercise, student, timeout=60)
    told = {failure.test: failure.message for failure in outcome.failures}
    assert outcome.error is None and outcome.passed < outcome.total
    assert told["test_normalize_and_check_images_are_your_own_code"] == (
        "exercise 2 asks for your own normalization: mnist_lab.preprocess.normalize was "
        "called: normalize in ex02_normalize.py is that very function; write your own with a def"
    )


def test_grading_judges_models_by_the_capstones_rule_by_default():
    """`grade`'s defaults are exercise 8's rule, read from one place (mnist_lab.course.capstone):
    the recipe's epochs up to the budget, seeds 0 and 1, the mean against the threshold."""
    import inspect

    from mnist_lab.cli.grade import grade_command
    from mnist_lab.course import capstone

    assert grading.DEFAULT_MODEL_EPOCHS == capstone.MAX_EPOCHS
    assert grading.DEFAULT_MODEL_TARGET == capstone.MIN_MEAN_VALIDATION_ACCURACY
    assert grading.MODEL_SEEDS == capstone.SEEDS == (0, 1)
    defaults = inspect.signature(grading.grade).parameters
    assert defaults["model_epochs"].default == capstone.MAX_EPOCHS
    assert defaults["model_target"].default == capstone.MIN_MEAN_VALIDATION_ACCURACY
    options = inspect.signature(grade_command).parameters
    assert options["model_epochs"].default == capstone.MAX_EPOCHS
    assert options["model_target"].default == capstone.MIN_MEAN_VALIDATION_ACCURACY
    # The sandbox's hard stop leaves room for every seed's safety stop, and 10 minutes more.
    hard_stop = len(capstone.SEEDS) * capstone.SAFETY_MINUTES * 60 + 10 * 60
    assert hard_stop == grading.MODEL_TIMEOUT_S


def test_a_recipe_over_the_budget_is_not_trained(tmp_path):
    """A model whose recipe asks for more epochs than the capstone allows misses the rule with
    one plain line, and trains nothing, whatever --model-epochs says."""
    from mnist_lab.course import capstone
    from mnist_lab.scale.sandbox import train_student_model

    text = (SOLUTIONS / EX8).read_text()
    over = capstone.MAX_EPOCHS + 2
    assert "epochs=8," in text
    outcome = train_student_model(
        {EX8: text.replace("epochs=8,", f"epochs={over},").encode()},
        epochs=1,
        limit=MODEL_LIMIT,
        timeout=120,
    )
    assert outcome.model == "my-model" and outcome.val_accuracy is None
    assert outcome.error == (
        f"its recipe asks for {over} epochs, over the capstone's budget of "
        f"{capstone.MAX_EPOCHS}: not trained"
    )
