"""Exercise 24, He and Glorot initialization: compared with Keras's fans and distributions.

`fan_in_and_out` is checked on hand examples (a convolution's receptive field forgotten shows)
and against Keras on kernel shapes that hypothesis draws: `keras.initializers.VarianceScaling`
(uniform, mode fan_in or fan_out) draws the same numbers as `RandomUniform(-1, 1)` of the same
seed times its limit sqrt(3 / fan), so the fans Keras used are read back from its own weights.
`he_normal` and `glorot_uniform` are judged on big samples by statistics whose sampling error is
known: the mean of the squares against the variance (2 / fan_in, 2 / (fan_in + fan_out)) within
5 standard errors computed from the distribution's fourth moment, the share of values in bins of
|value| against the truncated normal's or the uniform's, within 5 binomial standard errors, no
value beyond two standard deviations (or the limit), and the spread of Keras's own HeNormal and
GlorotUniform. The seeds are drawn by hypothesis (fixed in CI). Finally: float32 of exactly the
shape given, the same weights for the same seed, different weights for another, every number
drawn from the rng given and none from np.random's global state.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

keras = LazyModule("keras")  # imported by the first test that needs it

EXERCISE = "ex24_initialization.py"
TRUNCATED_STD = 0.87962566103423978  # a standard normal cut to [-2, 2] has this spread
STANDARD_ERRORS = 5  # a right initializer is this far off by chance about once in 1.7 million
FLOAT32_ROOM = 1 + 1e-6  # a bound written in float64 may round up by this in float32

# Kernel shapes: dense (D, M) and convolution (kh, kw, C, F).
dense_shapes = st.tuples(st.integers(1, 64), st.integers(1, 64))
conv_shapes = st.tuples(*[st.integers(1, 7)] * 2, *[st.integers(1, 32)] * 2)
kernel_shapes = dense_shapes | conv_shapes
seeds = st.integers(0, 2**32 - 1)

# Big samples for the statistics: a dense kernel and a convolution, each fan_in != fan_out.
BIG_SHAPES = [(784, 256), (3, 3, 64, 256)]


def fail(message: str):
    """Fail with `message` alone (an AssertionError: the check shows it without hypothesis's
    example)."""
    raise AssertionError(message)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fans, computed here (the tests compare this rule with Keras's weights)."""
    field = math.prod(shape[:-2])
    return shape[-2] * field, shape[-1] * field


def phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def normal_share(a: float, b: float) -> float:
    """P(a <= |z| < b) for z a standard normal truncated to [-2, 2]."""
    mass = math.erf(2 / math.sqrt(2))
    return (math.erf(b / math.sqrt(2)) - math.erf(a / math.sqrt(2))) / mass


# The truncated standard normal's moments: E[z^2] = TRUNCATED_STD**2, and E[z^4].
TRUNCATED_FOURTH = 3 - 2 * phi(2) * (2**3 + 3 * 2) / math.erf(2 / math.sqrt(2))
UNIFORM_KURTOSIS = 9 / 5  # E[x^4] / E[x^2]^2 of a uniform on [-1, 1]: (1/5) / (1/3)^2


# --- calling the exercise ----------------------------------------------------------------------


def weights(exercise, name: str, shape, seed: int = 0) -> np.ndarray:
    """The exercise's `name`(shape, default_rng(seed)), checked for type, shape and dtype."""
    got = getattr(exercise, name)(shape, np.random.default_rng(seed))
    if got is None:
        fail(f"{name} returned None: did you forget the return?")
    if not isinstance(got, np.ndarray):
        fail(f"{name} should return a numpy array, got {type(got).__name__}")
    if got.shape != tuple(shape):
        fail(f"{name}({shape}, rng) should have the shape {tuple(shape)}, got {got.shape}")
    if got.dtype != np.float32:
        fail(
            f"{name} should return float32 (what Keras layers hold), got {got.dtype}: "
            "finish with .astype(np.float32)"
        )
    if not np.all(np.isfinite(got)):
        fail(f"{name}({shape}, rng) holds values that are not finite")
    return got


def fans_of(exercise, shape) -> tuple[int, int]:
    got = exercise.fan_in_and_out(shape)
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(f"fan_in_and_out should return (fan_in, fan_out), got {got!r}")
    for value in got:
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            fail(f"fan_in_and_out should return two ints, got {got!r}: use int(...)")
    return int(got[0]), int(got[1])


