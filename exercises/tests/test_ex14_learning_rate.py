"""Exercise 14, choosing the learning rate: log-spaced rates, divergence, a sweep, a choice, a plot.

The pure functions are checked exactly on hand-made histories and results, and with hypothesis.
`sweep` is checked with small models that record how they were built, compiled and trained,
and on a model made to overflow. The slow test runs the whole sweep from 1e-5 to 1 on 3,000
MNIST digits (a small CNN, one epoch per rate) and checks what a sweep should show: the tiny
rates barely learn, rate 1 diverges, and the rate chosen on validation accuracy lies between
1e-4 and 1e-2.
"""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from mnist_lab.preprocess import normalize, one_hot, stratified_split

EXERCISE = "ex14_learning_rate.py"
SEED = 0
KEYS = ("rate", "loss", "accuracy", "val_loss", "val_accuracy", "diverged")
LN10 = math.log(10)  # the loss of guessing each digit with probability 1/10


def history(loss, val_loss, accuracy, val_accuracy) -> dict:
    return {"loss": loss, "val_loss": val_loss, "accuracy": accuracy, "val_accuracy": val_accuracy}


HEALTHY = history([0.62, 0.21], [0.25, 0.16], [0.81, 0.94], [0.92, 0.95])
SLOW = history([2.29, 2.27], [2.28, 2.26], [0.14, 0.21], [0.22, 0.31])  # a small rate
TINY = history([2.41], [2.41], [0.05], [0.048])  # 1e-5: the network barely moved


def result(rate, val_accuracy, diverged=False, loss=0.5, accuracy=0.9) -> dict:
    return {
        "rate": rate,
        "loss": loss,
        "accuracy": accuracy,
        "val_loss": 0.4,
        "val_accuracy": val_accuracy,
        "diverged": diverged,
    }


# --- learning_rates ---------------------------------------------------------------------------


def test_learning_rates_from_1e5_to_1_are_the_decades(exercise):
    rates = exercise.learning_rates(1e-5, 1.0, 6)
    expected = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    got = np.asarray(rates, dtype=float).tolist()
    assert len(got) == 6 and np.allclose(got, expected, rtol=1e-9, atol=0), (
        f"learning_rates(1e-5, 1, 6) should give one rate per decade, {expected}, but it gave "
        f"{got}: space the logarithms evenly (np.geomspace, or 10 ** np.linspace of the exponents)"
    )


@settings(max_examples=50, report_multiple_bugs=False)
@given(
    low_exponent=st.floats(-8, -1),
    decades=st.floats(0.5, 6),
    count=st.integers(2, 25),
)
def test_learning_rates_are_evenly_spaced_on_a_log_scale(exercise, low_exponent, decades, count):
    low, high = 10**low_exponent, 10 ** (low_exponent + decades)
    rates = np.asarray(exercise.learning_rates(low, high, count), dtype=float)
    assert rates.shape == (count,), (
        f"learning_rates(..., count={count}) gave {rates.shape[0]} rates"
    )
    assert np.isclose(rates[0], low, rtol=1e-9) and np.isclose(rates[-1], high, rtol=1e-9), (
        f"the rates should start at low={low:.6g} and end at high={high:.6g}, but they go from "
        f"{rates[0]:.6g} to {rates[-1]:.6g}"
    )
    ratios = rates[1:] / rates[:-1]
    assert np.allclose(ratios, ratios[0], rtol=1e-6), (
        "each rate should be the one before it times the same factor (evenly spaced logarithms), "
        f"but the factors go from {ratios.min():.6g} to {ratios.max():.6g}: np.linspace spaces "
        "the rates themselves evenly, which puts almost all of them near the high end"
    )


# --- diverged ---------------------------------------------------------------------------------


def test_diverged_is_false_for_a_healthy_training(exercise):
    assert exercise.diverged(HEALTHY) is False, (
        f"a training whose loss falls to 0.21 and whose validation accuracy reaches 95% did "
        f"not diverge, but diverged gave {exercise.diverged(HEALTHY)!r}"
    )


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("creeps down from 2.29 to 2.27, 31% validation accuracy", SLOW),
        ("stays at 2.41, 4.8% validation accuracy", TINY),
    ],
)
def test_diverged_is_false_for_a_tiny_rate_that_barely_moves(exercise, case, value):
    got = exercise.diverged(value)
    assert got is False, (
        f"a training whose loss {case} is slow, not diverged: nothing overflowed and the loss "
        f"stayed near ln 10 = {LN10:.2f}, the loss of guessing. Its accuracy is near chance, as "
        f"a diverged one's is, so accuracy cannot tell them apart; the loss can. diverged gave "
        f"{got!r}"
    )


