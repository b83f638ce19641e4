"""Exercise 19, the dense layer's and ReLU's backward passes: compared with tf.GradientTape.

Hand examples (a rectangular layer, so a transposed product cannot pass; a ReLU at exactly 0,
with negative upstream gradients) pin down the usual mistakes: a bias gradient averaged instead
of summed, a kernel gradient transposed, a ReLU that lets the gradient through at 0 or looks at
dout instead of x. Then `tf.GradientTape` in float64 (relative error at most 1e-6) and in float32
(at most 1e-4) on shapes that hypothesis draws.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex19_dense_backward.py"
TOLERANCE = {np.float64: 1e-6, np.float32: 1e-4}  # relative error, by dtype

# (N, D, M, seed): a batch of N inputs of D numbers, M outputs.
layers = st.tuples(
    st.integers(1, 6), st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**32 - 1)
)


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
    """The largest relative error |a - b| / max(|a| + |b|, 1e-8)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), 1e-8)))


def checked(name: str, value, shape: tuple, dtype) -> np.ndarray:
    """`value` as an array of `shape` and `dtype`, or a failure that says what came instead."""
    if value is None:
        fail(f"{name} is None: did you forget to return it?")
    array = np.asarray(value)
    if array.shape != shape:
        fail(f"{name} should have the shape {shape}, got {array.shape}{why_shape(name, shape)}")
    if array.dtype != dtype:
        fail(f"{name} should be {np.dtype(dtype).name}, dout's dtype, got {array.dtype}")
    return array


def why_shape(name: str, shape: tuple) -> str:
    if name == "dw":
        return ": the kernel is (D, M), so its gradient is x.T @ dout, (D, N) @ (N, M)"
    if name == "dx":
        return ": the input is (N, D), so its gradient is dout @ w.T, (N, M) @ (M, D)"
    if name == "db":
        return ": one number per output, dout summed over the batch (axis=0)"
    return ""


def dense_of(exercise, dout, x, w):
    """The exercise's (dx, dw, db), checked for shapes and dtype, its arguments unchanged."""
    given = [dout.copy(), x.copy(), w.copy()]
    result = exercise.dense_backward(*given)
    if not isinstance(result, tuple | list) or len(result) != 3:
        fail(f"dense_backward should return three arrays (dx, dw, db), got {type(result).__name__}")
    for name, before, after in zip(["dout", "x", "w"], [dout, x, w], given, strict=True):
        if not np.array_equal(before, after):
            fail(f"dense_backward changed its argument {name}: compute new arrays instead")
    (n, d), m = x.shape, w.shape[1]
    shapes = {"dx": (n, d), "dw": (d, m), "db": (m,)}
    return [checked(k, v, shapes[k], dout.dtype) for k, v in zip(shapes, result, strict=True)]


def dense_problem(got, expected, count: int, tolerance: float) -> str | None:
    """What is wrong with (dx, dw, db), in plain words; None if nothing."""
    for name, mine, right in zip(["dx", "dw", "db"], got, expected, strict=True):
        error = worst(mine, right)
        if error <= tolerance:
            continue
        said = (
            f"{name} is {show(mine)} where it should be {show(right)} (relative error {error:.1g})"
        )
        if count > 1 and worst(mine * count, right) <= tolerance:
            return (
                f"{said}: {count} times too small for a batch of {count}. The loss already "
                "averages over the batch in dout: the layer sums the images' pulls"
            )
        if name == "db":
            return f"{said}: the bias is added to every image, so db is dout.sum(axis=0)"
        if name == "dw":
            return f"{said}: dw[d, m] sums x[n, d] * dout[n, m] over the batch: x.T @ dout"
        return f"{said}: dx[n, d] sums dout[n, m] * w[d, m] over the outputs: dout @ w.T"
    return None


def tape_dense(dout, x, w, b):
    """TensorFlow's gradients of x @ w + b with respect to x, w and b, given dout."""
    variables = [tf.Variable(x), tf.Variable(w), tf.Variable(b)]
    with tf.GradientTape() as tape:
        y = tf.matmul(variables[0], variables[1]) + variables[2]
    return [g.numpy() for g in tape.gradient(y, variables, output_gradients=tf.constant(dout))]


def test_dense_backward_of_a_hand_example(exercise):
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
    dout = np.array([[1.0, 2.0], [-1.0, 0.5]])
    expected = [
        np.array([[1.0, 2.0, -1.0], [-1.0, 0.5, -1.5]]),
        np.array([[-3.0, 4.0], [-3.0, 6.5], [-3.0, 9.0]]),
        np.array([0.0, 2.5]),
    ]
    problem = dense_problem(dense_of(exercise, dout, x, w), expected, 2, 1e-12)
    assert problem is None, f"for x {show(x)}, w {show(w)} and dout {show(dout)}, {problem}"


