"""Exercise 17, batch normalization: both modes and the moving averages, against Keras.

Every comparison builds a `keras.layers.BatchNormalization` holding the same gamma, beta and
moving statistics as the exercise is given, on 2-D (N, F) and 4-D (N, H, W, C) batches that
hypothesis draws. Hand examples and numpy versions of the usual mistakes (the variance divided
by N - 1, epsilon outside the square root, the momentum the wrong way round, the statistics of
one axis only) let a failure say which mistake it looks like.
"""

import math

import keras
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

EXERCISE = "ex17_batch_norm.py"

# Batch shapes: (N, F) as after a Dense layer, (N, H, W, C) as after a convolution.
shapes = st.one_of(
    st.tuples(st.integers(2, 16), st.integers(1, 6)),
    st.tuples(st.integers(2, 4), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)),
)
cases = st.tuples(
    shapes,
    st.sampled_from([0.99, 0.9, 0.8, 0.5]),  # momentum
    st.sampled_from([1e-3, 1e-5, 0.1]),  # epsilon
    st.integers(0, 2**32 - 1),  # seed
)


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


def drawn(shape, seed) -> dict:
    """A float32 batch whose channels have different means and spreads, and layer state."""
    rng = np.random.default_rng(seed)
    channels = shape[-1]

    def per_channel(low, high):
        return rng.uniform(low, high, size=channels).astype("float32")

    x = per_channel(-3, 3) + per_channel(0.2, 3) * rng.normal(size=shape).astype("float32")
    return {
        "x": x.astype("float32"),
        "gamma": per_channel(0.5, 2),
        "beta": per_channel(-1, 1),
        "moving_mean": rng.normal(size=channels).astype("float32"),
        "moving_var": per_channel(0.5, 2),
    }


def keras_layer(state: dict, momentum: float = 0.99, epsilon: float = 1e-3):
    """A BatchNormalization layer holding `state`'s gamma, beta and moving statistics."""
    layer = keras.layers.BatchNormalization(axis=-1, momentum=momentum, epsilon=epsilon)
    layer.build(state["x"].shape)
    layer.gamma.assign(state["gamma"])
    layer.beta.assign(state["beta"])
    layer.moving_mean.assign(state["moving_mean"])
    layer.moving_variance.assign(state["moving_var"])
    return layer


# --- numpy versions of the right arithmetic and of the usual mistakes --------------------------


def axes_of(x) -> tuple:
    return tuple(range(np.ndim(x) - 1))


def normalized(x, gamma, beta, mean, variance, epsilon) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def train_outputs(state, epsilon) -> dict[str, np.ndarray]:
    """The training-mode output, right and with each usual mistake."""
    x = np.asarray(state["x"], dtype=np.float64)
    g, b, mm, mv = (state[key] for key in ("gamma", "beta", "moving_mean", "moving_var"))
    mean, var, unbiased = x.mean(axes_of(x)), x.var(axes_of(x)), x.var(axes_of(x), ddof=1)
    standardized = (x - mean) / np.sqrt(var + epsilon)
    return {
        "right": normalized(x, g, b, mean, var, epsilon),
        "moving statistics": normalized(x, g, b, mm, mv, epsilon),
        "unbiased variance": normalized(x, g, b, mean, unbiased, epsilon),
        "epsilon outside": g * (x - mean) / (np.sqrt(var) + epsilon) + b,
        "no square root": g * (x - mean) / (var + epsilon) + b,
        "gamma and beta swapped": b * standardized + g,
        "first axis only": normalized(x, g, b, x.mean(0), x.var(0), epsilon),
    }