@pytest.mark.parametrize(
    ("case", "value"),
    [
        ("a NaN training loss", history([2.1, float("nan")], [1.9, 2.0], [0.3, 0.1], [0.4, 0.5])),
        ("an infinite training loss", history([2.1, math.inf], [1.9, 2.0], [0.3, 0.1], [0.4, 0.5])),
        ("a NaN validation loss", history([2.1, 2.0], [1.9, float("nan")], [0.3, 0.4], [0.4, 0.5])),
        ("a loss that blew up to 16", history([14.2, 16.1], [16.0, 16.1], [0.1, 0.1], [0.1, 0.11])),
    ],
)
def test_diverged_is_true_for_a_training_that_blew_up(exercise, case, value):
    got = exercise.diverged(value)
    assert got is True, (
        f"a training with {case} diverged (history {value}), but diverged gave {got!r}: look at "
        f"every loss and val_loss with math.isfinite, and compare the last loss with "
        f"DIVERGED_LOSS, twice ln 10"
    )


def test_diverged_looks_at_the_last_loss(exercise):
    recovered = history([9.3, 1.2, 0.4], [2.2, 0.9, 0.3], [0.1, 0.6, 0.9], [0.1, 0.7, 0.92])
    got = exercise.diverged(recovered)
    assert got is False, (
        "a loss of 9.3 in the first epoch and 0.4 in the last is a training that started badly "
        f"and recovered, not one that diverged; diverged gave {got!r}"
    )


@settings(max_examples=60, report_multiple_bugs=False)
@given(
    epochs=st.integers(1, 4),
    data=st.data(),
)
def test_diverged_on_drawn_histories(exercise, epochs, data):
    losses = st.lists(st.floats(0.01, 2.5), min_size=epochs, max_size=epochs)
    accuracies = st.lists(st.floats(0, 1), min_size=epochs, max_size=epochs)
    value = history(
        data.draw(losses), data.draw(losses), data.draw(accuracies), data.draw(accuracies)
    )
    assert exercise.diverged(value) is False, (
        f"losses that stay finite and at most 2.5 are not a divergence, but diverged gave "
        f"{exercise.diverged(value)!r} for {value}"
    )
    key = data.draw(st.sampled_from(["loss", "val_loss"]))
    where = data.draw(st.integers(0, epochs - 1))
    broken = {name: list(values) for name, values in value.items()}
    broken[key][where] = data.draw(st.sampled_from([float("nan"), math.inf]))
    assert exercise.diverged(broken) is True, (
        f"history[{key!r}][{where}] is {broken[key][where]}: that training diverged, but "
        f"diverged gave {exercise.diverged(broken)!r}"
    )
    blown = {name: list(values) for name, values in value.items()}
    blown["loss"][-1] = data.draw(st.floats(6, 1e6))
    assert exercise.diverged(blown) is True, (
        f"a last training loss of {blown['loss'][-1]:.4g}, far above ln 10 = {LN10:.2f}, is a "
        f"training that blew up, but diverged gave {exercise.diverged(blown)!r}"
    )


# --- choose_rate ------------------------------------------------------------------------------


def test_choose_rate_takes_the_best_validation_accuracy(exercise):
    results = [result(1e-4, 0.80), result(1e-3, 0.95), result(1e-2, 0.93)]
    got = exercise.choose_rate(results)
    assert got == 1e-3, (
        f"among validation accuracies 0.80 (1e-4), 0.95 (1e-3) and 0.93 (1e-2), choose_rate "
        f"should choose 1e-3, but it chose {got!r}"
    )


def test_choose_rate_decides_on_validation_not_training_accuracy(exercise):
    results = [
        result(1e-3, 0.95, accuracy=0.93),
        result(1e-2, 0.93, accuracy=0.99),  # fits its training images best, validates worse
    ]
    got = exercise.choose_rate(results)
    assert got == 1e-3, (
        "choose_rate should decide on val_accuracy (images the model did not train on): 1e-3 "
        f"validates at 0.95, 1e-2 at 0.93 although it scores 0.99 on its training images; it "
        f"chose {got!r}"
    )


def test_choose_rate_skips_diverged_rates(exercise):
    results = [result(1e-3, 0.95), result(1e-1, 0.97, diverged=True), result(1.0, 0.1, True)]
    got = exercise.choose_rate(results)
    assert got == 1e-3, (
        f"a rate marked diverged is never chosen, whatever its numbers; choose_rate chose {got!r} "
        "instead of 1e-3"
    )


