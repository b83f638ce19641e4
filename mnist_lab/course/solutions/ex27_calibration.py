"""Exercise 27: calibration. When the network says 0.9, is it right nine times in ten?

A classifier's largest probability is its confidence. A network is calibrated when, among the
images it answers with confidence about 0.9, about 0.9 of the answers are right. Accuracy does
not tell: two networks that make the same mistakes can be honest or boastful about them. A
reliability diagram sorts the images into equal-width bins of confidence over [0, 1] and draws
each bin's accuracy against the diagonal accuracy = confidence; the expected calibration error
(ECE) sums the gaps, each bin weighted by its share of the images:

    ECE = sum over bins b of  n_b / N * |accuracy(b) - mean confidence(b)|

With B bins the first is [0, 1/B], closed on both ends, and the others (k/B, (k+1)/B]: a
confidence exactly on an edge belongs to the bin below it, and 0 and 1 each have a bin. An
empty bin adds nothing.

Temperature scaling (Guo et al., 2017) fixes a network's confidence without changing a single
answer: divide its logits (the last Dense layer's output before the softmax) by one number T > 0
and take the softmax again. T > 1 softens overconfident probabilities, T < 1 sharpens timid
ones, and the largest logit stays the largest. T is the one that minimizes the negative
log-likelihood (the crossentropy) of the labels on the VALIDATION images: fitted on the test
set, T would make the test score a choice instead of a measurement. Written in b = 1/T, that
NLL is the mean of logsumexp(b * z) - b * z[label]: a log-sum-exp of functions linear in b
(convex) minus a linear term, so it is convex in b, its slope in b only grows, and a 1-D search
finds its one minimum.

`last_dense_logits`, `validation_logits` and `calibration_halves` are given (Keras is allowed in
them, not in your three functions). Once your functions are written,
`python exercises/ex27_calibration.py RUN` (a run folder of `mnist-lab train reference`) fits T
on one half of that run's validation images and reports the ECE before and after on the other
half.

Write the three functions below in numpy (and matplotlib's Figure), then run
`mnist-lab exercises check 27`.

Course page: docs/exercises/27-calibration.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure


def last_dense_logits(model: Any, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The logits of a Keras classifier: its last Dense layer's input times the layer's kernel
    plus its bias, before any activation (the softmax). float64 (N, classes).

    `images` are what the model takes (normalized, (N, 28, 28, 1) for MNIST's models).
    """
    import keras

    denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if not denses:
        raise ValueError(
            f"{model.name} has no Dense layer among its layers: its logits are the pre-activation "
            "of the last Dense layer, before the softmax."
        )
    dense = denses[-1]
    features = keras.Model(model.inputs, dense.input).predict(
        images, batch_size=batch_size, verbose=0
    )
    kernel = np.asarray(keras.ops.convert_to_numpy(dense.kernel), dtype=np.float64)
    bias = np.asarray(keras.ops.convert_to_numpy(dense.bias), dtype=np.float64)
    return np.asarray(features, dtype=np.float64) @ kernel + bias