OUTPUT_MISTAKES = {
    "moving statistics": (
        "it matches the output in inference mode: in training mode the layer normalizes with "
        "the batch's own mean and variance (batch_statistics(x)), not the moving averages"
    ),
    "unbiased variance": (
        "it matches a variance divided by N - 1 (ddof=1, the unbiased estimate): Keras divides "
        "by N, numpy's default for x.var()"
    ),
    "epsilon outside": (
        "it matches (x - mean) / (sqrt(var) + epsilon): epsilon goes under the square root, "
        "sqrt(var + epsilon)"
    ),
    "no square root": (
        "it matches (x - mean) / (var + epsilon): divide by the standard deviation, "
        "sqrt(var + epsilon), not by the variance"
    ),
    "gamma and beta swapped": "gamma and beta are swapped: gamma scales, beta shifts",
    "first axis only": (
        "it matches statistics over the first axis only, one per pixel position and channel: "
        "for images (N, H, W, C) there is one mean per channel, over axes (0, 1, 2), every axis "
        "but the last"
    ),
    "batch statistics": (
        "it matches the output with the batch's own statistics: inference mode uses the moving "
        "averages it is given, so a prediction does not depend on the rest of the batch"
    ),
}


def array_from(what: str, value, shape: tuple, x_shape: tuple = ()) -> np.ndarray:
    """`value` as a float64 array of `shape`, or a failure that says what came back instead.

    `x_shape` is the shape of the batch the statistic was computed from, if it is one.
    """
    if value is None:
        fail(f"{what} is None: did you forget a return?")
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        per_channel = ", one value per channel," if x_shape else ""
        said = f"{what} should have shape {shape}{per_channel} got {array.shape}"
        if len(x_shape) > 2 and array.shape == tuple(x_shape[1:]):
            said += (
                ": one value per pixel position and channel, the statistics of the first axis "
                "only. Average over every axis but the last: axes (0, 1, 2) for images"
            )
        elif array.ndim > 1 and array.shape[-1] == shape[-1] and array.size == shape[-1]:
            said += ": the same values with more axes; drop keepdims=True"
        fail(said)
    return array


def output_problem(got: np.ndarray, outputs: dict[str, np.ndarray], expected=None) -> str | None:
    """What is wrong with an output `got`: None, a known mistake, or where it differs."""
    expected = outputs["right"] if expected is None else expected
    if np.allclose(got, expected, atol=1e-4, rtol=1e-4):
        return None
    for mistake, wrong in outputs.items():
        if mistake != "right" and np.allclose(got, wrong, atol=1e-4, rtol=1e-4):
            return OUTPUT_MISTAKES[mistake]
    if not np.all(np.isfinite(got)):
        return f"it holds {show(got[~np.isfinite(got)][:3])}"
    index = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
    return (
        f"it differs by up to {float(np.max(np.abs(got - expected))):.3g}: at index "
        f"{tuple(int(i) for i in index)} expected {float(expected[index]):.6g}, "
        f"got {float(got[index]):.6g}"
    )


def moving_problem(name, got, start, batch, unbiased, momentum) -> str | None:
    """What is wrong with a new moving statistic `got`: None, a known mistake, or the values."""
    expected = momentum * start + (1 - momentum) * batch
    if np.allclose(got, expected, atol=1e-6, rtol=1e-5):
        return None
    said = f"the new {name} should be {show(expected)}, got {show(got)}"
    if np.allclose(got, (1 - momentum) * start + momentum * batch, atol=1e-6, rtol=1e-5):
        return (
            f"{said}: the momentum is the wrong way round. The moving average keeps momentum "
            f"({momentum}) of its old value: momentum * moving + (1 - momentum) * batch"
        )
    if unbiased is not None and np.allclose(
        got, momentum * start + (1 - momentum) * unbiased, atol=1e-6, rtol=1e-5
    ):
        return (
            f"{said}: it was updated with the variance divided by N - 1, as PyTorch's running "
            "variance is; Keras's moving variance uses the same biased variance (divided by N) "
            "as the normalization"
        )
    if np.allclose(got, batch, atol=1e-6, rtol=1e-5):
        return f"{said}: that is the batch's own statistic, not yet averaged with the old one"
    if np.allclose(got, start, atol=1e-6, rtol=1e-5):
        return f"{said}: the moving average was given back unchanged"
    return said


# --- batch statistics --------------------------------------------------------------------------