def keras_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """The fans Keras uses, read back from its weights: VarianceScaling(uniform) divided by
    RandomUniform(-1, 1) of the same seed is its limit sqrt(3 / fan), the same in every entry."""
    unit = np.asarray(keras.initializers.RandomUniform(-1.0, 1.0, seed=7)(shape, "float64"))
    found = []
    for mode in ("fan_in", "fan_out"):
        scaled = keras.initializers.VarianceScaling(1.0, mode, "uniform", seed=7)
        limit = np.asarray(scaled(shape, "float64")) / unit
        assert np.ptp(limit) < 1e-9 * limit.max(), "Keras no longer scales one uniform draw"
        found.append(round(3 / float(limit.mean()) ** 2))
    return found[0], found[1]


# --- the statistics ----------------------------------------------------------------------------


def spread_problem(values: np.ndarray, variance: float, kurtosis: float) -> str | None:
    """How the mean and the mean of the squares of `values` differ from a distribution of mean
    0, this variance and this kurtosis (E[x^4] / variance^2) by more than the standard errors
    allow; None if they do not."""
    n = values.size
    values = values.astype(np.float64)
    mean, square = float(values.mean()), float(np.mean(values**2))
    mean_error = math.sqrt(variance / n)
    if abs(mean) > STANDARD_ERRORS * mean_error:
        return (
            f"the mean of {n:,} values is {mean:.3g}, {abs(mean) / mean_error:.0f} standard "
            "errors from 0: the weights must be centred on 0"
        )
    square_error = variance * math.sqrt((kurtosis - 1) / n)
    if abs(square - variance) > STANDARD_ERRORS * square_error:
        return (
            f"the variance of {n:,} values is {square:.4g}, {square / variance:.3f} times "
            f"{variance:.4g} ({abs(square - variance) / square_error:.0f} standard errors away)"
        )
    return None


def share_problem(scaled: np.ndarray, bins: list[tuple[float, float, float]]) -> str | None:
    """The bin (low, high, expected share) of |scaled| whose share is the most binomial
    standard errors away, if more than STANDARD_ERRORS; None if none."""
    size = np.abs(scaled.astype(np.float64)).ravel()
    worst, said = STANDARD_ERRORS, None
    for low, high, expected in bins:
        share = float(np.mean((size >= low) & (size < high)))
        away = abs(share - expected) / math.sqrt(expected * (1 - expected) / size.size)
        if away > worst:
            worst = away
            said = (
                f"{share:.2%} of the values are between {low:g} and {high:.3g} (expected "
                f"{expected:.2%}, {away:.0f} standard errors away)"
            )
    return said


# --- the fans ----------------------------------------------------------------------------------


def test_fans_of_hand_examples(exercise):
    cases = {(784, 128): (784, 128), (3, 3, 1, 32): (9, 288), (5, 3, 2, 7): (30, 105)}
    for shape, (fan_in, fan_out) in cases.items():
        got = fans_of(exercise, shape)
        if got == (fan_in, fan_out):
            continue
        said = f"fan_in_and_out({shape}) gave {got}, not ({fan_in}, {fan_out})"
        if len(shape) == 4 and got in {(shape[2], shape[3]), (shape[2], fan_out)}:
            fail(
                f"{said}: the receptive field is missing. Each output of a (kh, kw, C, F) kernel "
                "adds up kh * kw * C numbers, so fan_in = kh * kw * C and fan_out = kh * kw * F"
            )
        if got == (fan_out, fan_in):
            fail(f"{said}: fan_in and fan_out are swapped; a kernel's channels in come first")
        fail(f"{said}: fan_in is the receptive field times the channels in (shape[-2])")


@settings(max_examples=20)
@given(shape=kernel_shapes)
def test_fans_match_keras(exercise, shape):
    got = fans_of(exercise, shape)  # first: a stub fails before TensorFlow is imported
    expected = keras_fans(shape)
    assert fans(shape) == expected, "these tests' own rule differs from Keras's"
    assert got == expected, (
        f"fan_in_and_out({shape}) gave {got}, where Keras's VarianceScaling uses {expected}"
    )


# --- shapes, dtypes and the rng ----------------------------------------------------------------


