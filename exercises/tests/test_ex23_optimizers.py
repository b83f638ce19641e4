"""Exercise 23, SGD, momentum and Adam: compared step by step with Keras's own optimizers.

`keras.optimizers.SGD` (with and without momentum) and `keras.optimizers.Adam` update a Keras
variable with the same gradients for several steps; after every step the weights and the
optimizer's slots (the velocity; Adam's m and v) must equal yours, in float64 (relative error at
most 1e-6 of each array's scale) and float32 (1e-5), on shapes, rates and gradient scales that
hypothesis draws (Adam's weights to 3e-5 of the rate: see ADAM_TOLERANCE). Hand examples pin
down the classic mistakes: Adam without its bias correction, epsilon inside the square root or
beside the corrected v (the textbook form, not Keras's), t counted from 0, the velocity of
PyTorch's convention, and updates made in place.
"""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.core.lazy import LazyModule

keras = LazyModule("keras")  # imported by the first test that needs it

EXERCISE = "ex23_optimizers.py"
# Keras rounds its hyperparameters to float32 even for float64 weights: Adam's beta1 and beta2
# in its bias correction (its rate differs from the exact formula by up to about 1e-5), the
# momentum of SGD (by about 3e-8, more where a velocity's entry is a near cancellation). So an
# entry is judged against the scale of its whole array (an entry near 0 in an array of 1s is
# right to 1e-6 of 1), Adam's weights against the rate too (each step moves a weight by about
# the rate) and to 3e-5. The rates below are exact in float32.
ADAM_TOLERANCE = 3e-5

# (shape, steps, learning rate, gradient scale, seed). The rates are exact in float32, as Keras
# keeps its learning rate in float32.
runs = st.tuples(
    st.lists(st.integers(1, 4), min_size=1, max_size=2),
    st.integers(1, 5),
    st.sampled_from([0.5, 0.125, 0.015625, 2.0**-10]),
    st.sampled_from([1e-6, 1e-2, 1.0, 100.0]),
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


def worst(got, expected, floor: float = 1e-8) -> float:
    """The largest relative error |a - b| / max(|a| + |b|, floor)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    with np.errstate(invalid="ignore"):  # inf - inf: a path that blew up is nan, never close
        errors = np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), floor)
    return float(np.max(np.where(np.isnan(errors), np.inf, errors)))


def drawn(run, dtype=np.float64):
    shape, steps, lr, scale, seed = run
    rng = np.random.default_rng(seed)
    w = rng.normal(size=shape).astype(dtype)
    gradients = [(rng.normal(size=shape) * scale).astype(dtype) for _ in range(steps)]
    return w, gradients, lr


# --- calling the exercise ----------------------------------------------------------------------


def arrays(name: str, result, count: int, w: np.ndarray) -> list[np.ndarray]:
    """`result` as `count` arrays shaped like w, of w's dtype, or a failure that says why."""
    if result is None:
        fail(f"{name} returned None: did you forget the return?")
    parts = [result] if count == 1 else result
    if count > 1 and (not isinstance(result, tuple | list) or len(result) != count):
        fail(f"{name} should return {count} arrays, got {type(result).__name__}")
    checked = []
    for part in parts:
        array = np.asarray(part)
        if array.shape != w.shape:
            fail(f"{name} should return arrays shaped like w, {w.shape}; got {array.shape}")
        if array.dtype != w.dtype:
            fail(f"{name} should return arrays of w's dtype, {w.dtype}; got {array.dtype}")
        checked.append(array)
    return checked


def unchanged(name: str, given: list[np.ndarray], before: list[np.ndarray]) -> None:
    for array, old in zip(given, before, strict=True):
        if not np.array_equal(array, old):
            fail(
                f"{name} changed an array it was given (w -= ... writes into the caller's w): "
                "return new arrays, the caller keeps the old ones"
            )


def sgd_path(exercise, w, gradients, lr):
    path = []
    for g in gradients:
        given = [w.copy(), g.copy()]
        before = [copy.copy() for copy in given]
        (w,) = arrays("sgd_step", exercise.sgd_step(*given, lr), 1, w)
        unchanged("sgd_step", given, before)
        path.append((w,))
    return path


def momentum_path(exercise, w, gradients, lr, momentum=0.9):
    velocity, path = np.zeros_like(w), []
    for g in gradients:
        given = [w.copy(), g.copy(), velocity.copy()]
        before = [copy.copy() for copy in given]
        result = exercise.momentum_step(*given, lr, momentum=momentum)
        w, velocity = arrays("momentum_step", result, 2, w)
        unchanged("momentum_step", given, before)
        path.append((w, velocity))
    return path


def adam_path(exercise, w, gradients, lr, epsilon=1e-7):
    m, v, path = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(gradients, start=1):
        given = [w.copy(), g.copy(), m.copy(), v.copy()]
        before = [copy.copy() for copy in given]
        result = exercise.adam_step(*given, t, lr=lr, epsilon=epsilon)
        w, m, v = arrays("adam_step", result, 3, w)
        unchanged("adam_step", given, before)
        path.append((w, m, v))
    return path


# --- what Keras does ---------------------------------------------------------------------------


def keras_path(optimizer, w, gradients):
    """[(w, *slots)] after each step of a Keras optimizer from w: the slots are the velocity of
    SGD with momentum, m and v of Adam."""
    variable = keras.Variable(w, dtype=w.dtype.name)
    optimizer.build([variable])
    slots = [s for s in optimizer.variables if tuple(s.shape) == w.shape and len(w.shape)]
    path = []
    for g in gradients:
        optimizer.apply_gradients([(g, variable)])
        path.append((variable.numpy(), *(s.numpy() for s in slots)))
    return path


# --- what went wrong ---------------------------------------------------------------------------


def adam_by_formula(w, gradients, lr, epsilon=1e-7, form="keras"):
    """Adam's path in float64 by formula: Keras's form, or a classic mistake."""
    m, v, path = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(gradients, start=1):
        m = m + 0.1 * (g - m)
        v = v + 0.001 * (g * g - v)
        step = t - 1 if form == "t from 0" else t
        if form == "no bias correction":
            w = w - lr * m / (np.sqrt(v) + epsilon)
        elif form == "textbook":
            w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + epsilon)
        elif form == "epsilon inside":
            w = w - lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / np.sqrt(v + epsilon)
        else:
            rate = lr * math.sqrt(1 - 0.999**step) / (1 - 0.9**step) if step else math.inf
            w = w - rate * m / (np.sqrt(v) + epsilon)
        path.append((w, m, v))
    return path