def statistics_from(exercise, x) -> tuple[np.ndarray, np.ndarray]:
    result = exercise.batch_statistics(x.copy())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"batch_statistics should return a pair (mean, variance), got {type(result).__name__}")
    channels = (x.shape[-1],)
    mean = array_from("the mean", result[0], channels, x.shape)
    return mean, array_from("the variance", result[1], channels, x.shape)


def variance_problem(got: np.ndarray, x: np.ndarray, expected: np.ndarray) -> str | None:
    """What is wrong with the variances `got` of the batch `x`, in plain words; None if nothing."""
    if np.allclose(got, expected, atol=1e-5, rtol=1e-4):
        return None
    said = f"the variances should be {show(expected)}, got {show(got)}"
    count = x.size // x.shape[-1]  # the values averaged for each channel
    if np.allclose(got, expected * count / (count - 1), atol=1e-5, rtol=1e-4):
        return (
            f"{said}: divided by {count - 1} (ddof=1, the unbiased estimate) where Keras divides "
            f"by the {count} values averaged, numpy's default ddof=0"
        )
    return said


def test_batch_statistics_of_a_hand_example(exercise):
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    mean, variance = statistics_from(exercise, x)
    assert np.allclose(mean, [2.5, 25.0]), (
        f"the means of the columns of {show(x)} are [2.5, 25], got {show(mean)}"
    )
    problem = variance_problem(variance, x, np.array([1.25, 125.0]))
    assert problem is None, f"for the columns of {show(x)}, {problem}"


def test_batch_statistics_of_images_are_per_channel(exercise):
    # 2 images of 2x2 pixels, 3 channels: channel c holds c * 10 plus the pixel's number, 0..7.
    x = np.arange(8.0).reshape(2, 2, 2, 1) + np.array([0.0, 10.0, 20.0])
    mean, variance = statistics_from(exercise, x)
    assert np.allclose(mean, [3.5, 13.5, 23.5]), (
        "for 2 images of 2x2 pixels whose channels hold 0..7, 10..17 and 20..27, the means "
        f"should be [3.5, 13.5, 23.5], got {show(mean)}"
    )
    problem = variance_problem(variance, x, np.full(3, 5.25))
    assert problem is None, (
        f"for 2 images of 2x2 pixels whose channels hold 0..7, 10..17 and 20..27, {problem}"
    )


@settings(max_examples=20)
@given(case=cases)
def test_batch_statistics_match_keras(exercise, case):
    shape, _, _, seed = case
    x = drawn(shape, seed)["x"]
    mean, variance = statistics_from(exercise, x)
    expected_mean, expected_variance = (
        np.asarray(part) for part in keras.ops.moments(x, axes=list(axes_of(x)))
    )
    assert np.allclose(mean, expected_mean, atol=1e-5, rtol=1e-5), (
        f"for a batch of shape {shape}, the means should be {show(expected_mean)} "
        f"(keras.ops.moments), got {show(mean)}"
    )
    problem = variance_problem(variance, x, expected_variance)
    assert problem is None, f"for a batch of shape {shape} (keras.ops.moments), {problem}"


# --- training mode ------------------------------------------------------------------------------


def trained(exercise, state, momentum, epsilon):
    """The exercise's batch_norm_train on copies of `state`, checked for its shapes."""
    result = exercise.batch_norm_train(
        state["x"].copy(),
        state["gamma"].copy(),
        state["beta"].copy(),
        state["moving_mean"].copy(),
        state["moving_var"].copy(),
        momentum=momentum,
        epsilon=epsilon,
    )
    if not isinstance(result, tuple) or len(result) != 3:
        fail(
            "batch_norm_train should return three arrays (y, new_moving_mean, new_moving_var), "
            f"got {type(result).__name__}"
        )
    channels = (state["x"].shape[-1],)
    return (
        array_from("y", result[0], state["x"].shape),
        array_from("the new moving mean", result[1], channels, state["x"].shape),
        array_from("the new moving variance", result[2], channels, state["x"].shape),
    )


