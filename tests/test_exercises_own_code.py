"""The own-code rule judges what the student's code does while it runs, not the file's text.

Each way round the rule a student might try (a module imported by a computed name, `getattr`
on a module, `exec` of a string, an alias imported at module level, the course's solution
imported) is written into the solutions of exercises 2, 9 and 17 in place of the work the
exercise asks for; the exercise's own-code test must fail with one line that names the
function as the student knows it and the line of their file that called it. The solutions
themselves pass (tests/test_exercises_cli.py). Each case is checked in a fresh pytest process
with the command line of `exercises.run_tests`; the cases of one kind, one per exercise, share
their process (tests/exercise_runs.py: TensorFlow starts once, not twice), so 15 runs became 5,
two at a time on the course's 2 cores.
"""

from __future__ import annotations

import textwrap
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from exercise_runs import rounds, run_together

from mnist_lab.course import exercises
from mnist_lab.course.exercises import stubs
from mnist_lab.course.exercises.catalog import OwnCodeRule
from mnist_lab.course.exercises.own_code import NotOwnCode, Watch

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)


@dataclass(frozen=True)
class Exercise:
    """Where a bypass goes in an exercise's solution, and what its check must say."""

    number: int
    function: str
    test: str
    said: str  # "exercise N asks for ...: NAME was called"
    calls: str  # the expression that does the work: what the bypasses compute their way to
    module: str  # the forbidden module, split by "' + '" so the bypasses compute its name
    attribute: str  # ... and the function in it
    returns: str  # how the body turns the result into the function's return value
    solution_module: str


EXERCISES = {
    2: Exercise(
        2,
        "normalize",
        "test_normalize_and_check_images_are_your_own_code",
        "exercise 2 asks for your own normalization: mnist_lab.preprocess.normalize was called",
        "(images)",
        "mnist_lab.pre' + 'process",
        "normalize",
        "return result",
        "ex02_normalize",
    ),
    9: Exercise(
        9,
        "conv2d",
        "test_conv2d_is_your_own_numpy_code",
        "exercise 9 asks for your own convolution: tf.nn.conv2d was called",
        "(images, kernels, strides=stride, padding=padding.upper())",
        "tensor' + 'flow.nn",
        "conv2d",
        "return (result + bias).numpy()",
        "ex09_convolution",
    ),
    17: Exercise(
        17,
        "batch_statistics",
        "test_the_five_functions_are_your_own_code",
        "exercise 17 asks for your own batch normalization: keras.ops.moments was called",
        "(x, tuple(range(x.ndim - 1)))",
        "ker' + 'as.ops",
        "moments",
        "return tuple(np.asarray(part) for part in result)",
        "ex17_batch_norm",
    ),
}


def bypass(exercise: Exercise, kind: str) -> tuple[str, str, str]:
    """(the module-level import, the function's body, the line that makes the call)."""
    module, name, calls = exercise.module, exercise.attribute, exercise.calls
    if kind == "importlib":
        call = f"result = importlib.import_module('{module}').{name}{calls}"
        return "", f"import importlib\n\n{call}\n{exercise.returns}\n", call
    if kind == "getattr":
        call = f"result = getattr(importlib.import_module('{module}'), '{name}'){calls}"
        return "", f"import importlib\n\n{call}\n{exercise.returns}\n", call
    if kind == "exec":
        code = f"import importlib\\nresult = importlib.import_module('{module}').{name}{calls}"
        call = f'exec("{code}", scope)'
        body = f"scope = dict(locals())\n{call}\nresult = scope['result']\n{exercise.returns}\n"
        return "", body, call
    if kind == "alias":
        dotted = module.replace("' + '", "")
        top = f"from {dotted} import {name} as _helper  # noqa: E402\n"
        call = f"result = _helper{calls}"
        return top, f"{call}\n{exercise.returns}\n", call
    assert kind == "solution"
    top = (
        f"from mnist_lab.course.solutions.{exercise.solution_module} import "
        f"{exercise.function} as _answer  # noqa: E402\n"
    )
    signature = calls_of_solution(exercise)
    call = f"return _answer({signature})"
    return top, f"{call}\n", call


def calls_of_solution(exercise: Exercise) -> str:
    """The arguments with which the bypass hands its own arguments to the solution."""
    return {
        2: "images",
        9: "images, kernels, bias, stride=stride, padding=padding",
        17: "x",
    }[exercise.number]


def bypassed(exercise: Exercise, kind: str) -> tuple[str, int]:
    """The solution with `exercise.function`'s written part replaced by the bypass; and the
    line of the file that makes the forbidden call."""
    text = exercises.find(CATALOG, exercise.number).solution.read_text()
    block = stubs._SOLUTION_BLOCK.search(text, text.index(f"def {exercise.function}("))
    top, body, call = bypass(exercise, kind)
    body = textwrap.indent(body, block["indent"])
    text = text[: block.start()] + body + text[block.end() :]
    text = text.replace("import numpy as np\n", "import numpy as np\n" + top, 1)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip() == call)
    return text, line


KINDS = ["importlib", "getattr", "exec", "alias", "solution"]
CASES = [(number, kind) for number in EXERCISES for kind in KINDS]


