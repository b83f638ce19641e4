"""Exercise 27, calibration: the ECE, the temperature and the reliability diagram, in numpy.

The ECE is checked on a hand example whose bins were added up by hand, on the edge cases that
tell a right binning from a near miss (a confidence on a bin's edge goes to the bin below, 0 to
the first bin and 1 to the last, empty bins add nothing), on an always-sure model that is right
half the time (0.5), on synthetic probabilities that are calibrated by construction (0 within
sampling error) and against an independent numpy reference on inputs that hypothesis draws. The
temperature must recover the T0 of logits made as z * T0 with labels drawn from softmax(z)
(within six standard errors of that sample), give 1 on logits that are calibrated already,
agree with a fine grid of the negative log-likelihood, never raise that NLL above its value at
T = 1, and stay right for logits of magnitude 1e4. The figure is read back from its axes: the
bars, the diagonal and the ECE of its title; it must be made without pyplot, as in exercise 7.
"""

import math
import re
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

EXERCISE = "ex27_calibration.py"

# The hand example: 8 images, 5 classes, 4 bins [0, .25], (.25, .5], (.5, .75], (.75, 1].
# Confidences .25 (right), .5 (wrong), .6 and .7 (right), .8 (wrong), .8, .9 and 1 (right):
#   bin 1: 1 image, accuracy 1, confidence .25, gap .75  -> 1/8 * .75 = .09375
#   bin 2: 1 image, accuracy 0, confidence .5,  gap .5   -> 1/8 * .5  = .0625
#   bin 3: 2 images, accuracy 1, confidence .65, gap .35 -> 2/8 * .35 = .0875
#   bin 4: 4 images, accuracy .75, confidence .875, gap .125 -> 4/8 * .125 = .0625
# ECE = .30625
HAND_PROBABILITIES = np.array(
    [
        [0.25, 0.24, 0.2, 0.16, 0.15],
        [0.5, 0.3, 0.2, 0.0, 0.0],
        [0.1, 0.6, 0.3, 0.0, 0.0],
        [0.7, 0.1, 0.1, 0.1, 0.0],
        [0.8, 0.2, 0.0, 0.0, 0.0],
        [0.05, 0.05, 0.05, 0.05, 0.8],
        [0.9, 0.1, 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 0.0],
    ]
)
HAND_LABELS = np.array([0, 1, 1, 0, 1, 4, 0, 0])
HAND_BINS, HAND_ECE = 4, 0.30625


def fail(message: str):
    """Fail with `message` alone (an AssertionError: the check shows it without hypothesis's
    example)."""
    raise AssertionError(message)


# --- independent references -------------------------------------------------------------------


def reference_ece(probabilities, labels, bins, mistake=None) -> float:
    """The ECE by explicit comparisons with each bin's edges; or a classic mistake's value."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels)
    if mistake == "all classes":  # every probability binned, right when its class is the label
        confidence = probabilities.ravel()
        right = (np.arange(probabilities.shape[1]) == labels[:, None]).ravel()
    else:
        confidence = probabilities.max(axis=1)
        right = probabilities.argmax(axis=1) == labels
    gaps, counts = [], []
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        if mistake == "upper edges":
            inside = (
                (confidence >= low) & (confidence < high) if k < bins - 1 else confidence >= low
            )
        elif mistake == "open at 0" or k > 0:
            inside = (confidence > low) & (confidence <= high)
        else:
            inside = (confidence >= low) & (confidence <= high)
        if inside.any():
            gaps.append(abs(right[inside].mean() - confidence[inside].mean()))
            counts.append(int(inside.sum()))
    if mistake == "unweighted":
        return float(np.mean(gaps))
    return float(sum(n / len(confidence) * gap for n, gap in zip(counts, gaps, strict=True)))


MISTAKES = {
    "unweighted": (
        "that is the plain mean of the bins' gaps: weight each bin by its share of the images, "
        "n_b / N, so that a bin of one image counts for one image"
    ),
    "upper edges": (
        "a confidence on a bin's edge went to the bin above: the bins are [0, 1/B], then "
        "(k/B, (k+1)/B], so 0.25 belongs to the first of 4 bins and 0.5 to the second"
    ),
    "all classes": (
        "that bins every class's probability: the ECE bins each image's largest probability "
        "only, and counts the image right when its top answer is its label"
    ),
}


def ece_problem(got, probabilities, labels, bins) -> str | None:
    """What is wrong with an ECE, naming a classic mistake it matches; None if it is right."""
    if not isinstance(got, float | np.floating):
        return f"expected_calibration_error should return a float, got {type(got).__name__}"
    expected = reference_ece(probabilities, labels, bins)
    if abs(got - expected) <= 1e-12:
        return None
    for mistake, told in MISTAKES.items():
        if abs(got - reference_ece(probabilities, labels, bins, mistake)) <= 1e-12:
            return f"the ECE should be {expected:.6g}, got {got:.6g}: {told}"
    return f"the ECE should be {expected:.6g} with {bins} bins, got {got:.6g}"


def softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def nll(logits, labels, temperature) -> float:
    """The mean negative log-likelihood of softmax(logits / temperature), by log-sum-exp."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    top = z.max(axis=1)
    lse = top + np.log(np.exp(z - top[:, None]).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(labels)), labels]))


