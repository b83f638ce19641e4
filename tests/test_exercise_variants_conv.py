"""Exercises 9 and 10 judge implementations, not our solution: wrong ones fail and say why,
correct ones written differently pass.

Each case runs the exercise's own tests in a fresh process (`exercises.run_tests`), against a
file in a temporary folder: a plausible mistake built from the solution by one substitution or
kept in tests/exercise_variants/, or an independent correct implementation kept there. A wrong
variant runs only the tests that should catch it, and their messages must name the mistake.
The checks are mostly TensorFlow's start-up in one process each, so the selected ones start
together, two at a time.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mnist_lab.course import exercises

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = Path(__file__).resolve().parent / "exercise_variants"
CONV, POOL = "ex09_convolution", "ex10_pooling"
WORKERS = 2  # the course's machine: 2 cores


@dataclass(frozen=True)
class Variant:
    """An implementation of exercise `number`, and what its check must say about it.

    `source` is a file under tests/exercise_variants/ or a substitution (old, new) in the
    solution. `told` names the tests to run: each that must fail with the phrases its message
    must hold, or None for one that must pass. Empty, for a correct implementation: every test
    runs, and every one must pass.
    """

    number: int
    stem: str
    source: str | tuple[str, str]
    told: dict[str, tuple[str, ...] | None] = field(default_factory=dict)

    def text(self) -> str:
        if isinstance(self.source, str):
            return (VARIANTS / self.source).read_text()
        old, new = self.source
        solution = (exercises.SOLUTIONS / f"{self.stem}.py").read_text()
        assert solution.count(old) == 1, f"the solution of {self.stem} no longer holds {old!r}"
        return solution.replace(old, new)


FLIPPED = ("true convolution, with the kernel flipped", "unflipped: cross-correlation")
SHIFTED = (
    "your output is shifted",
    "matches 1 row(s) of zeros above and 1 column(s) on the left",
    "'same' pads 0 above, 1 below, 0 left, 1 right",
    "the smaller half goes before",
)

WRONG = {
    "conv2d-true-convolution": Variant(
        9,
        CONV,
        (
            "output += seen @ kernels[i, j]",
            "output += seen @ kernels[kernel_height - 1 - i, kernel_width - 1 - j]",
        ),
        {
            "test_conv2d_of_a_3x3_image_and_a_2x2_kernel_by_hand": (
                *FLIPPED,
                "Keras gives 37 and yours 23",
            ),
            "test_conv2d_matches_keras_on_tricky_cases[rectangular-kernel-3-channels]": FLIPPED,
        },
    ),
    # The larger half of the padding before the image instead of after it.
    "conv2d-same-padding-split-the-wrong-way": Variant(
        9,
        CONV,
        (
            "top, left = pad_rows // 2, pad_cols // 2",
            "top, left = pad_rows - pad_rows // 2, pad_cols - pad_cols // 2",
        ),
        {
            "test_conv2d_same_padding_of_an_even_kernel_by_hand": SHIFTED,
            "test_conv2d_same_padding_with_stride_2_by_hand": SHIFTED,
        },
    ),
    "max-pool2d-rounds-up": Variant(
        10,
        POOL,
        "pool_rounds_up.py",
        {
            "test_max_pool2d_valid_rounds_the_output_size_down_by_hand": (
                "returned shape (1, 3, 3, 1), but Keras's MaxPooling2D gives (1, 2, 2, 1)",
                "height and width 3 instead of 2",
                "rounded up (ceil) instead of down (floor)",
            ),
            "test_max_pool2d_same_padding_by_hand": None,  # its "same" is right: this passes
        },
    ),
    "max-pool2d-zero-padding": Variant(
        10,
        POOL,
        ("            constant_values=-np.inf,\n", ""),
        {
            "test_max_pool2d_same_padding_never_wins_over_negative_pixels": (
                "the padding won",
                "-np.inf",
                "Keras gives -25 and yours 0.",
            ),
        },
    ),
}

CORRECT = {
    "conv2d-im2col-einsum": Variant(9, CONV, "conv_im2col.py"),
    "max-pool2d-sliding-windows": Variant(10, POOL, "pool_windows.py"),
}


def run(variant: Variant) -> exercises.CheckResult:
    """The exercise's tests (those in `told`, or all) on the variant, in a fresh process."""
    exercise = exercises.Exercise(
        variant.number,
        variant.stem,
        variant.stem,
        ROOT / "exercises" / f"{variant.stem}.py",
        ROOT / "exercises" / "tests" / f"test_{variant.stem}.py",
        "",
    )
    with tempfile.TemporaryDirectory(prefix="mnist-lab-variant-") as folder:
        (Path(folder) / f"{variant.stem}.py").write_text(variant.text())
        return exercises.run_tests(exercise, Path(folder), only=list(variant.told))


@pytest.fixture(scope="module")
def checks(request) -> dict[str, Future]:
    """The checks of the variants selected in this session, started together."""
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    variants = {**WRONG, **CORRECT}
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        yield {name: pool.submit(run, variants[name]) for name in sorted(selected)}


def messages(result: exercises.CheckResult) -> dict[str, str]:
    """Each failing test's message, checked to have arrived whole.

    pytest shortens a failure message of over 500 characters in its junit report, which is
    what a check shows the student.
    """
    told = {failure.test: failure.message for failure in result.failures}
    for test, message in told.items():
        assert "full report in element text" not in message, f"{test}: {message}"
    return told


@pytest.mark.parametrize("name", WRONG)
def test_a_plausible_mistake_fails_and_is_told_what_differs(checks, name):
    result = checks[name].result()
    told = messages(result)
    expected = {test: phrases for test, phrases in WRONG[name].told.items() if phrases is not None}
    assert set(told) == set(expected), result.output[-3000:]
    for test, phrases in expected.items():
        for phrase in phrases:
            assert phrase in told[test], f"{test} should say {phrase!r}: {told[test]}"


@pytest.mark.parametrize("name", CORRECT)
def test_an_independent_correct_implementation_passes_every_test(checks, name):
    result = checks[name].result()
    assert result.passed, "\n".join(f"{f.test}: {f.message}" for f in result.failures)
    assert result.total >= 15, f"only {result.total} tests ran: {result.output[-2000:]}"
