"""Exercise 18, the gradient check: compared with TensorFlow's automatic differentiation.

`numerical_gradient` is compared with the exact gradient on hand examples (where a one-sided
difference or an eps not used shows) and with `tf.GradientTape` in float64 on arrays and
functions that hypothesis draws; `relative_error` with its definition on hand examples (two
zeros agree; the largest entry counts, not the mean) and on drawn arrays. A float32 forward pass
is shown to be checkable only to about 1e-2, as the page says.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex18_gradient_check.py"
TOLERANCE = 1e-6  # a right gradient in float64 agrees with the exact one to this or better

# (shape, seed): 1 to 3 axes of 1 to 4 entries.
arrays = st.tuples(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2**32 - 1))


def fail(message: str):
    """Fail with `message` alone (an AssertionError: the check shows it without hypothesis's
    example)."""
    raise AssertionError(message)


def show(values, most: int = 6) -> str:
    """An array written short, on one line: 4 significant digits, `most` values per axis."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return f"{float(values):.4g}"
    shown = [show(value, most) for value in values[:most]]
    return "[" + ", ".join(shown + ["..."] * (len(values) > most)) + "]"


def worst(got: np.ndarray, expected: np.ndarray) -> float:
    """The largest relative error, computed here (not with the exercise's relative_error)."""
    denominator = np.maximum(np.abs(got) + np.abs(expected), 1e-8)
    return float(np.max(np.abs(got - expected) / denominator))


def gradient_of(exercise, f, x: np.ndarray, **options) -> np.ndarray:
    """The exercise's numerical gradient of f at a copy of x, checked for shape and dtype."""
    given = x.copy()
    got = exercise.numerical_gradient(f, given, **options)
    if got is None:
        fail("numerical_gradient returned None: did you forget the return?")
    got = np.asarray(got)
    if got.shape != x.shape:
        fail(f"numerical_gradient should return an array shaped like x, {x.shape}; got {got.shape}")
    if not np.array_equal(given, x):
        fail(
            f"numerical_gradient changed the x it was given, to {show(given)}: nudge a copy "
            "(up = x.copy()), or put each number back exactly as it was"
        )
    return got


def gradient_problem(got: np.ndarray, expected: np.ndarray, f_of, x: np.ndarray, eps: float):
    """What is wrong with a numerical gradient, in plain words; None if nothing."""
    error = worst(got, expected)
    if error <= TOLERANCE:
        return None
    said = (
        f"numerical_gradient gave {show(got)} where the exact gradient is {show(expected)} "
        f"(relative error {error:.2g}, more than {TOLERANCE:g})"
    )
    flat = x.reshape(-1)
    one_sided = np.array(
        [(f_of(flat + eps * np.eye(flat.size)[i]) - f_of(flat)) / eps for i in range(flat.size)]
    ).reshape(x.shape)
    if worst(got, one_sided) < 1e-6:
        return (
            f"{said}: that is the one-sided difference (f(x + eps) - f(x)) / eps, whose error "
            "shrinks only like eps. Take the central one, (f(x + eps) - f(x - eps)) / (2 * eps)"
        )
    if worst(got, 2 * expected) < 1e-6:
        return f"{said}: twice the slope. The two points are 2 * eps apart: divide by 2 * eps"
    if worst(got, expected / 2) < 1e-6:
        return f"{said}: half the slope. The two points are 2 * eps apart, not 4 * eps"
    if np.allclose(got, got.reshape(-1)[0]) and x.size > 1:
        return f"{said}: every entry is the same. Nudge one entry of x at a time, not all at once"
    return f"{said}: nudge one entry at a time, up by eps and down by eps, each from the same x"


def test_numerical_gradient_of_a_hand_example(exercise):
    # f(x) = sum(x**2) has the gradient 2x; the central difference of a quadratic is exact.
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    got = gradient_of(exercise, lambda z: float(np.sum(z**2)), x)
    problem = gradient_problem(got, 2 * x, lambda z: float(np.sum(z**2)), x, 1e-5)
    assert problem is None, f"for f(x) = sum(x**2) at x = {show(x)}, {problem}"


def test_numerical_gradient_is_the_central_difference(exercise):
    # f(x) = sum(x**3): the gradient 3x**2; a one-sided difference errs by about 3 x eps.
    x = np.array([1.0, 2.0, -1.5])
    cubic = lambda z: float(np.sum(z**3))  # noqa: E731
    got = gradient_of(exercise, cubic, x)
    problem = gradient_problem(got, 3 * x**2, cubic, x, 1e-5)
    assert problem is None, f"for f(x) = sum(x**3) at x = {show(x)}, {problem}"


def test_numerical_gradient_uses_the_eps_it_is_given(exercise):
    # ((x + h)**3 - (x - h)**3) / (2h) = 3x**2 + h**2 exactly: eps = 0.1 adds 0.01.
    x = np.array([1.0, -2.0])
    got = gradient_of(exercise, lambda z: float(np.sum(z**3)), x, eps=0.1)
    expected = 3 * x**2 + 0.01
    assert worst(got, expected) < 1e-9, (
        f"with eps=0.1, the central difference of sum(x**3) at {show(x)} is 3x**2 + eps**2 = "
        f"{show(expected)}, but numerical_gradient gave {show(got)}: use the eps given"
    )