@settings(max_examples=20)
@given(shape=kernel_shapes, seed=seeds)
def test_initializers_return_float32_of_the_shape_given(exercise, shape, seed):
    for name in ("he_normal", "glorot_uniform"):
        got = weights(exercise, name, shape, seed)
        if got.size > 8 and np.unique(got).size < got.size // 2:
            fail(f"{name}({shape}, rng) repeats its values: draw each one from rng")


def test_the_same_seed_gives_the_same_weights(exercise):
    for name in ("he_normal", "glorot_uniform"):
        np.random.seed(1)  # np.random's global state differs between the two calls
        first = weights(exercise, name, (5, 3, 2, 7), seed=42)
        np.random.seed(2)
        state = np.random.get_state()
        second = weights(exercise, name, (5, 3, 2, 7), seed=42)
        if not np.array_equal(first, second):
            fail(
                f"{name} gave different weights for two rngs of the same seed: draw every "
                "number from the rng you were given (rng.standard_normal, rng.uniform), never "
                "from np.random's global functions or a new generator"
            )
        if not all(np.array_equal(a, b) for a, b in zip(state, np.random.get_state(), strict=True)):
            fail(
                f"{name} drew from np.random's global state: draw every number from the rng "
                "you were given (rng.standard_normal, rng.uniform)"
            )


def test_different_seeds_give_different_weights_from_the_rng_given(exercise):
    for name in ("he_normal", "glorot_uniform"):
        rng = np.random.default_rng(3)
        before = rng.bit_generator.state
        getattr(exercise, name)((16, 8), rng)
        if rng.bit_generator.state == before:
            fail(
                f"{name} never drew from the rng it was given: use rng.standard_normal, rng.uniform"
            )
        if np.array_equal(weights(exercise, name, (16, 8), 0), weights(exercise, name, (16, 8), 1)):
            fail(f"{name} gave the same weights for the seeds 0 and 1: draw them from the rng")


# --- He normal ---------------------------------------------------------------------------------


@settings(max_examples=3)
@given(seed=seeds)
def test_he_normal_has_the_variance_2_over_fan_in(exercise, seed):
    kurtosis = TRUNCATED_FOURTH / TRUNCATED_STD**4
    for shape in BIG_SHAPES:
        variance = 2 / fans(shape)[0]
        got = weights(exercise, "he_normal", shape, seed)
        problem = spread_problem(got, variance, kurtosis)
        if problem is None:
            continue
        why = "He's variance is 2 / fan_in"
        if abs(float(np.mean(got.astype(np.float64) ** 2)) / variance - TRUNCATED_STD**2) < 0.01:
            why = (
                "that is the normal truncated without Keras's correction: cutting it at two "
                f"standard deviations narrows its spread to {TRUNCATED_STD:.4f} of its stddev, "
                f"so Keras draws with stddev = sqrt(2 / fan_in) / {TRUNCATED_STD}"
            )
        fail(f"he_normal({shape}, rng): {problem}: {why}")


@settings(max_examples=3)
@given(seed=seeds)
def test_he_normal_is_truncated_at_two_standard_deviations(exercise, seed):
    for shape in BIG_SHAPES:
        stddev = math.sqrt(2 / fans(shape)[0]) / TRUNCATED_STD
        got = weights(exercise, "he_normal", shape, seed)
        beyond = int(np.sum(np.abs(got.astype(np.float64)) > 2 * stddev * FLOAT32_ROOM))
        if beyond:
            fail(
                f"he_normal({shape}, rng): {beyond:,} of {got.size:,} values lie beyond two "
                f"standard deviations (2 * {stddev:.4g}): Keras's He normal is truncated, a "
                "value beyond is drawn again"
            )
        # The shape of the truncated normal: how many values in each band of |value| / stddev
        # (a normal clipped to the bound piles its tail at 2; a uniform is flat).
        bands = [(0, 0.5), (0.5, 1), (1, 1.5), (1.5, 1.95), (1.95, 2 * FLOAT32_ROOM)]
        problem = share_problem(
            got / stddev, [(low, high, normal_share(low, min(high, 2))) for low, high in bands]
        )
        if problem:
            fail(
                f"he_normal({shape}, rng): in units of the stddev {stddev:.4g}, {problem} for "
                "a normal truncated at 2: draw normals and draw again each one beyond 2 (not "
                "clipped to 2, not uniform)"
            )


