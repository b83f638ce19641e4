"""Exercise 24's tests judge distributions, not our solution: the classic mistakes fail.

Each case builds a plausible first draft from the reference solution by substitution (He's
normal truncated without Keras's correction of its stddev, not truncated at all, or clipped at
two standard deviations; Glorot's limit from fan_in alone; a convolution's fan_in without its
receptive field; numbers drawn from np.random's global state instead of the rng given), runs
only the tests that must catch it in a fresh process (`exercises.run_tests`), and checks that
each fails with a message that names the mistake. The solution itself passes every test in
tests/test_exercises_cli.py. None of these tests imports TensorFlow: each run takes about a
second.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
CATALOG = exercises.load_catalog(ROOT)
WORKERS = 2  # the course's machine: 2 cores


@dataclass(frozen=True)
class Draft:
    """Exercise `number`'s solution with `changes` (old, new) made, and what its check must
    say: for each test run, phrases its failure message must hold."""

    number: int
    changes: tuple[tuple[str, str], ...]
    told: dict[str, tuple[str, ...]]

    def text(self) -> str:
        exercise = exercises.find(CATALOG, self.number)
        text = exercise.solution.read_text()
        for old, new in self.changes:
            assert text.count(old) == 1, f"exercise {self.number}'s solution no longer has {old!r}"
            text = text.replace(old, new)
        return text


DRAFTS = {
    "ex24-he-without-correction-glorot-from-fan-in": Draft(
        24,
        (
            (
                "stddev = np.sqrt(2.0 / fan_in) / TRUNCATED_STD",
                "stddev = np.sqrt(2.0 / fan_in)",
            ),
            (
                "limit = np.sqrt(6.0 / (fan_in + fan_out))",
                "limit = np.sqrt(6.0 / fan_in)",
            ),
        ),
        {
            "test_he_normal_has_the_variance_2_over_fan_in": (
                "that is the normal truncated without Keras's correction",
                "stddev = sqrt(2 / fan_in) / 0.8796",
            ),
            "test_glorot_uniform_has_the_variance_2_over_fan_in_plus_fan_out": (
                "that is 2 / fan_in, the limit of sqrt(6 / fan_in)",
                "sqrt(6 / (fan_in + fan_out))",
            ),
        },
    ),
    "ex24-he-untruncated-conv-fan-in-without-field": Draft(
        24,
        (
            (
                "stddev = np.sqrt(2.0 / fan_in) / TRUNCATED_STD",
                "stddev = np.sqrt(2.0 / fan_in)",
            ),
            ("    while outside.any():", "    while False:"),
            (
                "return shape[-2] * receptive_field, shape[-1] * receptive_field",
                "return shape[-2], shape[-1] * receptive_field",
            ),
        ),
        {
            "test_he_normal_is_truncated_at_two_standard_deviations": (
                "he_normal((784, 256), rng)",
                "lie beyond two standard deviations",
                "Keras's He normal is truncated",
            ),
            "test_fans_of_hand_examples": (
                "fan_in_and_out((3, 3, 1, 32)) gave (1, 288), not (9, 288)",
                "the receptive field is missing",
            ),
        },
    ),
    "ex24-he-clipped-from-np-random": Draft(
        24,
        (
            (
                "values = rng.standard_normal(tuple(shape))",
                "values = np.clip(np.random.standard_normal(tuple(shape)), -2.0, 2.0)",
            ),
            (
                "values[outside] = rng.standard_normal(int(outside.sum()))",
                "values[outside] = np.random.standard_normal(int(outside.sum()))",
            ),
        ),
        {
            "test_he_normal_is_truncated_at_two_standard_deviations": (
                "of the values are between 1.95 and 2",
                "not clipped to 2",
            ),
            "test_the_same_seed_gives_the_same_weights": (
                "he_normal gave different weights for two rngs of the same seed",
            ),
            "test_different_seeds_give_different_weights_from_the_rng_given": (
                "he_normal never drew from the rng it was given",
            ),
        },
    ),
}


def check(draft: Draft) -> dict[str, str]:
    """The failure message of each test the draft ran, by test (a passing test is absent)."""
    exercise = exercises.find(CATALOG, draft.number)
    with tempfile.TemporaryDirectory(prefix="mnist-lab-draft-") as folder:
        (Path(folder) / exercise.file.name).write_text(draft.text())
        result = exercises.run_tests(exercise, Path(folder), only=list(draft.told))
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
