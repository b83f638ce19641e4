"""Shortcuts through exercises 8, 12 and 15 that must fail, beside their solutions that pass.

Exercise 12 trained on its validation digits, exercise 8 registering a zoo model's copy, and
exercise 15 "fixed" by removing what its tests look at: each is written into the solution and
checked with the exercise's own tests, in a fresh pytest process (`exercises.run_tests`), as
`mnist-lab exercises check` runs them. The solutions pass in tests/test_exercises_cli.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mnist_lab.course import exercises
from mnist_lab.course.exercises import stubs

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)


def solution_with(number: int, function: str, body: str) -> str:
    """Exercise `number`'s solution with the written part of `function` replaced by `body`."""
    text = exercises.find(CATALOG, number).solution.read_text()
    block = stubs._SOLUTION_BLOCK.search(text, text.index(f"def {function}("))
    body = textwrap.indent(textwrap.dedent(body), block["indent"])
    return text[: block.start()] + body + text[block.end() :]


def told(tmp_path: Path, number: int, text: str, only: list[str]) -> dict[str, str]:
    """What exercise `number`'s tests in `only` say of a file holding `text`, by test."""
    exercise = exercises.find(CATALOG, number)
    (tmp_path / exercise.file.name).write_text(text)
    result = exercises.run_tests(exercise, tmp_path, only=only)
    assert result.total == len(only), result.output[-3000:]
    return {failure.test: failure.message for failure in result.failures}


# --- exercise 12: training on the validation digits ------------------------------------------

# The plain network, no regularization at all, trained on its validation digits as well: its
# loss on those digits is tiny, and its loss on new digits alone would pass.
TRAINS_ON_VALIDATION = """\
    both_x, both_y = np.concatenate([x, x_val]), np.concatenate([y, y_val])
    history = model.fit(
        both_x, both_y, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
        verbose=0,
    )
    return history.history
"""
# The same number of images as asked, a few training digits swapped for validation ones.
SWAPS_IN_VALIDATION = """\
    mixed = np.concatenate([x[: len(x) - 16], x_val[:16]])
    labels = np.concatenate([y[: len(y) - 16], y_val[:16]])
    history = model.fit(
        mixed, labels, validation_data=(x_val, y_val), epochs=epochs, batch_size=BATCH_SIZE,
        verbose=0,
    )
    return history.history
"""
FIT_TEST = "test_regularized_fit_trains_on_x_and_validates_on_x_val"


@pytest.mark.parametrize(
    ("body", "count"), [(TRAINS_ON_VALIDATION, 128), (SWAPS_IN_VALIDATION, 32)], ids=["all", "16"]
)
def test_exercise_12_training_on_the_validation_digits_is_told_at_once(tmp_path, body, count):
    text = solution_with(12, "regularized_fit", body)
    assert told(tmp_path, 12, text, [FIT_TEST]) == {
        FIT_TEST: (
            f"regularized_fit trained the network on {count} images that are validation digits "
            "(x_val): they measure the network on digits it never trains on, so they must never "
            "be trained on. Train on x and y only"
        )
    }


@pytest.mark.slow
def test_exercise_12_training_on_the_validation_digits_fails_the_experiment(tmp_path):
    """The slow test judges both networks on digits no function receives; the network that
    trained on its validation digits gives itself away there (about 40 s on 2 cores)."""
    test = "test_regularization_lowers_the_final_validation_loss"
    text = solution_with(12, "regularized_fit", TRAINS_ON_VALIDATION)
    message = told(tmp_path, 12, text, [test])[test]
    assert message.startswith("your network's loss is 0.0")
    assert (
        " on the 500 validation digits regularized_fit was given, but 0.1" in message
        and " on 5,000 digits it never received (" in message
    ), message
    assert message.endswith(
        "standard errors apart): it has learned the validation digits. Train on x and y only; "
        "x_val and y_val measure the network, they never train it"
    )