# --- Glorot uniform ----------------------------------------------------------------------------


@settings(max_examples=3)
@given(seed=seeds)
def test_glorot_uniform_has_the_variance_2_over_fan_in_plus_fan_out(exercise, seed):
    for shape in BIG_SHAPES:
        fan_in, fan_out = fans(shape)
        variance = 2 / (fan_in + fan_out)
        got = weights(exercise, "glorot_uniform", shape, seed)
        problem = spread_problem(got, variance, UNIFORM_KURTOSIS)
        if problem is None:
            continue
        measured = float(np.mean(got.astype(np.float64) ** 2))
        why = "Glorot's variance is 2 / (fan_in + fan_out), limit sqrt(6 / (fan_in + fan_out))"
        for fan, said in ((fan_in, "fan_in"), (fan_out, "fan_out")):
            if abs(measured * fan / 2 - 1) < 0.02:
                why = (
                    f"that is 2 / {said}, the limit of sqrt(6 / {said}): Glorot's limit is "
                    "sqrt(6 / (fan_in + fan_out)), a compromise between the forward and the "
                    "backward pass"
                )
        fail(f"glorot_uniform({shape}, rng): {problem}: {why}")


@settings(max_examples=3)
@given(seed=seeds)
def test_glorot_uniform_is_uniform_within_the_limit(exercise, seed):
    for shape in BIG_SHAPES:
        limit = math.sqrt(6 / sum(fans(shape)))
        got = weights(exercise, "glorot_uniform", shape, seed)
        beyond = int(np.sum(np.abs(got.astype(np.float64)) > limit * FLOAT32_ROOM))
        if beyond:
            fail(
                f"glorot_uniform({shape}, rng): {beyond:,} of {got.size:,} values lie beyond "
                f"the limit sqrt(6 / (fan_in + fan_out)) = {limit:.4g}"
            )
        quarters = [(q / 4, (q + 1) / 4 if q < 3 else FLOAT32_ROOM, 0.25) for q in range(4)]
        problem = share_problem(got / limit, quarters)
        if problem:
            fail(
                f"glorot_uniform({shape}, rng): in units of the limit {limit:.4g}, {problem} "
                "for a uniform on [-limit, limit]"
            )


# --- against Keras's own initializers ----------------------------------------------------------


def test_the_spread_matches_keras_initializers(exercise):
    # Both samples of 200,704 values: the mean of the squares must agree within 5 standard
    # errors of their difference, and yours goes past Keras's largest value by 1% at most.
    shape = (784, 256)
    for name, initializer, kurtosis in (
        ("he_normal", "HeNormal", TRUNCATED_FOURTH / TRUNCATED_STD**4),
        ("glorot_uniform", "GlorotUniform", UNIFORM_KURTOSIS),
    ):
        mine = weights(exercise, name, shape, seed=1).astype(np.float64)
        theirs = np.asarray(getattr(keras.initializers, initializer)(seed=1)(shape), np.float64)
        variance = float(np.mean(theirs**2))
        error = variance * math.sqrt(2 * (kurtosis - 1) / theirs.size)
        difference = float(np.mean(mine**2)) - variance
        assert abs(difference) <= STANDARD_ERRORS * error, (
            f"{name}'s variance {np.mean(mine**2):.4g} differs from keras.initializers."
            f"{initializer}'s {variance:.4g} by {abs(difference) / error:.0f} "
            "standard errors"
        )
        largest, keras_largest = float(np.abs(mine).max()), float(np.abs(theirs).max())
        assert largest <= keras_largest * 1.01, (
            f"{name}'s largest value {largest:.4g} lies beyond the largest of keras.initializers."
            f"{initializer} ({keras_largest:.4g}) on {theirs.size:,} values"
        )


def test_the_three_functions_are_your_own_code(exercise):
    # They run under the own-code rule of the manifest, as in every test: this one fails alone
    # when they call TensorFlow, Keras or the course's library, however reached.
    exercise.fan_in_and_out((3, 3, 1, 8))
    exercise.he_normal((3, 3, 1, 8), np.random.default_rng(0))
    exercise.glorot_uniform((3, 3, 1, 8), np.random.default_rng(0))