def test_choose_rate_refuses_when_every_rate_diverged(exercise):
    results = [result(0.1, 0.1, diverged=True), result(1.0, 0.098, diverged=True)]
    with pytest.raises(ValueError):
        chosen = exercise.choose_rate(results)
        pytest.fail(
            f"every rate diverged, so there is nothing to choose: choose_rate should raise "
            f"ValueError, but it returned {chosen!r}",
            pytrace=False,
        )


@settings(max_examples=60, report_multiple_bugs=False)
@given(
    accuracies=st.lists(st.floats(0, 1), min_size=1, max_size=8, unique=True),
    data=st.data(),
)
def test_choose_rate_on_drawn_results(exercise, accuracies, data):
    rates = [10.0**-k for k in range(len(accuracies))]
    flags = data.draw(st.lists(st.booleans(), min_size=len(rates), max_size=len(rates)))
    if all(flags):
        flags[0] = False
    results = [result(r, a, d) for r, a, d in zip(rates, accuracies, flags, strict=True)]
    kept = [r for r in results if not r["diverged"]]
    expected = max(kept, key=lambda r: r["val_accuracy"])["rate"]
    got = exercise.choose_rate(results)
    assert got == expected, (
        f"choose_rate should choose {expected!r}, the rate with the best val_accuracy among "
        f"those not diverged, but it chose {got!r} from {results}"
    )


# --- plot_sweep -------------------------------------------------------------------------------


RESULTS = [
    result(1e-5, 0.21, loss=2.28),
    result(1e-4, 0.71, loss=1.35),
    result(1e-3, 0.93, loss=0.41),
    result(1e-2, 0.96, loss=0.22),
    result(1e-1, 0.55, loss=1.90),
    result(1.0, 0.098, diverged=True, loss=float("nan")),
]


def plotted_points(figure) -> list[tuple[float, float]]:
    """Every finite (x, y) point drawn on the figure's axes, by lines or by scatter."""
    points = []
    for axes in figure.axes:
        for line in axes.get_lines():
            xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            points += list(zip(xs.tolist(), ys.tolist(), strict=True))
        for collection in axes.collections:
            if isinstance(collection, PathCollection):
                points += [(float(x), float(y)) for x, y in np.asarray(collection.get_offsets())]
    return [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]


def drawn(point, points) -> bool:
    return any(
        math.isclose(point[0], x, rel_tol=1e-9) and math.isclose(point[1], y, rel_tol=1e-9)
        for x, y in points
    )


def plotted(exercise) -> Figure:
    figure = exercise.plot_sweep(RESULTS)
    assert isinstance(figure, Figure), (
        f"plot_sweep should return a matplotlib.figure.Figure, got {type(figure).__name__}"
    )
    assert figure.axes, "plot_sweep's figure has no axes: figure.subplots() makes one"
    return figure


def test_plot_sweep_draws_the_loss_of_every_rate(exercise):
    points = plotted_points(plotted(exercise))
    expected = [(r["rate"], r["loss"]) for r in RESULTS if math.isfinite(r["loss"])]
    missing = [point for point in expected if not drawn(point, points)]
    assert not missing, (
        "plot_sweep should draw a point at (rate, final training loss) for every rate with a "
        f"finite loss; these are missing: {missing} (drawn: {sorted(points)})"
    )


def test_plot_sweep_has_a_log_rate_axis(exercise):
    axes = plotted(exercise).axes[0]
    assert axes.get_xscale() == "log", (
        "the rates go from 1e-5 to 1: on a linear axis all but the last two sit on top of each "
        f"other. Set axes.set_xscale('log') (the x scale is {axes.get_xscale()!r})"
    )


def test_plot_sweep_labels_its_axes(exercise):
    axes = plotted(exercise).axes[0]
    xlabel, ylabel = axes.get_xlabel().lower(), axes.get_ylabel().lower()
    assert "rate" in xlabel, (
        f"the x axis should say it shows the learning rate; it reads {xlabel!r}"
    )
    assert "loss" in ylabel, f"the y axis should say it shows the loss; it reads {ylabel!r}"


def test_plot_sweep_does_not_use_pyplot(exercise):
    figure = plotted(exercise)
    assert getattr(figure.canvas, "manager", None) is None, (
        "make the figure with matplotlib.figure.Figure(...), not pyplot: pyplot keeps every "
        "figure open in a global list (and may open a window)"
    )


