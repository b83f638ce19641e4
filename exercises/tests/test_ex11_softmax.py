"""Exercise 11, softmax and cross-entropy: compared with Keras and with TensorFlow's gradient.

The reference values come from Keras (`keras.activations.softmax`, `CategoricalCrossentropy`,
`categorical_crossentropy(from_logits=True)`), from `tf.nn.log_softmax` and from
`tf.GradientTape` on Keras's own loss, on batches that hypothesis draws with logits up to 1e4;
hand examples pin down the mistakes a first version makes (an unstable softmax, the wrong axis,
a sum instead of a mean, a missing clip, log of a softmax that underflowed, a gradient not
divided by the batch size).
"""

import math

import keras
import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex11_softmax.py"
EPSILON = 1e-7  # Keras's backend.epsilon()
CLIPPED_ZERO = -math.log(EPSILON)  # what a probability of 0 costs once clipped: 16.118...

# (batch size, classes, scale of the logits, seed): float32 logits as a network's last layer
# gives them, from tame (0.1) to the confident ones (100, 10,000) that overflow a naive softmax.
batches = st.tuples(
    st.integers(1, 8),
    st.integers(2, 12),
    st.sampled_from([0.1, 1.0, 10.0, 100.0, 1e4]),
    st.integers(0, 2**32 - 1),
)


def drawn(batch, dtype="float32") -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, K) and integer labels (N,) for one drawn batch."""
    count, classes, scale, seed = batch
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(count, classes)) * scale).astype(dtype)
    return logits, rng.integers(0, classes, size=count)


def stable_softmax(logits: np.ndarray) -> np.ndarray:
    """The reference softmax in float64, for hand examples."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def fail(message: str):
    """Fail the test with `message` alone: raised as an AssertionError, the check shows it
    without the example hypothesis adds after it."""
    raise AssertionError(message)