def training_problems(result, state, momentum, epsilon, expected=None) -> list[str]:
    """What is wrong with the `result` of batch_norm_train on `state`: y against `expected`
    (Keras's y, mean and variance) or numpy's, then each moving statistic."""
    y, new_mean, new_var = result
    x = np.asarray(state["x"], dtype=np.float64)
    outputs = train_outputs(state, epsilon)
    right = None if expected is None else expected[0]
    problems = []
    problem = output_problem(y, outputs, right)
    if problem:
        problems.append(f"y is wrong: {problem}")
    mean, var, unbiased = x.mean(axes_of(x)), x.var(axes_of(x)), x.var(axes_of(x), ddof=1)
    for name, got, start, batch, other, index in [
        ("moving mean", new_mean, state["moving_mean"], mean, None, 1),
        ("moving variance", new_var, state["moving_var"], var, unbiased, 2),
    ]:
        problem = moving_problem(name, got, start, batch, other, momentum)
        if problem is None and expected is not None:
            want = expected[index]
            if not np.allclose(got, want, atol=1e-5, rtol=1e-5):
                problem = f"the new {name} should be {show(want)} as Keras has it, got {show(got)}"
        if problem:
            problems.append(problem)
    return problems


def test_batch_norm_train_of_a_hand_example(exercise):
    state = {
        "x": np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]),
        "gamma": np.array([1.0, 2.0]),
        "beta": np.array([0.0, 1.0]),
        "moving_mean": np.array([0.0, 0.0]),
        "moving_var": np.array([1.0, 1.0]),
    }
    result = trained(exercise, state, momentum=0.9, epsilon=1e-3)
    problems = training_problems(result, state, momentum=0.9, epsilon=1e-3)
    assert not problems, (
        "for the batch [[1, 10], [2, 20], [3, 30], [4, 40]], gamma [1, 2], beta [0, 1], moving "
        f"mean [0, 0], moving variance [1, 1] and momentum 0.9, {problems[0]}"
    )


@settings(max_examples=20)
@given(case=cases)
def test_batch_norm_train_matches_keras(exercise, case):
    shape, momentum, epsilon, seed = case
    state = drawn(shape, seed)
    result = trained(exercise, state, momentum, epsilon)
    layer = keras_layer(state, momentum, epsilon)
    y = np.asarray(layer(state["x"], training=True))
    expected = (y, layer.moving_mean.numpy(), layer.moving_variance.numpy())
    problems = training_problems(result, state, momentum, epsilon, expected)
    assert not problems, (
        f"compared with keras.layers.BatchNormalization(momentum={momentum}, "
        f"epsilon={epsilon}) in training mode on a batch of shape {shape}, {problems[0]}"
    )


# --- inference mode -----------------------------------------------------------------------------


def inferred(exercise, state, epsilon) -> np.ndarray:
    result = exercise.batch_norm_inference(
        state["x"].copy(),
        state["gamma"].copy(),
        state["beta"].copy(),
        state["moving_mean"].copy(),
        state["moving_var"].copy(),
        epsilon=epsilon,
    )
    return array_from("batch_norm_inference's output", result, state["x"].shape)


def inference_outputs(state, epsilon) -> dict[str, np.ndarray]:
    """The inference-mode output, right and with each usual mistake."""
    x = np.asarray(state["x"], dtype=np.float64)
    g, b, mm, mv = (state[key] for key in ("gamma", "beta", "moving_mean", "moving_var"))
    return {
        "right": normalized(x, g, b, mm, mv, epsilon),
        "batch statistics": normalized(x, g, b, x.mean(axes_of(x)), x.var(axes_of(x)), epsilon),
        "epsilon outside": g * (x - mm) / (np.sqrt(mv) + epsilon) + b,
        "no square root": g * (x - mm) / (mv + epsilon) + b,
        "gamma and beta swapped": b * (x - mm) / np.sqrt(mv + epsilon) + g,
    }