# --- sweep, with small models -----------------------------------------------------------------


class Builder:
    """A build_model that remembers each model it built and its initial weights."""

    def __init__(self, broken: bool = False):
        self.models: list = []
        self.initial: list = []
        self.broken = broken

    def __call__(self):
        # Weights near float32's largest value: the first sums overflow to inf, and inf - inf
        # is NaN, as in a training whose learning rate is far too large.
        initializer = (
            keras.initializers.RandomNormal(stddev=1e38, seed=SEED)
            if self.broken
            else "glorot_uniform"
        )
        model = keras.Sequential(
            [
                keras.Input(shape=(28, 28, 1)),
                keras.layers.Flatten(),
                keras.layers.Dense(10, activation="softmax", kernel_initializer=initializer),
            ]
        )
        self.models.append(model)
        self.initial.append([np.array(w) for w in model.get_weights()])
        return model


def small_data(mnist, size=200, start=0):
    images = mnist.train.images[start : start + size]
    return normalize(images), one_hot(mnist.train.labels[start : start + size])


RATES = [1e-3, 3e-3, 1e-2]
_swept: dict = {}  # the one small sweep, shared by the tests that read it


def small_sweep(exercise, mnist, rates=RATES, builder=None):
    """(results, builder, validation data) of a sweep: 2 epochs at batch 50 on 200 digits."""
    if builder is None and rates == RATES and _swept.get("exercise") is exercise:
        return _swept["outcome"]
    builder = builder or Builder()
    x, y = small_data(mnist, 200)
    x_val, y_val = small_data(mnist, 100, start=1000)
    results = exercise.sweep(
        list(rates), builder, x, y, x_val, y_val, epochs=2, batch_size=50, seed=SEED
    )
    outcome = results, builder, (x_val, y_val)
    if rates == RATES:
        _swept.update(exercise=exercise, outcome=outcome)
    return outcome


def test_sweep_gives_one_result_per_rate_in_order(exercise, mnist):
    rates = RATES
    results, _, _ = small_sweep(exercise, mnist)
    assert isinstance(results, list) and len(results) == 3, (
        f"sweep of 3 rates should return a list of 3 results, got {results!r}"
    )
    for rate, row in zip(rates, results, strict=True):
        missing = [key for key in KEYS if key not in row]
        assert not missing, f"each result should have the keys {list(KEYS)}; {missing} missing"
        assert row["rate"] == rate, (
            f"the results should follow the rates' order, but result for {rate} says rate "
            f"{row['rate']!r}"
        )
        for key in KEYS[1:5]:
            assert isinstance(row[key], float), (
                f"result[{key!r}] should be a float (the last epoch's value), got "
                f"{type(row[key]).__name__}: take history[{key!r}][-1] and float(...) it"
            )
        assert isinstance(row["diverged"], (bool, np.bool_)), (
            f"result['diverged'] should be True or False, got {row['diverged']!r}"
        )


def test_sweep_starts_every_rate_from_the_same_weights(exercise, mnist):
    _, builder, _ = small_sweep(exercise, mnist)
    assert len(builder.models) == 3, (
        f"sweep should build a fresh model for each of the 3 rates, but it built "
        f"{len(builder.models)}: a model trained at one rate would start the next one ahead"
    )
    first = builder.initial[0]
    for number, weights in enumerate(builder.initial[1:], start=2):
        same = all(np.array_equal(a, b) for a, b in zip(first, weights, strict=True))
        assert same, (
            f"model {number} started from other weights than model 1: call "
            "keras.utils.set_random_seed(seed) right before each build_model(), so the rates "
            "are compared from the same start"
        )


def test_sweep_compiles_adam_at_each_rate_and_trains_as_asked(exercise, mnist):
    _, builder, _ = small_sweep(exercise, mnist)
    assert len(builder.models) == len(RATES), (
        f"sweep should build one model per rate with build_model(), but it built "
        f"{len(builder.models)} for {len(RATES)} rates"
    )
    for rate, model in zip(RATES, builder.models, strict=True):
        optimizer = getattr(model, "optimizer", None)
        assert isinstance(optimizer, keras.optimizers.Adam), (
            f"each model should be compiled with keras.optimizers.Adam, got "
            f"{type(optimizer).__name__}"
        )
        got = float(np.asarray(optimizer.learning_rate))
        assert math.isclose(got, rate, rel_tol=1e-6), (
            f"the model for rate {rate} was compiled with learning rate {got:g}"
        )
        steps = int(np.asarray(optimizer.iterations))
        assert steps == 8, (
            "sweep(..., epochs=2, batch_size=50) on 200 images should train 2 epochs of 4 "
            f"steps, 8 in all, but the model for rate {rate} took {steps}: pass epochs and "
            "batch_size on to fit"
        )