ADAM_MISTAKES = {
    "no bias correction": (
        "that is Adam without its bias correction: m and v start at 0, so for the first steps "
        "they are too small; Keras multiplies the rate by sqrt(1 - beta2**t) / (1 - beta1**t)"
    ),
    "textbook": (
        "that is the textbook form, epsilon added to sqrt(v / (1 - beta2**t)); Keras folds the "
        "correction into the rate and adds epsilon to sqrt(v) itself, which differs wherever "
        "sqrt(v) is as small as epsilon"
    ),
    "epsilon inside": "epsilon is added to sqrt(v), not to v under the square root",
    "t from 0": "t counts the steps from 1: the first step is t = 1",
}


def path_problem(name, got, expected, tolerance, slots, w, gradients, lr) -> str | None:
    """What differs first between two paths, in plain words; None if nothing."""
    for step, (mine, right) in enumerate(zip(got, expected, strict=True), start=1):
        for label, a, b in zip(slots, mine, right, strict=True):
            scale = float(np.max(np.abs(b), initial=0.0))
            floor = max(scale, lr if (name, label) == ("adam_step", "w") else 1e-8)
            error = worst(a, b, floor)
            if error <= tolerance:
                continue
            said = (
                f"after step {step}, {label} is {show(a)} where Keras's is {show(b)} "
                f"(relative error {error:.2g})"
            )
            if name == "adam_step":
                for form, why in ADAM_MISTAKES.items():
                    other = adam_by_formula(w.astype(np.float64), gradients, lr, form=form)
                    if worst(got[step - 1][0], other[step - 1][0]) < 1e-9:
                        return f"{said}: {why}"
            if name == "momentum_step" and label == "velocity":
                return (
                    f"{said}, though w is right: in Keras's convention the velocity is the step "
                    "itself, momentum * velocity - lr * g (not a sum of gradients scaled later)"
                )
            if name == "sgd_step" and worst(a, w + lr * gradients[0]) < 1e-9:
                return f"{said}: a step goes against the gradient, w - lr * g"
            return said
    return None


# --- SGD ---------------------------------------------------------------------------------------


def test_sgd_step_of_a_hand_example(exercise):
    w, g = np.array([1.0, -2.0]), np.array([0.5, -1.0])
    got = sgd_path(exercise, w, [g], 0.1)[0][0]
    assert np.allclose(got, [0.95, -1.9], rtol=1e-12), (
        f"sgd_step([1, -2], [0.5, -1], lr=0.1) gave {show(got)}, not [0.95, -1.9]: w - lr * g"
    )


@settings(max_examples=15)
@given(run=runs)
def test_sgd_matches_keras(exercise, run):
    w, gradients, lr = drawn(run)
    got = sgd_path(exercise, w, gradients, lr)
    expected = keras_path(keras.optimizers.SGD(learning_rate=lr), w, gradients)
    problem = path_problem("sgd_step", got, expected, 1e-6, ["w"], w, gradients, lr)
    assert problem is None, f"compared with keras.optimizers.SGD(learning_rate={lr}), {problem}"


# --- momentum ----------------------------------------------------------------------------------