def test_batch_norm_inference_of_a_hand_example(exercise):
    state = {
        "x": np.array([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0]]),
        "gamma": np.array([1.0, 0.5]),
        "beta": np.array([0.0, -1.0]),
        "moving_mean": np.array([0.5, 15.0]),
        "moving_var": np.array([4.0, 100.0]),
    }
    problem = output_problem(inferred(exercise, state, 1e-3), inference_outputs(state, 1e-3))
    assert problem is None, (
        "for the batch [[0, 10], [1, 20], [2, 30]] with gamma [1, 0.5], beta [0, -1], moving "
        f"mean [0.5, 15] and moving variance [4, 100], the output is wrong: {problem}"
    )


@settings(max_examples=20)
@given(case=cases)
def test_batch_norm_inference_matches_keras(exercise, case):
    shape, _, epsilon, seed = case
    state = drawn(shape, seed)
    got = inferred(exercise, state, epsilon)
    expected = np.asarray(keras_layer(state, epsilon=epsilon)(state["x"], training=False))
    problem = output_problem(got, inference_outputs(state, epsilon), expected)
    assert problem is None, (
        f"compared with keras.layers.BatchNormalization(epsilon={epsilon}) in inference mode "
        f"on a batch of shape {shape}, the output is wrong: {problem}"
    )


def test_batch_norm_leaves_its_arguments_unchanged(exercise):
    state = drawn((4, 3), seed=17)
    given = {key: value.copy() for key, value in state.items()}
    exercise.batch_norm_train(**given, momentum=0.9)
    exercise.batch_norm_inference(**given)
    changed = [key for key in state if not np.array_equal(given[key], state[key])]
    assert not changed, (
        f"batch_norm_train or batch_norm_inference changed the {' and '.join(changed)} it was "
        "given (an in-place update such as moving_mean *= momentum): return new arrays and "
        "leave the caller's alone"
    )


# --- how fast the moving averages forget --------------------------------------------------------


def keras_moving_statistics(momentum: float, x: np.ndarray, steps: int) -> list[tuple]:
    """Keras's (moving mean, moving variance) of channel 0 after each of `steps` training
    steps on the same batch `x`, from Keras's start (mean 0, variance 1)."""
    layer = keras.layers.BatchNormalization(momentum=momentum)
    layer.build(x.shape)
    history = []
    for _ in range(steps):
        layer(x, training=True)
        history.append((float(layer.moving_mean[0]), float(layer.moving_variance[0])))
    return history


# Steps: tests/test_models.py trains every built-in model on 4,096 images at batch 128, 29
# steps once 10% are held out for validation, and expects it to beat chance by far.
SHORT_RUN = 29
BATCH_MEAN, BATCH_VARIANCE = 0.3, 0.005  # a layer whose outputs vary 200 times less than 1


def test_moving_average_after_matches_keras_steps(exercise, note):
    spread = math.sqrt(BATCH_VARIANCE)
    x = np.array([[BATCH_MEAN + spread], [BATCH_MEAN - spread]], dtype="float32")
    mean, variance = float(x.mean()), float(x.var())  # the float32 batch's own statistics
    reached = []
    for momentum in (0.99, 0.9, 0.8):
        keras_mean, keras_variance = keras_moving_statistics(momentum, x, SHORT_RUN)[-1]
        for name, start, batch, want in [
            ("mean", 0.0, mean, keras_mean),
            ("variance", 1.0, variance, keras_variance),
        ]:
            got = exercise.moving_average_after(start, batch, momentum, SHORT_RUN)
            assert got is not None, "moving_average_after returned None: did you forget a return?"
            got = float(got)
            swapped = batch + (start - batch) * (1 - momentum) ** SHORT_RUN
            hint = (
                ": the start keeps momentum, not 1 - momentum, at each step"
                if math.isclose(got, swapped, rel_tol=1e-4)
                else ""
            )
            assert math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-7), (
                f"after {SHORT_RUN} steps of momentum {momentum} from a moving {name} of {start} "
                f"toward a batch {name} of {batch:.4g}, Keras's moving {name} is {want:.6g}, but "
                f"moving_average_after({start}, {batch:.4g}, {momentum}, {SHORT_RUN}) gave "
                f"{got:.6g}{hint}"
            )
        reached.append(f"{keras_variance:.3g} at momentum {momentum}")
    note(
        f"after {SHORT_RUN} steps from variance 1 toward a batch variance of {BATCH_VARIANCE}, "
        f"the moving variance is {', '.join(reached)} (Keras agrees)"
    )


