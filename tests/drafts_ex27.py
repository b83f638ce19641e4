"""Exercise 27's held-back drafts: plausible first drafts built from the reference solution by
substitution (an ECE that averages its bins without their weights, a confidence on an edge sent
to the bin above, every class's probability binned instead of the top answer, a first bin open
at 0, a temperature that multiplies the logits instead of dividing them, a figure made with
pyplot). tests/test_exercise_variants_learn.py checks that each fails, with a message that
names the mistake.
"""

from __future__ import annotations

from exercise_runs import Draft

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


DRAFTS = {
    "unweighted-bins-a-first-bin-open-at-0-and-a-pyplot-figure": Draft(
        27,
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
        27,
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
        27,
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