def test_sweep_measures_on_the_validation_images(exercise, mnist):
    results, builder, (x_val, y_val) = small_sweep(exercise, mnist)
    assert builder.models and len(results) == len(RATES), (
        "sweep should build each model with build_model() and return one result per rate"
    )
    loss, accuracy = builder.models[-1].evaluate(x_val, y_val, verbose=0)[:2]
    row = results[-1]
    assert math.isclose(row["val_accuracy"], accuracy, abs_tol=1e-6), (
        f"result['val_accuracy'] should be the trained model's accuracy on the validation "
        f"images ({accuracy:.4f}), but it is {row['val_accuracy']!r}: pass "
        "validation_data=(x_val, y_val) to fit and take history['val_accuracy'][-1]"
    )
    assert math.isclose(row["val_loss"], loss, rel_tol=1e-4, abs_tol=1e-6), (
        f"result['val_loss'] should be the trained model's loss on the validation images "
        f"({loss:.4f}), but it is {row['val_loss']!r}"
    )


def test_sweep_marks_an_overflowing_training_as_diverged(exercise, mnist):
    results, _, _ = small_sweep(exercise, mnist, [1e-3], builder=Builder(broken=True))
    assert results[0]["diverged"], (
        "a model whose weights overflow gives NaN probabilities and a NaN loss: its result "
        f"should say diverged=True (from diverged(history)), but it is {results[0]}"
    )


# --- the real sweep ---------------------------------------------------------------------------

POOL, VALIDATION_FRACTION, BATCH_SIZE = 3600, 1 / 6, 64  # 3,000 to train on, 600 to validate


def small_cnn() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.slow
def test_the_sweep_from_1e5_to_1_chooses_a_sensible_rate(exercise, mnist, note):
    rng = np.random.default_rng(SEED)
    pool = np.sort(rng.permutation(len(mnist.train.labels))[:POOL])
    labels = mnist.train.labels[pool]
    train_idx, val_idx = stratified_split(labels, VALIDATION_FRACTION, SEED)
    x, y = normalize(mnist.train.images[pool]), one_hot(labels)
    rates = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    results = exercise.sweep(
        rates, small_cnn, x[train_idx], y[train_idx], x[val_idx], y[val_idx],
        epochs=1, batch_size=BATCH_SIZE, seed=SEED,
    )  # fmt: skip
    table = ", ".join(
        f"{r['rate']:g}: loss {r['loss']:.3g}, validation {r['val_accuracy']:.1%}"
        + (" (diverged)" if r["diverged"] else "")
        for r in results
    )
    best = max(r["val_accuracy"] for r in results)
    for tiny in results[:2]:
        assert tiny["loss"] > 1.5 and tiny["val_accuracy"] < best - 0.3, (
            f"at {tiny['rate']:g} the network should barely learn in one epoch (a loss still "
            f"near ln 10 = {LN10:.2f}), but: {table}. Is each model compiled with its own rate?"
        )
    assert not results[0]["diverged"], (
        f"at 1e-5 the network barely moves: its loss stays near ln 10 = {LN10:.2f} and its "
        "accuracy near chance, but nothing blew up, so it did not diverge; a rule on accuracy "
        f"alone cannot tell it from a rate that blew up, the loss can. {table}"
    )
    assert results[-1]["diverged"], (
        "at rate 1 Adam's steps are far too large and the training should be marked diverged "
        f"(a NaN loss, or a loss far above ln 10 = {LN10:.2f}), but: {table}"
    )
    chosen = exercise.choose_rate(results)
    kept = [r for r in results if not r["diverged"]]
    expected = max(kept, key=lambda r: r["val_accuracy"])["rate"]
    assert chosen == expected, (
        f"choose_rate should choose the rate with the best validation accuracy among those not "
        f"diverged, {expected:g}, but it chose {chosen:g}: {table}"
    )
    assert 1e-4 <= chosen <= 1e-2, (
        f"the chosen rate should be between 1e-4 and 1e-2 for Adam on this network, but it is "
        f"{chosen:g}: {table}"
    )
    note(f"learning-rate sweep, one epoch on 3,000 digits each: {table}; chosen {chosen:g}")