def sampled_labels(probabilities, rng):
    """One label per row, drawn from that row's probabilities."""
    cumulative = probabilities.cumsum(axis=1)
    drawn = (cumulative < rng.random(len(probabilities))[:, None]).sum(axis=1)
    return np.minimum(drawn, probabilities.shape[1] - 1)


def synthetic(seed, images=5000, classes=10, scale=3.0):
    """(z, labels): logits z and labels drawn from softmax(z), calibrated by construction."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(images, classes)) * scale
    return z, sampled_labels(softmax(z), rng)


def relative_standard_error(z) -> float:
    """The standard error of a fitted 1/T relative to its value, for logits z whose labels
    come from softmax(z): 1 / sqrt(N * mean variance of z under softmax(z)) (Fisher)."""
    p = softmax(z)
    variance = (p * z**2).sum(axis=1) - (p * z).sum(axis=1) ** 2
    return 1 / math.sqrt(len(z) * variance.mean())


def fitted(exercise, logits, labels) -> float:
    given_logits, given_labels = logits.copy(), labels.copy()
    temperature = exercise.fit_temperature(given_logits, given_labels)
    if not np.array_equal(given_logits, logits) or not np.array_equal(given_labels, labels):
        fail("fit_temperature changed the logits or the labels it was given: work on copies")
    if not isinstance(temperature, float | np.floating):
        fail(f"fit_temperature should return a float, got {type(temperature).__name__}")
    if not math.isfinite(temperature) or temperature <= 0:
        fail(f"fit_temperature should return a finite T > 0, got {temperature}")
    return float(temperature)


# --- the expected calibration error -----------------------------------------------------------


def test_ece_of_a_hand_example(exercise):
    got = exercise.expected_calibration_error(HAND_PROBABILITIES, HAND_LABELS, bins=HAND_BINS)
    assert reference_ece(HAND_PROBABILITIES, HAND_LABELS, HAND_BINS) == HAND_ECE
    problem = ece_problem(got, HAND_PROBABILITIES, HAND_LABELS, HAND_BINS)
    assert problem is None, problem


def test_ece_puts_a_confidence_on_an_edge_in_the_bin_below(exercise):
    # 0.5 (right) is the upper edge of the second of 4 bins; 0.6 (wrong) is in the third.
    probabilities = np.array([[0.5, 0.25, 0.25], [0.6, 0.4, 0.0]])
    labels = np.array([0, 1])
    got = exercise.expected_calibration_error(probabilities, labels, bins=4)
    problem = ece_problem(got, probabilities, labels, 4)
    assert problem is None, problem  # 0.5 * 0.5 + 0.5 * 0.6 = 0.55


def test_ece_counts_a_confidence_of_0_in_the_first_bin_and_1_in_the_last(exercise):
    # A row of zeros has confidence 0 (its top answer is class 0); one-hot rows have 1.
    for probabilities, labels, where in (
        (np.array([[0.0, 0.0], [0.7, 0.3]]), np.array([0, 0]), "0, in the first bin"),
        (np.array([[1.0, 0.0], [0.7, 0.3]]), np.array([1, 0]), "1, in the last bin"),
    ):
        got = exercise.expected_calibration_error(probabilities, labels, bins=15)
        if isinstance(got, float | np.floating) and abs(got - 0.65) > 1e-12:
            fail(
                f"with a confidence of {where}, the ECE should be 0.5 * 1 + 0.5 * 0.3 = 0.65, "
                f"got {got:.6g}: the first bin is [0, 1/B], closed at 0, and the last "
                "((B-1)/B, 1] holds 1"
            )
        problem = ece_problem(got, probabilities, labels, 15)
        assert problem is None, problem


def test_empty_bins_add_nothing(exercise):
    # Four images at confidence 0.9, three right: the ECE is |0.75 - 0.9| whatever the bins.
    probabilities = np.tile([[0.9, 0.1]], (4, 1))
    labels = np.array([0, 0, 0, 1])
    for bins in (1, 2, 5, 15, 100):
        got = exercise.expected_calibration_error(probabilities, labels, bins=bins)
        if not (isinstance(got, float | np.floating) and abs(got - 0.15) <= 1e-12):
            fail(
                f"with {bins} bins the ECE should be |0.75 - 0.9| = 0.15 (one bin holds every "
                f"image; the others are empty and add nothing), got {got}"
            )


def test_an_always_sure_model_right_half_the_time_has_ece_one_half(exercise):
    probabilities = np.eye(10)[np.arange(100) % 10]  # one-hot: always sure
    labels = np.arange(100) % 10
    labels[::2] = (labels[::2] + 1) % 10  # every second answer wrong
    got = exercise.expected_calibration_error(probabilities, labels)
    assert isinstance(got, float | np.floating) and abs(got - 0.5) <= 1e-12, (
        f"a model always sure (confidence 1) and right half the time has ECE |0.5 - 1| = 0.5, "
        f"got {got}"
    )


def test_a_calibrated_model_has_an_ece_near_0(exercise):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        probabilities = rng.dirichlet(np.full(10, 0.5), size=20000)
        labels = sampled_labels(probabilities, rng)  # right with probability = confidence
        got = exercise.expected_calibration_error(probabilities, labels)
        # Each bin's |sum of (right - confidence)| is a sum of independent terms of variance
        # c (1 - c): five standard deviations per bin.
        confidence = probabilities.max(axis=1)
        which = np.clip(np.ceil(confidence * 15).astype(int) - 1, 0, 14)
        bound = sum(
            5 * math.sqrt(np.sum(confidence[which == b] * (1 - confidence[which == b])))
            for b in range(15)
        ) / len(labels)
        assert isinstance(got, float | np.floating) and 0 <= got <= bound, (
            f"labels drawn from the probabilities themselves are calibrated: the ECE should be "
            f"0 up to sampling error (at most {bound:.4f} here), got {got}"
        )


@settings(max_examples=60)
@given(
    st.integers(1, 300),
    st.integers(2, 12),
    st.integers(1, 20),
    st.sampled_from([0.05, 0.3, 1.0, 5.0]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_ece_matches_a_numpy_reference_on_drawn_inputs(
    exercise, images, classes, bins, concentration, calibrated, seed
):
    rng = np.random.default_rng(seed)
    probabilities = rng.dirichlet(np.full(classes, concentration), size=images)
    if calibrated:
        labels = sampled_labels(probabilities, rng)
    else:
        labels = rng.integers(0, classes, size=images)
    given_probabilities, given_labels = probabilities.copy(), labels.copy()
    got = exercise.expected_calibration_error(given_probabilities, given_labels, bins=bins)
    if not np.array_equal(given_probabilities, probabilities):
        fail("expected_calibration_error changed the probabilities it was given")
    problem = ece_problem(got, probabilities, labels, bins)
    if problem:
        fail(f"{images} images, {classes} classes, {bins} bins: {problem}")


# --- the temperature --------------------------------------------------------------------------


@settings(max_examples=15)
@given(st.sampled_from([0.2, 0.5, 1.5, 2.5, 7.0]), st.integers(0, 2**32 - 1))
def test_fit_temperature_recovers_a_known_temperature(exercise, true_temperature, seed):
    z, labels = synthetic(seed)
    got = fitted(exercise, z * true_temperature, labels)
    tolerance = 6 * relative_standard_error(z)
    if abs(got / true_temperature - 1) > tolerance:
        if abs(got * true_temperature - 1) <= 2 * tolerance:
            fail(
                f"the logits are z * {true_temperature} with labels drawn from softmax(z): T "
                f"should be about {true_temperature}, got {got:.4g}, about 1 / "
                f"{true_temperature}: the logits are divided by T, softmax(logits / T), not "
                "multiplied"
            )
        fail(
            f"the logits are z * {true_temperature} with labels drawn from softmax(z): T should "
            f"be {true_temperature} within {tolerance:.1%} (six standard errors of this sample), "
            f"got {got:.4g}"
        )


def test_fit_temperature_of_calibrated_logits_is_1(exercise):
    for seed in range(3):
        z, labels = synthetic(seed, scale=1.5)
        got = fitted(exercise, z, labels)
        tolerance = 6 * relative_standard_error(z)
        assert abs(got - 1) <= tolerance, (
            f"labels drawn from softmax(logits) are calibrated already: T should be 1 within "
            f"{tolerance:.1%}, got {got:.4g}"
        )


def grid_minimum(logits, labels) -> float:
    """The T of the lowest NLL on a grid of log T, refined twice around its best point."""
    low, high = math.log(1e-3), math.log(1e3)
    for _ in range(3):
        grid = np.linspace(low, high, 201)
        losses = [nll(logits, labels, math.exp(u)) for u in grid]
        best = int(np.argmin(losses))
        step = grid[1] - grid[0]
        low, high = grid[best] - step, grid[best] + step
    return math.exp((low + high) / 2)


@settings(max_examples=8)
@given(st.integers(5, 400), st.integers(2, 10), st.integers(0, 2**32 - 1))
def test_fit_temperature_matches_a_fine_grid(exercise, images, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(images, classes)) * rng.uniform(0.5, 5)
    labels = np.where(  # mostly the top answer, some others: a finite best T
        rng.random(images) < 0.8, logits.argmax(axis=1), rng.integers(0, classes, images)
    )
    if np.all(labels == logits.argmax(axis=1)):
        labels[0] = (labels[0] + 1) % classes
    got = fitted(exercise, logits, labels)
    best = grid_minimum(logits, labels)
    if best < 1.01e-3 or best > 0.99e3:
        return  # the minimum is outside the grid (a few images, nearly separable)
    at_got, at_best = nll(logits, labels, got), nll(logits, labels, best)
    assert at_got <= at_best + 1e-9, (
        f"a fine grid of the NLL finds T = {best:.5g} with NLL {at_best:.8f}, lower than "
        f"{at_got:.8f} at your T = {got:.5g}"
    )


def test_fit_temperature_never_raises_the_nll_above_t_1(exercise):
    rng = np.random.default_rng(7)
    for scale, noise in ((0.3, 0.0), (4.0, 0.3), (10.0, 0.05)):
        logits = rng.normal(size=(2000, 10)) * scale
        labels = np.where(
            rng.random(2000) < noise, rng.integers(0, 10, 2000), logits.argmax(axis=1)
        )
        got = fitted(exercise, logits, labels)
        assert nll(logits, labels, got) <= nll(logits, labels, 1.0) + 1e-12, (
            f"the NLL at your T = {got:.4g} is {nll(logits, labels, got):.6f}, above "
            f"{nll(logits, labels, 1.0):.6f} at T = 1: T should minimize it"
        )


def test_fit_temperature_is_right_for_logits_of_magnitude_1e4(exercise):
    z, labels = synthetic(3, images=2000)
    small = fitted(exercise, z, labels)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no nan
        try:
            large = fitted(exercise, z * 1e4, labels)
        except FloatingPointError as error:
            fail(
                f"fit_temperature overflowed on logits of magnitude 1e4 ({error}): subtract "
                "each row's largest logit before exp, as exercise 11's softmax does"
            )
    assert abs(large / (small * 1e4) - 1) <= 1e-6, (
        f"logits 1e4 times larger need a T 1e4 times larger: {small:.6g} * 1e4 = "
        f"{small * 1e4:.6g}, got {large:.6g} (does your search reach that far?)"
    )


# --- the reliability diagram ------------------------------------------------------------------

# Five bins of 0.2: confidences .3 (right) and .35 (wrong) in the second, .7 four times (three
# right) in the fourth, .95 (right) in the fifth; the first and the third are empty.
FIGURE_PROBABILITIES = np.array(
    [
        [0.3, 0.2, 0.2, 0.2, 0.1],
        [0.35, 0.3, 0.2, 0.1, 0.05],
        [0.7, 0.3, 0.0, 0.0, 0.0],
        [0.0, 0.7, 0.3, 0.0, 0.0],
        [0.0, 0.0, 0.7, 0.3, 0.0],
        [0.0, 0.0, 0.0, 0.3, 0.7],
        [0.95, 0.05, 0.0, 0.0, 0.0],
    ]
)
FIGURE_LABELS = np.array([0, 1, 0, 1, 2, 3, 0])
FIGURE_ACCURACIES = {1: 0.5, 3: 0.75, 4: 1.0}  # by bin, the non-empty ones


def drawn_figure(exercise):
    import matplotlib

    pyplot = sys.modules.get("matplotlib.pyplot")
    open_before = list(pyplot.get_fignums()) if pyplot else []
    figure = exercise.reliability_figure(FIGURE_PROBABILITIES, FIGURE_LABELS, bins=5)
    manager = getattr(getattr(figure, "canvas", None), "manager", None)
    pyplot = sys.modules.get("matplotlib.pyplot")
    opened = pyplot is not None and list(pyplot.get_fignums()) != open_before
    if manager is not None or opened:
        fail(
            "make the figure with matplotlib.figure.Figure(...), not pyplot: pyplot keeps every "
            "figure open in a global list (and may open a window)"
        )
    if not isinstance(figure, Figure):
        fail(f"reliability_figure should return a {matplotlib.figure.Figure}, got {figure!r}")
    if len(figure.axes) != 1:
        fail(f"the figure should have one axes, the diagram; it has {len(figure.axes)}")
    return figure, figure.axes[0]


def test_reliability_figure_is_a_figure_made_without_pyplot(exercise):
    drawn_figure(exercise)


def test_reliability_figure_draws_each_bins_accuracy_as_a_bar(exercise):
    _, axes = drawn_figure(exercise)
    bars = [patch for patch in axes.patches if isinstance(patch, Rectangle)]
    heights = {}
    for bar in bars:
        center = bar.get_x() + bar.get_width() / 2
        which = min(int(center * 5), 4)
        if bar.get_height() != 0 or which in FIGURE_ACCURACIES:
            heights.setdefault(which, []).append(round(float(bar.get_height()), 12))
    expected = {b: [accuracy] for b, accuracy in FIGURE_ACCURACIES.items()}
    assert heights == expected, (
        f"with 5 bins the non-empty ones are the 2nd, 4th and 5th, of accuracies 0.5, 0.75 and 1: "
        f"one bar each, centred in its bin, as high as its accuracy (bins by position from 0: "
        f"{expected}); the bars drawn are {heights}"
    )


def test_reliability_figure_draws_the_diagonal_on_labelled_axes(exercise):
    _, axes = drawn_figure(exercise)
    diagonal = False
    for line in axes.get_lines():
        x, y = (np.asarray(values, dtype=float) for values in line.get_data())
        if len(x) >= 2 and np.allclose(x, y) and x.min() <= 0 and x.max() >= 1:
            diagonal = True
    assert diagonal, "draw the diagonal of perfect calibration: a line from (0, 0) to (1, 1)"
    assert tuple(axes.get_xlim()) == (0, 1) and tuple(axes.get_ylim()) == (0, 1), (
        f"both axes should run from 0 to 1, got x {axes.get_xlim()} and y {axes.get_ylim()}"
    )
    xlabel, ylabel = axes.get_xlabel().lower(), axes.get_ylabel().lower()
    assert "confidence" in xlabel and "accuracy" in ylabel, (
        f"label the axes 'confidence' (x) and 'accuracy' (y), got {xlabel!r} and {ylabel!r}"
    )


def test_reliability_figure_shows_the_ece_in_its_title(exercise):
    _, axes = drawn_figure(exercise)
    title = axes.get_title()
    expected = reference_ece(FIGURE_PROBABILITIES, FIGURE_LABELS, 5)
    found = re.search(r"ECE\D*?(\d+(?:\.\d+)?)\s*(%?)", title)
    assert found, f"the title should give the ECE, e.g. 'ECE = {expected:.4f}'; it is {title!r}"
    shown = float(found[1]) / (100 if found[2] else 1)
    assert abs(shown - expected) <= 5e-4, (
        f"the title's ECE reads {shown:g}, the ECE of these 5 bins is {expected:.4f} "
        "(at least three decimals)"
    )


def test_the_three_functions_are_your_own_code(exercise):
    # The three run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call TensorFlow, Keras or the course's library, however reached.
    exercise.expected_calibration_error(HAND_PROBABILITIES, HAND_LABELS)
    exercise.fit_temperature(np.log(HAND_PROBABILITIES + 0.01), HAND_LABELS)
    exercise.reliability_figure(HAND_PROBABILITIES, HAND_LABELS)
