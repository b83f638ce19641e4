"""Exercise 27's tests judge the calibration, not our solution: the classic mistakes fail.

Each case builds a plausible first draft from the exercise's reference solution by
substitution (an ECE that averages its bins without their weights, a confidence on an edge sent
to the bin above, every class's probability binned instead of the top answer, a first bin open
at 0, a temperature that multiplies the logits instead of dividing them, a figure made with
pyplot), runs only the tests that must catch it in a fresh process (`exercises.run_tests`), and
checks that each fails with a message that names the mistake. The solution itself passes every
test in tests/test_exercises_cli.py. Two drafts run at a time (the course's machine: 2 cores).
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
WORKERS = 2

WEIGHTED = (
    "    total = 0.0\n"
    "    for b in range(bins):\n"
    "        members = which == b\n"
    "        count = int(members.sum())\n"
    "        if count:\n"
    "            gap = abs(correct[members].mean() - confidence[members].mean())\n"
    "            total += count / len(confidence) * gap\n"
    "    return float(total)\n"
)
UNWEIGHTED = (
    "    gaps = []\n"
    "    for b in range(bins):\n"
    "        members = which == b\n"
    "        if members.any():\n"
    "            gaps.append(abs(correct[members].mean() - confidence[members].mean()))\n"
    "    return float(np.mean(gaps))\n"
)
ECE_BINNING = (
    "    # the first edge >= c is the upper edge of c's bin: an edge goes to the bin below it\n"
    '    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)\n'
)
TOP_ANSWER = (
    "    confidence = probabilities.max(axis=1)\n"
    "    correct = probabilities.argmax(axis=1) == np.asarray(labels)\n"
    "    edges = np.linspace(0.0, 1.0, bins + 1)\n"
    "    # the first edge"
)


@dataclass(frozen=True)
class Draft:
    """Exercise 27's solution with `changes` (old, new) made, and what its check must say: for
    each test run, phrases its failure message must hold."""

    changes: tuple[tuple[str, str], ...]
    told: dict[str, tuple[str, ...]]

    def text(self) -> str:
        text = exercises.find(CATALOG, 27).solution.read_text()
        for old, new in self.changes:
            assert text.count(old) == 1, f"exercise 27's solution no longer has {old!r}"
            text = text.replace(old, new)
        return text


DRAFTS = {
    "unweighted-bins-a-first-bin-open-at-0-and-a-pyplot-figure": Draft(
        (
            (WEIGHTED, UNWEIGHTED),
            (
                ECE_BINNING,
                '    which = np.searchsorted(edges, confidence, side="left") - 1  # 0 is in none\n',
            ),
            (
                '    figure = Figure(figsize=(5, 5), layout="constrained")\n'
                "    axes = figure.subplots()\n",
                "    from matplotlib import pyplot\n\n"
                "    figure, axes = pyplot.subplots(figsize=(5, 5))\n",
            ),
        ),
        {
            "test_ece_of_a_hand_example": (
                "the ECE should be 0.30625, got 0.43125",
                "plain mean of the bins' gaps",
                "n_b / N",
            ),
            "test_ece_counts_a_confidence_of_0_in_the_first_bin_and_1_in_the_last": (
                "with a confidence of 0, in the first bin",
                "[0, 1/B], closed at 0",
            ),
            "test_reliability_figure_is_a_figure_made_without_pyplot": (
                "matplotlib.figure.Figure(...), not pyplot",
            ),
        },
    ),
    "edges-to-the-upper-bin-and-a-multiplied-temperature": Draft(
        (
            (ECE_BINNING, ECE_BINNING.replace('side="left"', 'side="right"')),
            (
                "    return float(1 / np.sqrt(low * high))\n",
                "    return float(np.sqrt(low * high))\n",
            ),
        ),
        {
            "test_ece_of_a_hand_example": ("got 0.18125", "went to the bin above"),
            "test_ece_puts_a_confidence_on_an_edge_in_the_bin_below": (
                "the ECE should be 0.55, got 0.05",
                "went to the bin above",
            ),
            "test_fit_temperature_recovers_a_known_temperature": (
                "divided by T, softmax(logits / T), not multiplied",
            ),
        },
    ),
    "every-class-binned-instead-of-the-top-answer": Draft(
        (
            (
                TOP_ANSWER,
                "    confidence = probabilities.ravel()\n"
                "    correct = (np.arange(probabilities.shape[1]) == np.asarray(labels)[:, None])"
                ".ravel()\n"
                "    edges = np.linspace(0.0, 1.0, bins + 1)\n"
                "    # the first edge",
            ),
        ),
        {
            "test_ece_of_a_hand_example": ("got 0.035", "bins every class's probability"),
            "test_ece_matches_a_numpy_reference_on_drawn_inputs": (
                "bins every class's probability",
            ),
        },
    ),
}


def check(draft: Draft) -> dict[str, str]:
    """The failure message of each test the draft ran, by test (a passing test is absent)."""
    exercise = exercises.find(CATALOG, 27)
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