def test_momentum_step_of_a_hand_example(exercise):
    # velocity -0.1, then 0.9 * -0.1 - 0.1 = -0.19: w goes 1, 0.9, 0.71
    got = momentum_path(exercise, np.array([1.0]), [np.array([1.0]), np.array([1.0])], 0.1)
    expected = [(np.array([0.9]), np.array([-0.1])), (np.array([0.71]), np.array([-0.19]))]
    problem = path_problem(
        "momentum_step", got, expected, 1e-12, ["w", "velocity"], np.array([1.0]), [], 0.1
    )
    assert problem is None, f"from w = [1] with the gradient [1] twice, lr=0.1, {problem}"


@settings(max_examples=15)
@given(run=runs)
def test_momentum_matches_keras(exercise, run):
    w, gradients, lr = drawn(run)
    got = momentum_path(exercise, w, gradients, lr)
    optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    expected = keras_path(optimizer, w, gradients)
    problem = path_problem("momentum_step", got, expected, 1e-6, ["w", "velocity"], w, [], lr)
    assert problem is None, (
        f"compared with keras.optimizers.SGD(learning_rate={lr}, momentum=0.9), {problem}"
    )


# --- Adam --------------------------------------------------------------------------------------


def test_adam_first_step_moves_every_weight_by_about_lr(exercise):
    # Gradients 200,000 times apart in size; after one step each weight has moved by about lr.
    w, g = np.ones(3), np.array([0.5, -200.0, 1e-3])
    got = adam_path(exercise, w, [g], 0.1)
    expected = adam_by_formula(w, [g], 0.1)
    problem = path_problem("adam_step", got, expected, 1e-9, ["w", "m", "v"], w, [g], 0.1)
    assert problem is None, f"Adam's first step from w = [1, 1, 1], lr=0.1: {problem}"
    assert np.allclose(np.abs(got[0][0] - w), 0.1, rtol=0.01)


def test_adam_of_tiny_gradients_adds_epsilon_to_sqrt_v(exercise):
    # Gradients of 1e-7, as small as epsilon: where epsilon goes decides the step.
    w, gradients = np.array([0.5, -0.5]), [np.array([1e-7, -3e-7])] * 3
    got = adam_path(exercise, w, gradients, 0.01)
    expected = adam_by_formula(w, gradients, 0.01)
    problem = path_problem("adam_step", got, expected, 1e-9, ["w", "m", "v"], w, gradients, 0.01)
    assert problem is None, f"for gradients of 1e-7, lr=0.01, {problem}"


@settings(max_examples=15)
@given(run=runs)
def test_adam_matches_keras(exercise, run):
    w, gradients, lr = drawn(run)
    got = adam_path(exercise, w, gradients, lr)
    expected = keras_path(keras.optimizers.Adam(learning_rate=lr), w, gradients)
    slots = ["w", "m", "v"]
    problem = path_problem("adam_step", got, expected, ADAM_TOLERANCE, slots, w, gradients, lr)
    assert problem is None, (
        f"compared with keras.optimizers.Adam(learning_rate={lr}) over {len(gradients)} "
        f"step(s), {problem}"
    )


@settings(max_examples=8)
@given(run=runs)
def test_the_optimizers_match_keras_in_float32(exercise, run):
    w, gradients, lr = drawn(run, np.float32)
    for name, got, optimizer, slots in [
        ("sgd_step", sgd_path(exercise, w, gradients, lr), keras.optimizers.SGD(lr), ["w"]),
        (
            "momentum_step",
            momentum_path(exercise, w, gradients, lr),
            keras.optimizers.SGD(lr, momentum=0.9),
            ["w", "velocity"],
        ),
        (
            "adam_step",
            adam_path(exercise, w, gradients, lr),
            keras.optimizers.Adam(lr),
            ["w", "m", "v"],
        ),
    ]:
        expected = keras_path(optimizer, w, gradients)
        tolerance = ADAM_TOLERANCE if name == "adam_step" else 1e-5
        problem = path_problem(name, got, expected, tolerance, slots, w, gradients, lr)
        assert problem is None, f"{name} in float32, compared with Keras at lr={lr}: {problem}"


def test_the_steps_leave_their_arguments_unchanged(exercise):
    w, g = np.array([1.0, 2.0], dtype=np.float32), np.array([0.5, -0.5], dtype=np.float32)
    sgd_path(exercise, w, [g], 0.1)
    momentum_path(exercise, w, [g, g], 0.1)
    adam_path(exercise, w, [g, g], 0.1)


def test_the_three_steps_are_your_own_code(exercise):
    # The three run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call TensorFlow, Keras or the course's library, however reached.
    w, g = np.ones(2), np.ones(2)
    exercise.sgd_step(w, g, 0.1)
    exercise.momentum_step(w, g, np.zeros(2), 0.1)
    exercise.adam_step(w, g, np.zeros(2), np.zeros(2), 1)
