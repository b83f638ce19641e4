"""Exercise 20, backpropagation through Dense -> ReLU -> Dense -> softmax cross-entropy.

The loss and the four gradients are compared with a hand example (where ReLU stops one unit),
with a batch of two equal images (the mean: the same loss and gradients as one), with logits of
1e4 (a log of a softmax gives inf), and with `tf.GradientTape` on TensorFlow's mean sparse
softmax cross-entropy from the logits, in float64 (relative error at most 1e-6) and float32
(1e-4), on networks that hypothesis draws. A summed loss, a gradient not divided by N and a
backward pass that forgets the ReLU are each told so.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex20_backprop.py"
NAMES = ("dw1", "db1", "dw2", "db2")

# (N images, D inputs, H hidden units, K classes, scale of the weights, seed)
networks = st.tuples(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(2, 5),
    st.sampled_from([0.5, 1.0, 3.0]),
    st.integers(0, 2**32 - 1),
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


def worst(got, expected) -> float:
    """The largest relative error |a - b| / max(|a| + |b|, 1e-8)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), 1e-8)))


def run(exercise, x, labels, weights):
    """The exercise's (loss, gradients), checked for form, shapes, dtype and unchanged
    arguments."""
    given = [x.copy(), labels.copy(), *(w.copy() for w in weights)]
    result = exercise.mlp_loss_and_gradients(*given)
    for name, before, after in zip(
        ["x", "labels", "w1", "b1", "w2", "b2"], [x, labels, *weights], given, strict=True
    ):
        if not np.array_equal(before, after):
            fail(f"mlp_loss_and_gradients changed its argument {name}: compute new arrays instead")
    if not isinstance(result, tuple | list) or len(result) != 2 or len(result[1]) != 4:
        fail("mlp_loss_and_gradients should return (loss, (dw1, db1, dw2, db2))")
    loss, gradients = result
    if np.shape(loss) != () or not isinstance(loss, float):
        fail(f"the loss should be one Python float (float(...)), got {type(loss).__name__}")
    checked = []
    for name, gradient, weight in zip(NAMES, gradients, weights, strict=True):
        if gradient is None:
            fail(f"{name} is None: did you forget to return it?")
        gradient = np.asarray(gradient)
        if gradient.shape != weight.shape:
            fail(
                f"{name} should have the shape of its weight, {weight.shape}; got {gradient.shape}"
            )
        if gradient.dtype != x.dtype:
            fail(f"{name} should be {x.dtype}, x's dtype, got {gradient.dtype}")
        checked.append(gradient)
    return loss, checked


def problem_of(got, expected, count: int, tolerance: float, relu_stops: bool) -> str | None:
    """What is wrong with (loss, gradients) against `expected`, in plain words; None if
    nothing. `relu_stops`: whether some hidden unit is stopped by the ReLU here."""
    (loss, gradients), (right_loss, right_gradients) = got, expected
    if not math.isfinite(loss):
        return (
            f"the loss is {loss} where it should be {right_loss:.6g}: the logits are large, "
            "and log(softmax(z)) takes the log of a probability that underflowed to 0. Compute "
            "the log-softmax from the logits, shifted by each row's maximum (exercise 11)"
        )
    if count > 1 and math.isclose(loss, right_loss * count, rel_tol=1e-6):
        return (
            f"the loss is {loss:.6g}, {count} times {right_loss:.6g} for a batch of {count}: "
            "the loss is the mean over the batch, not the sum"
        )
    if not math.isclose(loss, right_loss, rel_tol=tolerance, abs_tol=tolerance):
        return f"the loss is {loss:.6g} where it should be {right_loss:.6g}"
    for name, mine, right in zip(NAMES, gradients, right_gradients, strict=True):
        error = worst(mine, right)
        if error <= tolerance:
            continue
        said = f"{name} is {show(mine)} where it should be {show(right)}"
        if not np.all(np.isfinite(mine)):
            return f"{said}: compute the softmax shifted by each row's maximum (exercise 11)"
        if count > 1 and worst(mine, right * count) <= tolerance:
            return (
                f"{said}, {count} times too large for a batch of {count}: the loss is a mean, so "
                "dz = (softmax(z) - one_hot) / N, divided once"
            )
        if relu_stops and name in ("dw1", "db1"):
            return (
                f"{said}: dw2 and db2 are right, so the error is between the layers. Did the "
                "gradient pass through the ReLU? It goes on only where h = x @ w1 + b1 > 0"
            )
        return f"{said} (relative error {error:.2g}): the chain rule, one layer at a time"
    return None


def tape_loss_and_gradients(x, labels, weights):
    """TensorFlow's mean sparse softmax cross-entropy and its gradients, in x's dtype."""
    variables = [tf.Variable(w) for w in weights]
    w1, b1, w2, b2 = variables
    with tf.GradientTape() as tape:
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    return float(loss), [g.numpy() for g in tape.gradient(loss, variables)]


