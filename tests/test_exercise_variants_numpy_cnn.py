"""Exercise 25's tests judge the student's own network, not our solution: the classic mistakes
fail, an unfinished earlier exercise is named, and the own-code rule reaches the earlier files.

Each draft is exercise 25's solution with one substitution (the summed instead of the mean loss,
the ReLU's backward pass forgotten, only the last layer updated, exercise 21 pasted in instead
of imported), run beside the solutions of the exercises it imports, with only the tests that
must catch it, in a fresh process (`exercises.run_tests`); each must fail with a message that
names the mistake. A folder whose exercise 21 is still the stub, or that lacks exercise 22, must
say which exercise to finish first. The grader's sandbox must carry the student's earlier files,
and only those. The runs are mostly Python's start-up (one imports TensorFlow): two at a time.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mnist_lab.course import exercises
from mnist_lab.course.exercises.own_code import NotOwnCode, Watch
from mnist_lab.scale.sandbox import run_exercise_tests

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
EX25 = exercises.find(CATALOG, 25)
USES = EX25.own_code.uses
WORKERS = 2  # the course's machine: 2 cores
EARLIER_TEST = "test_init_params_gives_he_normal_kernels_and_zero_biases"


@dataclass(frozen=True)
class Draft:
    """Exercise 25's solution with `changes` (old, new) made, beside the earlier exercises'
    solutions (`replaced`: number -> that file's text instead, None: no file), and what its
    check must say: for each test run, phrases its failure message must hold."""

    changes: tuple[tuple[str, str], ...]
    told: dict[str, tuple[str, ...]]
    replaced: tuple[tuple[int, str | None], ...] = ()

    def text(self) -> str:
        text = EX25.solution.read_text()
        for old, new in self.changes:
            assert text.count(old) == 1, f"exercise 25's solution no longer has {old!r}"
            text = text.replace(old, new)
        return text

    def write(self, folder: Path) -> None:
        (folder / EX25.file.name).write_text(self.text())
        replaced = dict(self.replaced)
        for number in USES:
            used = exercises.find(CATALOG, number)
            text = replaced.get(number, exercises.solution_text(used))
            if text is not None:
                (folder / used.file.name).write_text(text)


def _function_of_ex21() -> str:
    """Exercise 21's conv2d_backward, as a student would paste it into exercise 25."""
    text = exercises.solution_text(exercises.find(CATALOG, 21))
    return text[text.index("def conv2d_backward") :]


DRAFTS = {
    "summed-loss": Draft(
        (
            (
                "dlogits = softmax_cross_entropy_gradient(logits, labels).astype(np.float32)",
                "dlogits = (softmax_cross_entropy_gradient(logits, labels) * len(labels))"
                ".astype(np.float32)",
            ),
        ),
        {"test_the_loss_is_the_batch_mean": ("the loss must be the mean",)},
    ),
    "relu-backward-forgotten": Draft(
        (
            (
                'dhidden = relu_backward(dhidden_activated, cache["hidden"])',
                "dhidden = dhidden_activated",
            ),
        ),
        {
            "test_loss_and_gradients_match_tensorflow": ("the gradient of dense1_bias is off",),
            "test_your_earlier_exercises_do_the_work": ("your relu_backward 1 times, expected 2",),
        },
    ),
    "only-the-last-layer-updated": Draft(
        (
            ("    updated = {}\n", "    updated = dict(params)\n"),
            (
                "for name, weights in params.items():",
                "for name, weights in list(params.items())[-2:]:",
            ),
        ),
        {
            "test_adam_update_moves_every_weight_by_about_lr": ("conv_kernel did not move",),
            "test_your_earlier_exercises_do_the_work": ("your adam_step 2 times, expected 6",),
        },
    ),
    "exercise-21-pasted-in": Draft(
        (("from ex21_conv_backward import conv2d_backward\n", ""),),
        {
            "test_your_earlier_exercises_do_the_work": (
                "must use your conv2d_backward of ex21_conv_backward.py",
                "not a copy",
            ),
        },
    ),
    "exercise-21-still-a-stub": Draft(
        (),
        {
            EARLIER_TEST: (
                "exercise 25 uses your exercise 21 (ex21_conv_backward.py): finish it first "
                "(mnist-lab exercises check 21)",
            ),
        },
        ((21, exercises.stub_text(exercises.find(CATALOG, 21))),),
    ),
    "exercise-22-missing": Draft(
        (),
        {
            EARLIER_TEST: (
                "exercise 25 uses your exercise 22 (ex22_pool_backward.py), missing from",
                "'mnist-lab exercises reset 22'",
            ),
        },
        ((22, None),),
    ),
}
# The pasted copy of exercise 21 goes at the end of the file, where a student would put it.
DRAFTS["exercise-21-pasted-in"] = dataclasses.replace(
    DRAFTS["exercise-21-pasted-in"],
    changes=(
        *DRAFTS["exercise-21-pasted-in"].changes,
        ("    return params, history\n", "    return params, history\n\n\n" + _function_of_ex21()),
    ),
)


def check(draft: Draft) -> dict[str, str]:
    """The failure message of each test the draft ran, by test (a passing test is absent)."""
    with tempfile.TemporaryDirectory(prefix="mnist-lab-draft-") as folder:
        draft.write(Path(folder))
        result = exercises.run_tests(EX25, Path(folder), only=list(draft.told))
    assert result.total == len(draft.told), result.output[-2000:]
    return {failure.test: failure.message for failure in result.failures}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, dict[str, str]]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        runs = {name: pool.submit(check, draft) for name, draft in DRAFTS.items()}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("name", list(DRAFTS))