def test_numerical_gradient_returns_float64_and_leaves_x_unchanged(exercise):
    x = np.array([[0.5, -0.25, 2.0]])
    got = gradient_of(exercise, lambda z: float(np.sum(np.sin(z))), x)
    assert got.dtype == np.float64, f"numerical_gradient should return float64, got {got.dtype}"
    assert worst(got, np.cos(x)) < TOLERANCE, f"the gradient of sum(sin(x)) is cos(x): {show(got)}"


def test_numerical_gradient_sees_x_in_its_shape(exercise):
    # f reads x by rows and columns: it must be called with arrays shaped like x.
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    weights = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]])

    def f(z):
        if np.shape(z) != x.shape:
            fail(f"numerical_gradient called f with shape {np.shape(z)}; x has shape {x.shape}")
        return float(np.sum(weights * z[:, ::-1]))

    got = gradient_of(exercise, f, x)
    assert worst(got, weights[:, ::-1]) < TOLERANCE, f"got {show(got)}"


@settings(max_examples=20)
@given(drawn=arrays)
def test_numerical_gradient_matches_gradient_tape(exercise, drawn):
    shape, seed = drawn
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, size=shape)
    c = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    f = lambda z: float(np.sum(c * np.tanh(z)) + 0.1 * np.sum(z) ** 2)  # noqa: E731
    got = gradient_of(exercise, f, x)  # before TensorFlow: an unwritten one fails fast
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(c * tf.tanh(variable)) + 0.1 * tf.reduce_sum(variable) ** 2
    expected = tape.gradient(value, variable).numpy()
    problem = gradient_problem(got, expected, f, x, 1e-5)
    assert problem is None, f"compared with tf.GradientTape on x of shape {shape}, {problem}"


def test_a_float32_forward_pass_checks_only_to_about_1e_2(exercise, note):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, size=(3, 4))
    c = rng.uniform(0.5, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))
    exact = c * (1 - np.tanh(x) ** 2)
    in_float64 = lambda z: float(np.sum(c * np.tanh(z)))  # noqa: E731
    in_float32 = lambda z: float(np.sum(np.float32(c) * np.tanh(z.astype(np.float32))))  # noqa: E731
    error64 = worst(gradient_of(exercise, in_float64, x), exact)
    error32 = worst(gradient_of(exercise, in_float32, x), exact)
    assert error64 < TOLERANCE, f"in float64 the check should agree to {TOLERANCE:g}: {error64:.2g}"
    assert 1e-4 < error32 < 0.1, f"in float32 the relative error was {error32:.2g}"
    note(f"exercise 18: one gradient checked in float64 {error64:.1e}, in float32 {error32:.1e}")


# --- relative_error ----------------------------------------------------------------------------


def error_of(exercise, a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    value = exercise.relative_error(a.copy(), b.copy())
    if value is None:
        fail("relative_error returned None: did you forget the return?")
    if np.shape(value) != ():
        fail(f"relative_error should return one number, got an array of shape {np.shape(value)}")
    if not isinstance(value, float):
        fail(f"relative_error should return a float (float(...)), got {type(value).__name__}")
    return value


def test_relative_error_of_a_hand_example(exercise):
    got = error_of(exercise, [1.0, 0.0, -2.0], [1.1, 0.0, -2.0])
    assert math.isclose(got, 0.1 / 2.1, rel_tol=1e-12), (
        f"relative_error([1, 0, -2], [1.1, 0, -2]) gave {got:.6g}: the first entries differ by "
        f"0.1 for |1| + |1.1| = 2.1, so {0.1 / 2.1:.6g}"
    )


def test_relative_error_is_the_largest_not_the_mean(exercise):
    got = error_of(exercise, [1.0, 1.0, 1.0], [1.0, 2.0, 1.0])
    assert math.isclose(got, 1 / 3, rel_tol=1e-12), (
        f"relative_error([1, 1, 1], [1, 2, 1]) gave {got:.6g}, where the second entry's error is "
        "1/3: a gradient check looks at the worst entry, not the mean (np.max, not np.mean)"
    )


def test_relative_error_of_two_zeros_is_zero(exercise):
    got = error_of(exercise, [0.0, 1.0], [0.0, 1.0])
    assert got == 0.0, (
        f"relative_error of two equal arrays holding a 0 gave {got}: 0 / 0 is nan. Divide by "
        "max(|a| + |b|, 1e-8) (np.maximum), so two zeros agree"
    )
    tiny = error_of(exercise, [1e-12], [-1e-12])
    assert math.isclose(tiny, 2e-4, rel_tol=1e-9), (
        f"relative_error([1e-12], [-1e-12]) gave {tiny:.6g}: below the floor the denominator is "
        "1e-8, so 2e-12 / 1e-8 = 2e-4"
    )


@settings(max_examples=20)
@given(drawn=arrays)
def test_relative_error_matches_its_definition(exercise, drawn):
    shape, seed = drawn
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape) * 10.0 ** rng.integers(-9, 3, size=shape)
    b = a * (1 + rng.normal(size=shape) * 1e-3)
    got = error_of(exercise, a, b)
    expected = worst(a, b)
    assert math.isclose(got, expected, rel_tol=1e-9), (
        f"relative_error gave {got:.6g} where max(|a - b| / max(|a| + |b|, 1e-8)) is "
        f"{expected:.6g}, for arrays of shape {tuple(shape)}"
    )


def test_the_two_functions_are_your_own_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails alone
    # when they call TensorFlow, Keras or the course's library, however reached.
    x = np.array([1.0, 2.0])
    exercise.relative_error(exercise.numerical_gradient(lambda z: float(z @ z), x), 2 * x)