def hand_network():
    # h = [1, -1]: the ReLU stops the second unit. z = [0, ln 3], softmax [1/4, 3/4], label 0.
    x = np.array([[1.0, -1.0]])
    weights = [
        np.eye(2),
        np.zeros(2),
        np.array([[0.0, math.log(3)], [5.0, 5.0]]),
        np.zeros(2),
    ]
    third = 0.75 * math.log(3)
    expected = (
        math.log(4),
        [
            np.array([[third, 0.0], [-third, 0.0]]),
            np.array([third, 0.0]),
            np.array([[-0.75, 0.75], [0.0, 0.0]]),
            np.array([-0.75, 0.75]),
        ],
    )
    return x, np.array([0]), weights, expected


def test_backprop_of_a_hand_example(exercise):
    x, labels, weights, expected = hand_network()
    problem = problem_of(run(exercise, x, labels, weights), expected, 1, 1e-12, True)
    assert problem is None, (
        f"for x {show(x)}, label 0, w1 = identity, w2 {show(weights[2])} (zero biases), {problem}"
    )


def test_backprop_of_a_batch_is_the_mean_of_its_images(exercise):
    # Two copies of the hand example: the mean loss and its gradients are the same as for one.
    x, labels, weights, expected = hand_network()
    x, labels = np.concatenate([x, x]), np.concatenate([labels, labels])
    problem = problem_of(run(exercise, x, labels, weights), expected, 2, 1e-12, True)
    assert problem is None, f"for the hand example given twice in one batch, {problem}"


def drawn_network(network, dtype):
    count, inputs, hidden, classes, scale, seed = network
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, inputs)).astype(dtype)
    weights = [
        (rng.normal(size=shape) * scale).astype(dtype)
        for shape in [(inputs, hidden), (hidden,), (hidden, classes), (classes,)]
    ]
    return x, rng.integers(0, classes, size=count), weights


@settings(max_examples=25)
@given(network=networks)
def test_backprop_matches_gradient_tape_in_float64(exercise, network):
    x, labels, weights = drawn_network(network, np.float64)
    got = run(exercise, x, labels, weights)  # before TensorFlow: an unwritten one fails fast
    expected = tape_loss_and_gradients(x, labels, weights)
    stops = bool(np.any(x @ weights[0] + weights[1] <= 0))
    problem = problem_of(got, expected, len(x), 1e-6, stops)
    assert problem is None, (
        f"compared with tf.GradientTape (float64) on {len(x)} images, w1 {weights[0].shape} and "
        f"w2 {weights[2].shape}, {problem}"
    )


@settings(max_examples=10)
@given(network=networks)
def test_backprop_matches_gradient_tape_in_float32(exercise, network):
    x, labels, weights = drawn_network(network, np.float32)
    loss, gradients = run(exercise, x, labels, weights)
    right_loss, right_gradients = tape_loss_and_gradients(x, labels, weights)
    # float32 rounds at about 1e-7 of the largest term: judged on that scale
    close = math.isclose(loss, right_loss, rel_tol=1e-4, abs_tol=1e-5) and all(
        np.allclose(g, e, rtol=1e-4, atol=1e-5 * (np.abs(e).max() + 1e-3))
        for g, e in zip(gradients, right_gradients, strict=True)
    )
    stops = bool(np.any(x @ weights[0] + weights[1] <= 0))
    problem = (
        None
        if close
        else problem_of((loss, gradients), (right_loss, right_gradients), len(x), 1e-4, stops)
    )
    assert problem is None, f"compared with tf.GradientTape (float32) on {len(x)} images, {problem}"


def test_backprop_is_finite_for_logits_of_1e4(exercise):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    weights = [rng.normal(size=(3, 5)), np.full(5, 1.0), rng.normal(size=(5, 3)) * 5e3, np.zeros(3)]
    labels = np.array([0, 1, 2, 1])
    expected = tape_loss_and_gradients(x, labels, weights)
    got = run(exercise, x, labels, weights)
    logits = np.maximum(x @ weights[0] + weights[1], 0) @ weights[2]
    problem = problem_of(got, expected, 4, 1e-6, True)
    assert problem is None, (
        f"with logits as large as {np.abs(logits).max():.3g} (sure and wrong images), {problem}"
    )


def test_backprop_is_your_own_code(exercise):
    # It runs under the own-code rule of the manifest, as in every test: this one fails alone
    # when it calls TensorFlow, Keras or the course's library, however reached.
    x, labels, weights, _ = hand_network()
    exercise.mlp_loss_and_gradients(x, labels, *weights)