# (momentum, fraction, steps): momentum**steps <= fraction < momentum**(steps - 1)
FORGETTING = [(0.99, 0.01, 459), (0.9, 0.01, 44), (0.8, 0.01, 21), (0.8, 5e-4, 35)]


def counted(steps: int) -> str:
    return f"{steps} step" if steps == 1 else f"{steps} steps"


def forgetting_problem(got, momentum: float, fraction: float, steps: int) -> str | None:
    if got == steps and float(got).is_integer():
        return None
    said = f"steps_to_forget({momentum}, {fraction}) should be {steps}, got {got!r}"
    if isinstance(got, (int, float, np.number)) and not float(got).is_integer():
        return f"{said}: a number of steps is a whole number, the first k that gets there"
    if got == steps - 1:
        return (
            f"{said}: after {counted(steps - 1)} the start still weighs "
            f"{momentum}**{steps - 1} = {momentum ** (steps - 1):.4g}, more than {fraction}; "
            "it takes one more"
        )
    if got == steps + 1:
        return (
            f"{said}: {counted(steps)} already bring the start's weight to "
            f"{momentum}**{steps} = {momentum**steps:.4g} <= {fraction}; the answer is the fewest "
            "steps"
        )
    return f"{said}: the fewest k with {momentum}**k <= {fraction}"


def test_steps_to_forget_of_hand_examples(exercise):
    for momentum, fraction, steps in FORGETTING:
        problem = forgetting_problem(
            exercise.steps_to_forget(momentum, fraction), momentum, fraction, steps
        )
        assert problem is None, problem


@settings(max_examples=40)
@given(momentum=st.floats(0.5, 0.995), fraction=st.floats(1e-4, 0.5))
def test_steps_to_forget_is_the_fewest_steps(exercise, momentum, fraction):
    exact = math.log(fraction) / math.log(momentum)
    assume(abs(exact - round(exact)) > 1e-6)  # not on a boundary, where rounding decides
    problem = forgetting_problem(
        exercise.steps_to_forget(momentum, fraction), momentum, fraction, math.ceil(exact)
    )
    assert problem is None, problem


def test_steps_to_forget_matches_keras(exercise):
    # The moving mean starts at 0 and every batch has mean 1: after k steps it is 1 - m**k.
    x = np.array([[0.5], [1.5]], dtype="float32")
    for momentum, fraction in [(0.9, 0.01), (0.8, 0.01)]:
        got = exercise.steps_to_forget(momentum, fraction)
        history = keras_moving_statistics(momentum, x, math.ceil(math.log(fraction, momentum)) + 1)
        keras_steps = next(k for k, (mean, _) in enumerate(history, 1) if 1 - mean <= fraction)
        problem = forgetting_problem(got, momentum, fraction, keras_steps)
        assert problem is None, (
            f"Keras, from a moving mean of 0 toward batches of mean 1, is within {fraction} of "
            f"1 first after {keras_steps} steps at momentum {momentum}; {problem}"
        )


# --- your own code -----------------------------------------------------------------------------


def test_the_five_functions_are_your_own_code(exercise):
    # The five run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call Keras, TensorFlow, PyTorch or JAX, however reached.
    state = drawn((4, 2), seed=0)
    exercise.batch_statistics(state["x"])
    exercise.batch_norm_train(**state)
    exercise.batch_norm_inference(**state)
    exercise.moving_average_after(1.0, 0.005, 0.8, 32)
    exercise.steps_to_forget(0.8, 0.01)