def test_dense_backward_of_a_batch_of_one(exercise):
    x, w, dout = np.array([[2.0, -1.0]]), np.array([[3.0], [4.0]]), np.array([[0.5]])
    expected = [np.array([[1.5, 2.0]]), np.array([[1.0], [-0.5]]), np.array([0.5])]
    problem = dense_problem(dense_of(exercise, dout, x, w), expected, 1, 1e-12)
    assert problem is None, f"for x {show(x)}, w {show(w)} and dout {show(dout)}, {problem}"


def drawn_layer(layer, dtype):
    count, inputs, outputs, seed = layer
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, inputs)).astype(dtype)
    w = rng.normal(size=(inputs, outputs)).astype(dtype)
    b = rng.normal(size=outputs).astype(dtype)
    return rng.normal(size=(count, outputs)).astype(dtype), x, w, b


@settings(max_examples=25)
@given(layer=layers)
def test_dense_backward_matches_gradient_tape_in_float64(exercise, layer):
    dout, x, w, b = drawn_layer(layer, np.float64)
    got = dense_of(exercise, dout, x, w)  # before TensorFlow: an unwritten one fails fast
    problem = dense_problem(got, tape_dense(dout, x, w, b), len(x), TOLERANCE[np.float64])
    assert problem is None, (
        f"compared with tf.GradientTape (float64) on x {x.shape} and w {w.shape}, {problem}"
    )


@settings(max_examples=10)
@given(layer=layers)
def test_dense_backward_matches_gradient_tape_in_float32(exercise, layer):
    dout, x, w, b = drawn_layer(layer, np.float32)
    got = dense_of(exercise, dout, x, w)
    expected = tape_dense(dout, x, w, b)
    # float32 sums round at about 1e-7 of the largest term: judged on that scale
    scale = [np.abs(e).max() + 1e-3 for e in expected]
    close = all(
        np.allclose(g, e, rtol=1e-4, atol=1e-5 * s)
        for g, e, s in zip(got, expected, scale, strict=True)
    )
    problem = None if close else dense_problem(got, expected, len(x), TOLERANCE[np.float32])
    assert problem is None, (
        f"compared with tf.GradientTape (float32) on x {x.shape} and w {w.shape}, {problem}"
    )


# --- ReLU ----------------------------------------------------------------------------------------


def relu_of(exercise, dout, x) -> np.ndarray:
    given = [dout.copy(), x.copy()]
    result = exercise.relu_backward(*given)
    if not (np.array_equal(given[0], dout) and np.array_equal(given[1], x)):
        fail("relu_backward changed its arguments: compute a new array instead")
    return checked("relu_backward's result", result, x.shape, dout.dtype)


def relu_problem(got, x, dout, expected) -> str | None:
    if np.array_equal(got, expected):
        return None
    wrong = tuple(np.argwhere(got != expected)[0])
    said = (
        f"relu_backward gave {show(got)} where TensorFlow gives {show(expected)}: at x = "
        f"{x[wrong]:g} with dout = {dout[wrong]:g} it gave {got[wrong]:g}"
    )
    if x[wrong] == 0:
        return (
            f"{said}. At x = 0 exactly the slope of max(x, 0) is undefined; TensorFlow takes 0: "
            "keep dout only where x > 0 (not >= 0)"
        )
    if dout[wrong] < 0 < x[wrong] or x[wrong] < 0 < dout[wrong]:
        return f"{said}. The gate is the sign of x, the layer's input, not of dout"
    return f"{said}. Keep dout where x > 0 and put 0 elsewhere"


def test_relu_backward_of_a_hand_example(exercise):
    x = np.array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]])
    dout = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 6.0]])
    expected = np.array([[0.0, 0.0, 3.0], [-4.0, 0.0, 0.0]])
    problem = relu_problem(relu_of(exercise, dout, x), x, dout, expected)
    assert problem is None, problem


@settings(max_examples=20)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**32 - 1),
)
def test_relu_backward_matches_gradient_tape(exercise, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    # a third of the inputs exactly 0, as ReLU's own outputs and padded pixels often are
    x = (rng.normal(size=shape) * (rng.random(size=shape) > 1 / 3)).astype(dtype)
    dout = rng.normal(size=shape).astype(dtype)
    got = relu_of(exercise, dout, x)
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.nn.relu(variable)
    expected = tape.gradient(y, variable, output_gradients=tf.constant(dout)).numpy()
    problem = relu_problem(got, x, dout, expected)
    assert problem is None, f"compared with tf.GradientTape on {np.dtype(dtype).name}, {problem}"


def test_the_two_functions_are_your_own_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails alone
    # when they call TensorFlow, Keras or the course's library, however reached.
    x, w, dout = np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4))
    exercise.dense_backward(dout, x, w)
    exercise.relu_backward(dout, x @ w)