def validation_logits(run: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of a finished run's model on the run's own validation images.

    The images are those the run held out: for `mnist-lab train reference` (seed 0, a tenth
    held out) `stratified_split(labels, 0.1, 0)`'s 6,000. Never the test set.
    """
    from mnist_lab.evaluation.reports import load_run_model
    from mnist_lab.evaluation.splits import run_split
    from mnist_lab.preprocess import normalize
    from mnist_lab.runs import open_run

    model = load_run_model(run)
    split = run_split(open_run(run), "validation")
    return last_dense_logits(model, normalize(split.images)), split.labels


def calibration_halves(labels: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(fit, report): the validation images split in two stratified halves. T is fitted on the
    first; the ECE before and after is reported on the second, images T never saw."""
    from mnist_lab.preprocess import stratified_split

    fit, report = stratified_split(np.asarray(labels), 0.5, seed)
    return np.sort(fit), np.sort(report)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, its largest logit subtracted first (no overflow)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 15
) -> float:
    """The ECE of (N, classes) probabilities against integer labels (N,): equal-width bins of
    the largest probability, [0, 1/bins] then (k/bins, (k+1)/bins], each bin weighted by its
    share of the images."""
    # TODO: take each image's confidence (its largest probability) and whether its top answer is right; put each confidence in its bin (edges go to the bin below, 0 to the first); add up n_b / N * |accuracy - mean confidence| over the non-empty bins
    # SOLUTION
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # the first edge >= c is the upper edge of c's bin: an edge goes to the bin below it
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = which == b
        count = int(members.sum())
        if count:
            gap = abs(correct[members].mean() - confidence[members].mean())
            total += count / len(confidence) * gap
    return float(total)
    # END SOLUTION


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimizes the mean negative log-likelihood of softmax(logits / T) for
    integer labels (N,); fit it on validation logits, never on the test set's."""
    # TODO: find the T > 0 where the NLL of softmax(logits / T) is lowest: it is convex in b = 1/T, so search b (or log T) until its slope changes sign
    # SOLUTION
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    chosen = logits[np.arange(len(labels)), labels]

    def slope(b: float) -> float:
        """d NLL / d b at b = 1/T: the softmax's mean logit minus the label's logit."""
        p = softmax(b * logits)
        return float(np.mean((p * logits).sum(axis=1) - chosen))

    # Bracket the zero of the slope (it only grows with b), then halve the bracket in log b.
    low, high = 1.0, 1.0
    while slope(low) > 0 and low > 1e-12:
        low /= 2
    while slope(high) < 0 and high < 1e12:
        high *= 2
    if slope(low) > 0:  # labels no better than guesses: the flattest softmax wins
        return 1 / low
    if slope(high) < 0:  # every answer right with a margin: the NLL falls as T goes to 0
        return 1 / high
    for _ in range(60):  # the bracket's ratio 2 shrinks to 2 ** (2 ** -60)
        middle = np.sqrt(low * high)
        if slope(middle) < 0:
            low = middle
        else:
            high = middle
    return float(1 / np.sqrt(low * high))
    # END SOLUTION


def reliability_figure(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> Figure:
    """A reliability diagram without pyplot: one bar per non-empty bin of confidence, as high as
    that bin's accuracy, against the diagonal of perfect calibration; the ECE in the title."""
    # TODO: bin the confidences as expected_calibration_error does; on the axes of a matplotlib.figure.Figure, draw a bar at each non-empty bin as high as its accuracy, the diagonal from (0, 0) to (1, 1), and the ECE in the title
    # SOLUTION
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    centers, accuracies, counts = [], [], []
    for b in range(bins):
        members = which == b
        if members.any():
            centers.append((edges[b] + edges[b + 1]) / 2)
            accuracies.append(float(correct[members].mean()))
            counts.append(int(members.sum()))

    figure = Figure(figsize=(5, 5), layout="constrained")
    axes = figure.subplots()
    axes.bar(centers, accuracies, width=1 / bins, edgecolor="black", label="accuracy")
    axes.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    for center, count in zip(centers, counts, strict=True):  # a bar of 3 images says little
        axes.text(center, 0.02, str(count), rotation=90, ha="center", va="bottom", fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_xlabel("confidence (largest probability)")
    axes.set_ylabel("accuracy")
    ece = expected_calibration_error(probabilities, labels, bins)
    axes.set_title(f"ECE = {ece:.4f} ({bins} bins)")
    return figure
    # END SOLUTION


def main(argv: list[str] | None = None) -> None:
    """Fit T on one half of a run's validation images, report the ECE on the other half."""
    from mnist_lab import MnistLabError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python exercises/ex27_calibration.py RUN_FOLDER")
    try:
        logits, labels = validation_logits(args[0])
        fit, report = calibration_halves(labels)
        temperature = fit_temperature(logits[fit], labels[fit])
        before = expected_calibration_error(softmax(logits[report]), labels[report])
        after = expected_calibration_error(softmax(logits[report] / temperature), labels[report])
    except (MnistLabError, NotImplementedError, ValueError) as error:  # one line, no traceback
        raise SystemExit(str(error)) from None
    print(f"T fitted on {len(fit):,} validation images: {temperature:.3f}")
    print(f"ECE on the other {len(report):,}: {before:.4f} before, {after:.4f} after")


if __name__ == "__main__":
    main()
