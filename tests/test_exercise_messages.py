"""The exercises' checks say what went wrong, not what usually goes wrong.

A missing package is not a slicing mistake (exercises 9 and 10 used to answer a
ModuleNotFoundError with "do your slices and your output have that size?"), and a network that
no longer overfits needs less regularization, not more (exercise 12).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)


def load_tests(name: str):
    path = ROOT / "exercises" / "tests" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_messages_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("number", "function", "test"),
    [
        (9, "conv2d", "test_conv2d_of_a_3x3_image_and_a_2x2_kernel_by_hand"),
        (10, "max_pool2d", "test_max_pool2d_of_a_4x4_image_by_hand"),
    ],
)
def test_a_missing_package_is_reported_as_that(number, function, test, tmp_path):
    exercise = exercises.find(CATALOG, number)
    text = exercises.solution_text(exercise)
    start = text.index(f"def {function}(")
    body = text.index('"""', text.index('"""', start) + 3) + 3  # after the docstring
    broken = text[:body] + "\n    import scipyx  # noqa: F401\n" + text[body:]
    (tmp_path / exercise.file.name).write_text(broken)
    result = exercises.run_tests(exercise, tmp_path, only=[test])
    assert [failure.test for failure in result.failures] == [test], result.output[-2000:]
    message = result.failures[0].message
    assert message.startswith(
        f"{function} raised ModuleNotFoundError: No module named 'scipyx'. Exercise {number} "
        "asks for numpy only: remove that import, or install the package if you meant it."
    ), message
    assert "slices" not in message


def test_exercise_12_does_not_ask_a_network_that_underfits_for_more_regularization():
    advice = load_tests("test_ex12_overfitting").advice
    underfits = {"loss": [0.9, 0.42], "val_loss": [0.5, 0.31]}
    said = advice(underfits)
    assert said.startswith("Your network's final gap is negative (-0.110: its training loss 0.420")
    assert "more regularization will not help" in said and "weaker regularization" in said
    overfits = {"loss": [0.5, 0.01], "val_loss": [0.4, 0.3]}
    assert "negative" not in advice(overfits) and "best_epoch" in advice(overfits)
    assert "best_epoch" in advice(None)  # whatever regularized_fit returned