def run(cases: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[dict[str, str], int]]:
    """The cases (one per exercise at most) checked in one pytest process: for each, the
    failure message of its exercise's own-code test if it failed, and its forbidden call's
    line."""
    drafts = {case: (case[0], *bypassed(EXERCISES[case[0]], case[1])) for case in cases}
    messages = run_together([(n, text, [EXERCISES[n].test]) for n, text, _ in drafts.values()])
    return {
        case: ({test: messages[test] for test in [EXERCISES[n].test] if test in messages}, line)
        for case, (n, _, line) in drafts.items()
    }


@pytest.fixture(scope="module")
def checks(request) -> dict[tuple[int, str], Future]:
    """The checks of the cases selected in this session, started together, two at a time: the
    cases of one kind share a process."""
    selected = {
        (item.callspec.params["number"], item.callspec.params["kind"])
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and "kind" in item.callspec.params
    }
    by_kind = sorted(selected, key=lambda case: (KINDS.index(case[1]), case[0]))
    runs = rounds({case: case for case in by_kind}, lambda case: case[0])
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run, list(cases)) for cases in runs]
        yield {case: future for future, cases in zip(futures, runs, strict=True) for case in cases}


@pytest.mark.parametrize(("number", "kind"), CASES, ids=[f"ex{n}-{k}" for n, k in CASES])
def test_a_way_round_the_rule_fails_with_one_line(checks, number, kind):
    told, line = checks[(number, kind)].result()[(number, kind)]
    exercise = EXERCISES[number]
    file = exercises.find(CATALOG, number).file.name
    assert list(told) == [exercise.test], f"{exercise.test} passed"
    said = exercise.said
    if kind == "solution":
        said = (
            f"{said.split(':')[0]}: the course's solution (mnist_lab.course.solutions."
            f"{exercise.solution_module}.{exercise.function}) was called"
        )
    assert told[exercise.test] == f"{said} ({file}, line {line})"


# --- the rule itself, in this process ------------------------------------------------------


def student_module(tmp_path: Path, source: str):
    """A module imported from a file of its own, as the exercises' conftest imports one."""
    from mnist_lab.registry import import_path

    path = tmp_path / "student.py"
    path.write_text(textwrap.dedent(source))
    return import_path(path, f"student_{tmp_path.name}")


RULE = OwnCodeRule("your own sum", ("total",), ("statistics",), ("given",))


def test_a_call_into_a_forbidden_module_is_told_with_the_students_line(tmp_path):
    module = student_module(
        tmp_path,
        """\
        import statistics

        def total(values):
            return statistics.mean(values) * len(values)
        """,
    )
    with pytest.raises(NotOwnCode) as error:
        Watch(5, RULE, module).call(module.total, [1.0, 2.0])
    assert str(error.value) == (
        "exercise 5 asks for your own sum: statistics.mean was called (student.py, line 4)"
    )


def test_the_students_own_code_and_the_given_helpers_pass(tmp_path):
    module = student_module(
        tmp_path,
        """\
        import statistics

        def given(values):
            return statistics.mean(values)  # a ready-made helper of the exercise may use it

        def helper(values):
            return sum(values)

        def total(values):
            return helper(values) + 0 * given(values)
        """,
    )
    watch = Watch(5, RULE, module)
    assert watch.call(module.total, [1.0, 2.0]) == 3.0
    assert watch.call(module.total, [4.0]) == 4.0  # and again: nothing is left over


def test_a_listed_name_that_is_the_forbidden_function_itself_is_told_so(tmp_path):
    module = student_module(tmp_path, "from statistics import mean as total\n")
    with pytest.raises(NotOwnCode) as error:
        Watch(5, RULE, module).call_as("total", module.total, [1.0, 2.0])
    assert str(error.value) == (
        "exercise 5 asks for your own sum: statistics.mean was called: total in student.py is "
        "that very function; write your own with a def"
    )


def test_a_function_exec_defined_and_called_from_a_library_is_still_the_students(tmp_path):
    module = student_module(
        tmp_path,
        """\
        import heapq

        def total(values):
            scope = {}
            exec("import statistics\\ndef key(v):\\n    return statistics.fmean([v])", scope)
            heapq.nsmallest(1, values, key=scope["key"])  # heapq calls it, not this file
            return sum(values)
        """,
    )
    with pytest.raises(NotOwnCode, match=r"^exercise 5 asks for your own sum: statistics.fmean"):
        Watch(5, RULE, module).call(module.total, [1.0, 2.0, 3.0])


def test_exercises_check_shows_the_one_line(tmp_path, monkeypatch):
    """`mnist-lab exercises check 2` in a course copy whose exercise 2 reaches the library."""
    import shutil

    from typer.testing import CliRunner

    from mnist_lab.cli import app

    shutil.copytree(ROOT / "exercises" / "tests", tmp_path / "exercises" / "tests")
    shutil.copy(ROOT / "exercises" / "manifest.toml", tmp_path / "exercises" / "manifest.toml")
    for entry in CATALOG:
        (tmp_path / "exercises" / entry.file.name).write_text(exercises.stub_text(entry))
    text, line = bypassed(EXERCISES[2], "getattr")
    (tmp_path / "exercises" / "ex02_normalize.py").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path / "exercises"))
    result = CliRunner().invoke(app, ["exercises", "check", "2"])
    assert result.exit_code == 1, result.output
    said = f"{EXERCISES[2].said} (ex02_normalize.py, line {line})"
    assert f"- test_normalize_and_check_images_are_your_own_code: {said}" in result.stdout