def test_a_classic_mistake_fails_and_is_named(verdicts, name):
    told = verdicts[name]
    for test, phrases in DRAFTS[name].told.items():
        assert test in told, f"{name}: {test} passed"
        for phrase in phrases:
            assert phrase in told[test], (name, test, told[test])


def test_the_solution_passes_the_fast_tests_the_drafts_fail():
    with tempfile.TemporaryDirectory(prefix="mnist-lab-draft-") as folder:
        Draft((), {}).write(Path(folder))
        names = sorted({test for draft in DRAFTS.values() for test in draft.told})
        result = exercises.run_tests(EX25, Path(folder), only=names)
    assert result.passed and result.total == len(names), result.output[-2000:]


# --- the own-code rule and the earlier files ---------------------------------------------------


@pytest.fixture
def solution_of_ex25(monkeypatch):
    """The shipped solution of exercise 25, imported as the exercise tests do (its folder on
    sys.path, so it imports the other solutions)."""
    from mnist_lab.course.exercises.catalog import SOLUTIONS
    from mnist_lab.models.registry import import_path

    monkeypatch.syspath_prepend(str(SOLUTIONS))
    names = [exercises.find(CATALOG, number).file.stem for number in USES]
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    yield import_path(EX25.solution, "mnist_lab_exercise_ex25_variants")
    for name in ("mnist_lab_exercise_ex25_variants", *names):
        sys.modules.pop(name, None)


def test_the_solution_may_call_the_solutions_it_uses_and_only_those(solution_of_ex25):
    params = solution_of_ex25.init_params(0)
    images = np.zeros((2, 28, 28, 1), dtype=np.float32)
    watch = Watch(25, EX25.own_code, solution_of_ex25)
    assert watch.call(solution_of_ex25.predict, params, images).shape == (2,)
    # Without `uses`, the other solutions are the course's, forbidden as always.
    bare = Watch(25, dataclasses.replace(EX25.own_code, uses=()), solution_of_ex25)
    with pytest.raises(NotOwnCode, match=r"the course's solution \(ex09_convolution\.conv2d\)"):
        bare.call(solution_of_ex25.predict, params, images)


def test_a_students_file_still_may_not_call_the_course_solutions(tmp_path):
    from mnist_lab.models.registry import import_path

    path = tmp_path / EX25.file.name
    path.write_text(
        "from mnist_lab.course.solutions import ex09_convolution\n\n\n"
        "def predict(params, images):\n"
        "    return ex09_convolution.conv_output_size(28, 3)\n"
    )
    module = import_path(path, "mnist_lab_exercise_ex25_student")
    try:
        with pytest.raises(NotOwnCode, match="mnist_lab.course.solutions.ex09_convolution"):
            Watch(25, EX25.own_code, module).call(module.predict, {}, None)
    finally:
        sys.modules.pop("mnist_lab_exercise_ex25_student", None)


SANDBOX_TEST = """
import json

from conftest import exercises_dir


def test_the_earlier_files_came_along():
    json.dump(sorted(path.name for path in exercises_dir().iterdir()), open({seen!r}, "w"))
"""


def test_the_graders_sandbox_carries_the_students_earlier_files_and_no_others(tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    Draft((), {}).write(student)
    (student / "ex04_reference_cnn.py").write_text("SECRET = 1\n")  # not one exercise 25 uses
    seen = tmp_path / "seen.json"
    hidden = tmp_path / "hidden" / EX25.tests.name
    hidden.parent.mkdir()
    hidden.write_text(SANDBOX_TEST.format(seen=str(seen)))
    outcome = run_exercise_tests(EX25, student / EX25.file.name, tests_file=hidden, timeout=60)
    assert outcome.error is None and outcome.passed == 1, outcome
    expected = [exercises.find(CATALOG, number).file.name for number in USES]
    assert json.loads(seen.read_text()) == sorted([EX25.file.name, *expected])


def test_uses_in_the_manifest_must_be_exercise_numbers(tmp_path):
    from mnist_lab.course.exercises.catalog import ExerciseError, read_catalog

    manifest = tmp_path / "manifest.toml"
    manifest.write_text(
        '[[exercise]]\nnumber = 25\nname = "numpy-cnn"\ntitle = "t"\nfile = "ex25.py"\n'
        'tests = "tests/t.py"\nown_code.asks = "your own CNN"\nown_code.uses = ["9"]\n'
    )
    with pytest.raises(ExerciseError) as raised:
        read_catalog(manifest)
    assert str(raised.value) == (
        f"{manifest}: exercise 25's own_code.uses must be a list of exercise numbers, got ['9']."
    )