def show(values, most: int = 6) -> str:
    """An array written short, on one line: 4 significant digits, `most` values per axis."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        return f"{float(values):.4g}"
    shown = [show(value, most) for value in values[:most]]
    return "[" + ", ".join(shown + ["..."] * (len(values) > most)) + "]"


def array_from(name: str, value, shape: tuple) -> np.ndarray:
    """`value` as a float array of `shape`, or a failure that says what came back instead."""
    if value is None:
        fail(f"{name} returned None: did you forget the return?")
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        fail(f"{name} should return an array of shape {shape}, got shape {array.shape}")
    return array


def call_softmax(exercise, logits: np.ndarray) -> np.ndarray:
    return array_from("softmax", exercise.softmax(logits.copy()), logits.shape)


def softmax_problem(exercise, logits: np.ndarray, expected: np.ndarray, got=None) -> str | None:
    """What is wrong with the exercise's softmax of `logits` (`got`, if already computed), in
    plain words; None if nothing."""
    got = call_softmax(exercise, logits) if got is None else got
    bad_rows = np.flatnonzero(~np.all(np.isfinite(got), axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        largest = float(np.max(logits[row]))
        given = f"softmax of the row {show(logits[row])} gave {show(got[row])}"
        alone = call_softmax(exercise, logits[row : row + 1])
        if got.shape[0] > 1 and np.allclose(alone[0], expected[row], atol=1e-6):
            return (
                f"{given} in a batch of {got.shape[0]} rows, but {show(alone[0])} on its own: "
                "was the largest logit of the whole batch subtracted? Its exponents then "
                "underflow to 0 and 0 / 0 is nan. Subtract each row's own maximum, "
                "logits.max(axis=1, keepdims=True)"
            )
        if largest > 80:
            return (
                f"{given}: exp({largest:g}) is inf in floating point (float64 overflows above "
                "exp(709), float32 above exp(88)), and inf / inf is nan. Subtract each row's "
                "own maximum, logits.max(axis=1, keepdims=True), before np.exp: softmax(z) "
                "equals softmax(z - max(z)), and every exponent is then <= 0"
            )
        return (
            f"{given}: exp({largest:g}) is 0 in floating point, so every exponent of the row "
            "is 0 and 0 / 0 is nan. Subtract each row's own maximum, "
            "logits.max(axis=1, keepdims=True), before np.exp: the largest exponent is then "
            "exp(0) = 1"
        )
    worst = float(np.max(np.abs(got - expected)))
    if worst <= 1e-6:
        return None
    rows, columns = got.sum(axis=1), got.sum(axis=0)
    several = got.shape[0] > 1
    if several and np.allclose(columns, 1, atol=1e-5) and not np.allclose(rows, 1, atol=1e-5):
        return (
            f"the columns of the result sum to 1 but the rows sum to {show(rows)}: the softmax "
            "ran down each column (all images' scores for one digit). Each row is one image: "
            "take the max and the sum along axis=1, with keepdims=True"
        )
    if several and abs(float(got.sum()) - 1) < 1e-5:
        return (
            "the whole batch sums to 1, so each row sums to less: divide each row by its own "
            "sum, exps.sum(axis=1, keepdims=True), not by the sum of the whole array"
        )
    if not np.allclose(rows, 1, atol=1e-5):
        return f"each row of probabilities should sum to 1, but the rows sum to {show(rows)}"
    row = int(np.argmax(np.max(np.abs(got - expected), axis=1)))
    return (
        f"softmax is off by up to {worst:.3g}: for the row {show(logits[row])} it gave "
        f"{show(got[row])}, expected {show(expected[row])}"
    )


# --- softmax -----------------------------------------------------------------------------------


def test_softmax_of_a_hand_example(exercise):
    logits = np.array([[0.0, math.log(2), math.log(5)], [3.0, 3.0, 3.0]])
    expected = np.array([[1 / 8, 2 / 8, 5 / 8], [1 / 3, 1 / 3, 1 / 3]])
    problem = softmax_problem(exercise, logits, expected)
    assert problem is None, problem


@settings(max_examples=30)
@given(batch=batches)
def test_softmax_matches_keras(exercise, batch):
    logits, _ = drawn(batch)
    got = call_softmax(exercise, logits)  # before Keras: an unwritten softmax fails fast
    expected = np.asarray(keras.activations.softmax(logits))
    problem = softmax_problem(exercise, logits, expected, got)
    assert problem is None, f"on float32 logits of shape {logits.shape}, {problem}"


def test_softmax_survives_large_logits(exercise):
    logits = np.array([[1000.0, 0.0, -1000.0], [1e4, 1e4 - 1, 0.0]])
    expected = np.array([[1.0, 0.0, 0.0], [1 / (1 + math.e**-1), 1 / (1 + math.e), 0.0]])
    problem = softmax_problem(exercise, logits, expected)
    assert problem is None, problem


def test_softmax_survives_very_negative_logits(exercise):
    logits = np.array([[-1e4, -1e4 + 1, -1e4 + 2], [-800.0, -800.0, -800.0]])
    expected = stable_softmax([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    problem = softmax_problem(exercise, logits, expected)
    assert problem is None, problem


def test_softmax_subtracts_each_rows_own_maximum(exercise):
    # One confident image in the batch must not spoil the others.
    logits = np.array([[1000.0, 0.0, 0.0], [0.0, 1.0, 2.0]])
    expected = stable_softmax(logits)
    problem = softmax_problem(exercise, logits, expected)
    assert problem is None, problem


def test_softmax_does_not_change_its_input(exercise):
    logits = np.array([[5.0, 1.0, 3.0], [2.0, 8.0, 0.0]])
    given = logits.copy()
    exercise.softmax(given)
    assert np.array_equal(given, logits), (
        f"softmax changed the logits it was given, from {show(logits)} to {show(given)}: "
        "`logits -= logits.max(...)` subtracts in place, inside the caller's array; write "
        "`shifted = logits - logits.max(...)` instead"
    )


# --- cross-entropy -----------------------------------------------------------------------------


def loss_from(exercise, probabilities, labels) -> float:
    value = exercise.cross_entropy(probabilities.copy(), labels.copy())
    if value is None:
        fail("cross_entropy returned None: did you forget the return?")
    shape = np.shape(value)
    if shape != () and shape != (1,):
        fail(
            f"cross_entropy should return one number, the mean over the batch, but it returned "
            f"an array of shape {shape}: take np.mean of the per-image losses"
        )
    return float(np.asarray(value).reshape(()))


def loss_problem(got: float, expected: float, count: int, unclipped: float) -> str | None:
    """What is wrong with the loss `got`, in plain words; None if nothing.

    `unclipped` is the loss without the clip (inf when a label's probability is 0).
    """
    if math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-5):
        return None
    said = f"cross_entropy gave {got:.6g} where Keras gives {expected:.6g}"
    if math.isinf(got) or math.isnan(got):
        return (
            f"{said}: a probability of 0 was given to a label, and log(0) is -inf. Clip the "
            "probabilities to [1e-7, 1 - 1e-7] first, as Keras does: np.clip(p, 1e-7, 1 - 1e-7)"
        )
    if count > 1 and math.isclose(got, expected * count, rel_tol=1e-4):
        return (
            f"{said}, {count} times too much for a batch of {count}: that is the sum of the "
            "per-image losses; the loss is their mean"
        )
    if math.isclose(got, -expected, rel_tol=1e-4):
        return f"{said}: the sign is flipped; the loss is -log(p), which is >= 0"
    if math.isclose(got * math.log(10), expected, rel_tol=1e-4):
        return f"{said}: that is log base 10; the loss uses the natural log, np.log"
    if math.isclose(got, unclipped, rel_tol=1e-4):
        return (
            f"{said}: that is the loss without the clip. Keras clips the probabilities to "
            f"[1e-7, 1 - 1e-7] before the log, so a label's probability below 1e-7 costs "
            f"-log(1e-7) = {CLIPPED_ZERO:.4f}, no more: np.clip(p, 1e-7, 1 - 1e-7)"
        )
    if expected < got < unclipped:  # clipped, but at a smaller epsilon than Keras's
        return (
            f"{said}: a label's probability below 1e-7 should cost -log(1e-7) = "
            f"{CLIPPED_ZERO:.4f}, as Keras clips to [1e-7, 1 - 1e-7]; was a smaller epsilon used?"
        )
    return f"{said}: take each image's probability of its own label, -log it, then the mean"


def test_cross_entropy_of_a_hand_example(exercise):
    probabilities = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
    labels = np.array([0, 1, 2, 1])
    expected = -(math.log(0.5) + math.log(0.8) + math.log(0.6) + math.log(0.4)) / 4
    problem = loss_problem(loss_from(exercise, probabilities, labels), expected, 4, expected)
    assert problem is None, f"for 4 images with p(label) = 0.5, 0.8, 0.6, 0.4, {problem}"


def test_cross_entropy_clips_a_probability_of_zero(exercise):
    # The first image is sure and wrong: its label got probability 0.
    probabilities = np.array([[0.0, 1.0, 0.0], [0.25, 0.25, 0.5]])
    labels = np.array([0, 2])
    expected = (CLIPPED_ZERO - math.log(0.5)) / 2
    problem = loss_problem(loss_from(exercise, probabilities, labels), expected, 2, math.inf)
    assert problem is None, f"for 2 images with p(label) = 0 and 0.5, {problem}"


@settings(max_examples=30)
@given(batch=batches, confidence=st.sampled_from([1.0, 10.0, 50.0]))
def test_cross_entropy_matches_keras(exercise, batch, confidence):
    # Probabilities from a softmax: at confidence 50 some are below 1e-7, some exactly 0.
    logits, labels = drawn(batch, "float64")
    probabilities = stable_softmax(logits / batch[2] * confidence).astype("float32")
    got = loss_from(exercise, probabilities, labels)
    one_hot = np.eye(logits.shape[1], dtype="float32")[labels]
    expected = float(keras.losses.CategoricalCrossentropy()(one_hot, probabilities))
    with np.errstate(divide="ignore"):
        unclipped = float(np.mean(-np.log(probabilities[np.arange(len(labels)), labels])))
    problem = loss_problem(got, expected, len(labels), unclipped)
    assert problem is None, (
        f"for a batch of {len(labels)} with {logits.shape[1]} classes, {problem}"
    )


# --- the gradient ------------------------------------------------------------------------------


def tensorflow_gradient(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """d(mean cross-entropy of softmax(logits)) / d(logits), by automatic differentiation."""
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        losses = keras.losses.sparse_categorical_crossentropy(labels, variable, from_logits=True)
        loss = tf.reduce_mean(losses)
    return tape.gradient(loss, variable).numpy()


def gradient_problem(got: np.ndarray, expected: np.ndarray) -> str | None:
    """What is wrong with the gradient `got`, in plain words; None if nothing."""
    count = expected.shape[0]
    if np.allclose(got, expected, atol=1e-6, rtol=1e-5):
        return None
    if not np.all(np.isfinite(got)):
        return (
            f"the gradient holds {show(got[~np.isfinite(got)][:3])}: is softmax stable "
            "(each row's maximum subtracted first)?"
        )
    if count > 1 and np.allclose(got, expected * count, atol=1e-6, rtol=1e-5):
        return (
            f"the gradient is {count} times too large for a batch of {count}: the loss is the "
            "mean over the batch, so its gradient is (softmax - one_hot) / N"
        )
    if np.allclose(got, -expected, atol=1e-6, rtol=1e-5):
        return (
            "the gradient has the wrong sign: it is softmax minus one-hot (the label's logit "
            "must go up when the weights move against the gradient)"
        )
    worst = float(np.max(np.abs(got - expected)))
    row = int(np.argmax(np.max(np.abs(got - expected), axis=1)))
    return (
        f"the gradient is off by up to {worst:.3g}: row {row} should be {show(expected[row])}, "
        f"got {show(got[row])}"
    )


def gradient_from(exercise, logits, labels) -> np.ndarray:
    value = exercise.softmax_cross_entropy_gradient(logits.copy(), labels.copy())
    return array_from("softmax_cross_entropy_gradient", value, logits.shape)


def test_gradient_of_a_hand_example(exercise):
    logits, labels = np.zeros((2, 4)), np.array([0, 3])
    expected = np.array([[-0.75, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, -0.75]]) / 2
    problem = gradient_problem(gradient_from(exercise, logits, labels), expected)
    assert problem is None, f"for 2 images of 4 classes with zero logits, {problem}"


@settings(max_examples=30)
@given(batch=batches)
def test_gradient_matches_tensorflow(exercise, batch):
    logits, labels = drawn(batch, "float64")
    got = gradient_from(exercise, logits, labels)
    problem = gradient_problem(got, tensorflow_gradient(logits, labels))
    assert problem is None, (
        f"compared with tf.GradientTape on a batch of {len(labels)} with {logits.shape[1]} "
        f"classes, {problem}"
    )


def test_gradient_of_confident_logits(exercise):
    logits, labels = np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([0, 0])
    expected = np.array([[0.0, 0.0], [-0.5, 0.5]])  # right and sure: no pull; wrong: a full pull
    problem = gradient_problem(gradient_from(exercise, logits, labels), expected)
    assert problem is None, f"for logits {show(logits)} and labels [0, 0], {problem}"


# --- log-softmax and the loss from the logits ---------------------------------------------------


def call_log_softmax(exercise, logits: np.ndarray) -> np.ndarray:
    return array_from("log_softmax", exercise.log_softmax(logits.copy()), logits.shape)


def log_softmax_problem(exercise, logits: np.ndarray, expected: np.ndarray) -> str | None:
    """What is wrong with the exercise's log_softmax of `logits`, in plain words; None if
    nothing."""
    got = call_log_softmax(exercise, logits)
    if np.allclose(got, expected, rtol=1e-9, atol=1e-9):
        return None
    row = int(np.argmax(np.max(np.where(np.isfinite(got), np.abs(got - expected), np.inf), axis=1)))
    given = f"log_softmax of the row {show(logits[row])} gave {show(got[row])}"
    if np.any(np.isneginf(got[row])):
        return (
            f"{given}, where the answer is {show(expected[row])}: was it np.log(softmax(z))? "
            "Probabilities such as exp(-1e4) underflow to 0, and log(0) is -inf. Never form the "
            "probabilities: z - m - log(sum(exp(z - m))), with m each row's maximum (the "
            "log-sum-exp), is finite for any finite logits"
        )
    if not np.all(np.isfinite(got[row])):
        return (
            f"{given}: exp({float(np.max(logits[row])):g}) overflows to inf. Subtract each row's "
            "own maximum m first: log softmax(z) = (z - m) - log(sum(exp(z - m)))"
        )
    return (
        f"{given}, where tf.nn.log_softmax gives {show(expected[row])}: log softmax(z) = "
        "z - log(sum(exp(z))) along each row (axis=1)"
    )


def test_log_softmax_of_a_hand_example(exercise):
    logits = np.array([[0.0, math.log(2), math.log(5)], [3.0, 3.0, 3.0]])
    expected = np.log([[1 / 8, 2 / 8, 5 / 8], [1 / 3, 1 / 3, 1 / 3]])
    problem = log_softmax_problem(exercise, logits, expected)
    assert problem is None, problem
    given = logits.copy()
    exercise.log_softmax(given)
    assert np.array_equal(given, logits), (
        f"log_softmax changed the logits it was given, to {show(given)}: write "
        "`shifted = logits - logits.max(...)`, not `logits -= ...`"
    )


def test_log_softmax_is_finite_for_logits_of_1e4(exercise):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4 + 2]])
    expected = np.array([[0.0, -1e4, -2e4], list(np.log(stable_softmax([[0.0, 1.0, 2.0]])[0]))])
    problem = log_softmax_problem(exercise, logits, expected)
    assert problem is None, problem


@settings(max_examples=30)
@given(batch=batches)
def test_log_softmax_matches_tensorflow(exercise, batch):
    logits, _ = drawn(batch, "float64")
    got = call_log_softmax(exercise, logits)  # before TensorFlow: an unwritten one fails fast
    expected = tf.nn.log_softmax(logits, axis=1).numpy()
    problem = (
        None
        if np.allclose(got, expected, rtol=1e-9, atol=1e-9)
        else (log_softmax_problem(exercise, logits, expected))
    )
    assert problem is None, f"on float64 logits of shape {logits.shape}, {problem}"


def logits_loss(exercise, logits: np.ndarray, labels: np.ndarray) -> float:
    value = exercise.cross_entropy_from_logits(logits.copy(), labels.copy())
    if value is None:
        fail("cross_entropy_from_logits returned None: did you forget the return?")
    if np.shape(value) not in ((), (1,)):
        fail(
            "cross_entropy_from_logits should return one number, the mean over the batch, but "
            f"it returned an array of shape {np.shape(value)}"
        )
    return float(np.asarray(value).reshape(()))


def logits_loss_problem(got: float, expected: float, count: int) -> str | None:
    """What is wrong with the loss from logits `got`, in plain words; None if nothing."""
    if math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-5):
        return None
    said = f"cross_entropy_from_logits gave {got:.6g} where Keras gives {expected:.6g}"
    if math.isinf(got) or math.isnan(got):
        return (
            f"{said}: a probability underflowed to 0 and log(0) is -inf, or exp overflowed. "
            "Take -log_softmax(logits) at each label: it never forms the probabilities"
        )
    if got <= CLIPPED_ZERO + 1e-3 < expected:
        return (
            f"{said}: that is the loss of clipped probabilities (a sure and wrong image costs "
            f"-log(1e-7) = {CLIPPED_ZERO:.4f} at most). From the logits no clip is needed: "
            "-log_softmax(logits)[label] is finite and exact"
        )
    if count > 1 and math.isclose(got, expected * count, rel_tol=1e-4):
        return f"{said}, {count} times too much for a batch of {count}: take the mean, not the sum"
    return f"{said}: take each image's log_softmax at its own label, -1 times it, then the mean"


def keras_loss_from_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    one_hot = np.eye(logits.shape[1], dtype=logits.dtype)[labels]
    losses = keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True)
    return float(np.mean(np.asarray(losses, dtype=np.float64)))


def test_cross_entropy_from_logits_of_a_hand_example(exercise):
    logits, labels = np.array([[0.0, math.log(2), math.log(5)], [3.0, 3.0, 3.0]]), np.array([2, 0])
    expected = -(math.log(5 / 8) + math.log(1 / 3)) / 2
    problem = logits_loss_problem(logits_loss(exercise, logits, labels), expected, 2)
    assert problem is None, f"for the logits {show(logits)} and labels [2, 0], {problem}"


def test_cross_entropy_from_logits_needs_no_clip(exercise):
    # Sure and wrong: the label's probability is exp(-1e4) and exp(-2e4), 0 in floating point.
    logits = np.array([[0.0, 1e4, 0.0], [1e4, 0.0, -1e4]])
    labels = np.array([0, 2])
    expected = (1e4 + 2e4) / 2
    problem = logits_loss_problem(logits_loss(exercise, logits, labels), expected, 2)
    assert problem is None, f"for the logits {show(logits)} and labels [0, 2], {problem}"


@settings(max_examples=30)
@given(batch=batches)
def test_cross_entropy_from_logits_matches_keras(exercise, batch):
    logits, labels = drawn(batch)
    got = logits_loss(exercise, logits, labels)  # before Keras: an unwritten one fails fast
    problem = logits_loss_problem(got, keras_loss_from_logits(logits, labels), len(labels))
    assert problem is None, (
        f"for float32 logits of a batch of {len(labels)} with {logits.shape[1]} classes, {problem}"
    )


# --- your own code -----------------------------------------------------------------------------


def test_the_five_functions_are_your_own_code(exercise):
    # The five run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call Keras, TensorFlow, SciPy, PyTorch or JAX, however reached.
    logits, labels = np.array([[1.0, 2.0, 3.0]]), np.array([2])
    exercise.cross_entropy(exercise.softmax(logits), labels)
    exercise.log_softmax(logits)
    exercise.cross_entropy_from_logits(logits, labels)
    exercise.softmax_cross_entropy_gradient(logits, labels)
