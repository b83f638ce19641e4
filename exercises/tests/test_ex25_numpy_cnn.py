"""Exercise 25, your own CNN in numpy: its pieces, its gradients against TensorFlow's, and a real
training on MNIST.

The file imports the student's exercises 9, 10, 11, 19, 21, 22 and 23 from its own folder (the
manifest's `own_code.uses`). Before anything else, each of those files gets one hand example;
one that is missing or not finished fails every test with one line that says which exercise to
finish first. The fast tests check the shapes, the loss and the gradient of every weight against
tf.GradientTape on a tiny batch (float32, as exercise 9 computes), that the earlier exercises'
functions are the ones called, that Adam moves every weight and that steps lower the loss. The
slow test trains 3 epochs on the 54,000 training images of stratified_split(labels, 0.1, 0) and
asks for 97.5% on the 6,000 validation images; it reports the accuracy and the time.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pytest
from conftest import exercises_dir, import_exercise

from mnist_lab.core.lazy import LazyModule

tf = LazyModule("tensorflow")  # imported by the first test that needs it

EXERCISE = "ex25_numpy_cnn.py"
TARGET = 0.975  # validation accuracy after 3 epochs
EPOCHS = 3
# The weights, in the order TensorFlow's reference takes them.
NAMES = ("conv_kernel", "conv_bias", "dense1_kernel", "dense1_bias", "dense2_kernel", "dense2_bias")
# float32 forward passes (exercise 9 computes in float32): gradients agree to about 1e-5 of
# their scale; 1e-3 leaves room for sums in another order and still catches every mistake.
TOLERANCE = 1e-3


# --- the earlier exercises, each with one hand example -----------------------------------------


def _probe_conv(module):
    out = module.conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1)), np.array([0.5]))
    return np.allclose(out, np.full((1, 2, 2, 1), 4.5))


def _probe_pool(module):
    out = module.max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1))
    return np.allclose(out, np.array([5.0, 7.0, 13.0, 15.0]).reshape(1, 2, 2, 1))


def _probe_softmax(module):
    logits, labels = np.zeros((1, 2)), np.array([0])
    loss = module.cross_entropy_from_logits(logits, labels)
    gradient = module.softmax_cross_entropy_gradient(logits, labels)
    return math.isclose(loss, math.log(2)) and np.allclose(gradient, [[-0.5, 0.5]])


def _probe_dense(module):
    dx, dw, db = module.dense_backward(np.ones((1, 2)), np.ones((1, 3)), np.ones((3, 2)))
    relu = module.relu_backward(np.ones(3), np.array([-1.0, 0.0, 2.0]))
    right = np.allclose(dx, 2) and np.allclose(dw, 1) and np.allclose(db, 1)
    return right and np.allclose(relu, [0, 0, 1])


def _probe_conv_backward(module):
    dimages, dkernels, dbias = module.conv2d_backward(
        np.ones((1, 2, 2, 1)), np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1))
    )
    spread = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float).reshape(1, 3, 3, 1)
    return np.allclose(dimages, spread) and np.allclose(dkernels, 4) and np.allclose(dbias, 4)


def _probe_pool_backward(module):
    images = np.array([[1.0, 3.0], [3.0, 0.0]]).reshape(1, 2, 2, 1)  # a tie: the first wins
    out = module.max_pool2d_backward(np.ones((1, 1, 1, 1)), images)
    return np.allclose(out, np.array([[0, 1], [0, 0]]).reshape(1, 2, 2, 1))


def _probe_adam(module):
    w, m, v = module.adam_step(np.ones(1), np.ones(1), np.zeros(1), np.zeros(1), 1, lr=0.1)
    return np.allclose(w, 0.9) and np.allclose(m, 0.1) and np.allclose(v, 0.001)


EARLIER = {
    9: ("ex09_convolution.py", _probe_conv),
    10: ("ex10_pooling.py", _probe_pool),
    11: ("ex11_softmax.py", _probe_softmax),
    19: ("ex19_dense_backward.py", _probe_dense),
    21: ("ex21_conv_backward.py", _probe_conv_backward),
    22: ("ex22_pool_backward.py", _probe_pool_backward),
    23: ("ex23_optimizers.py", _probe_adam),
}


def unfinished(folder) -> str | None:
    """One line naming the first earlier exercise that is missing or not finished, or None."""
    for number, (name, probe) in EARLIER.items():
        uses = f"exercise 25 uses your exercise {number} ({name})"
        path = folder / name
        if not path.is_file():
            return (
                f"{uses}, missing from {folder}: restore it with "
                f"'mnist-lab exercises reset {number}' and finish it first"
            )
        try:
            right = bool(probe(import_exercise(path)))
        except Exception:  # a stub raises NotImplementedError; any error means unfinished
            right = False
        if not right:
            return f"{uses}: finish it first (mnist-lab exercises check {number})"
    return None


@pytest.fixture(scope="module")
def exercise(earlier, exercise):
    """The conftest's exercise, imported once every earlier exercise it uses works."""
    return exercise


@pytest.fixture(scope="module")
def earlier():
    """Check the earlier exercises, then let `import ex09_convolution` find the files beside
    exercise 25 (as `python ex25_numpy_cnn.py` would); afterwards forget those modules."""
    folder = exercises_dir()
    problem = unfinished(folder)
    if problem:
        pytest.fail(problem, pytrace=False)
    names = [name.removesuffix(".py") for name, _ in EARLIER.values()]
    for name in names:
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in names:
        sys.modules.pop(name, None)


# --- helpers ----------------------------------------------------------------------------------


def worst(got, expected) -> float:
    """The largest error of `got`, relative to the scale (largest |value|) of `expected`."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-12))


def weights(exercise, seed: int = 0) -> dict[str, np.ndarray]:
    """Weights of the network's shapes made here, so each test of a piece stands on its own
    (init_params has its own test)."""
    rng = np.random.default_rng(seed)
    flat, filters, hidden = 13 * 13 * exercise.FILTERS, exercise.FILTERS, exercise.HIDDEN
    shapes = {
        "conv_kernel": (3, 3, 1, filters), "conv_bias": (filters,),
        "dense1_kernel": (flat, hidden), "dense1_bias": (hidden,),
        "dense2_kernel": (hidden, 10), "dense2_bias": (10,),
    }  # fmt: skip
    scales = {"conv_kernel": 0.47, "dense1_kernel": math.sqrt(2 / flat), "dense2_kernel": 0.18}
    return {
        name: (rng.normal(size=shape) * scales.get(name, 0.05)).astype(np.float32)
        for name, shape in shapes.items()
    }


def tiny_batch(count: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 1, (count, 28, 28, 1)).astype(np.float32)
    return images, rng.integers(0, 10, count)


def reference(params, images, labels):
    """(loss, gradients, logits) of the same network in TensorFlow, float32."""
    variables = [tf.Variable(params[name]) for name in NAMES]
    with tf.GradientTape() as tape:
        conv = tf.nn.conv2d(images, variables[0], 1, "VALID") + variables[1]
        pooled = tf.nn.max_pool2d(tf.nn.relu(conv), 2, 2, "VALID")
        flat = tf.reshape(pooled, (len(images), -1))
        hidden = tf.nn.relu(flat @ variables[2] + variables[3])
        logits = hidden @ variables[4] + variables[5]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.constant(labels), logits)
        )
    gradients = tape.gradient(loss, variables)
    by_name = {name: gradient.numpy() for name, gradient in zip(NAMES, gradients, strict=True)}
    return float(loss), by_name, logits.numpy()


def counting(module_of_ex25, calls):
    """Wrap the functions exercise 25 imported, in its module and in theirs, to count calls."""
    patches = []
    for name in (
        "conv2d", "max_pool2d", "cross_entropy_from_logits", "softmax_cross_entropy_gradient",
        "dense_backward", "relu_backward", "conv2d_backward", "max_pool2d_backward", "adam_step",
    ):  # fmt: skip
        original = getattr(module_of_ex25, name, None)
        if original is None:
            continue

        def wrapper(*args, _original=original, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _original(*args, **kwargs)

        patches.append((module_of_ex25, name, wrapper))
        home = sys.modules.get(getattr(original, "__module__", ""), None)
        if home is not None and getattr(home, name, None) is original:
            patches.append((home, name, wrapper))
    return patches


# --- the tests --------------------------------------------------------------------------------


def test_init_params_gives_he_normal_kernels_and_zero_biases(exercise):
    params = exercise.init_params(0)
    shapes = {
        "conv_kernel": (3, 3, 1, exercise.FILTERS),
        "conv_bias": (exercise.FILTERS,),
        "dense1_kernel": (13 * 13 * exercise.FILTERS, exercise.HIDDEN),
        "dense1_bias": (exercise.HIDDEN,),
        "dense2_kernel": (exercise.HIDDEN, 10),
        "dense2_bias": (10,),
    }
    assert {name: value.shape for name, value in params.items()} == shapes
    assert all(value.dtype == np.float32 for value in params.values())
    for name in ("conv_bias", "dense1_bias", "dense2_bias"):
        assert not params[name].any(), f"{name} must start at 0"
    for name in ("conv_kernel", "dense1_kernel", "dense2_kernel"):
        fan_in = int(np.prod(params[name].shape[:-1]))
        spread = params[name].std() / math.sqrt(2 / fan_in)
        assert 0.7 < spread < 1.3, f"{name}'s standard deviation is {spread:.2f} x sqrt(2/fan_in)"
    again, other = exercise.init_params(0), exercise.init_params(1)
    assert all(np.array_equal(params[n], again[n]) for n in params), "the same seed, other weights"
    assert not np.array_equal(params["conv_kernel"], other["conv_kernel"])


def test_forward_gives_the_logits_of_tensorflow_and_a_cache(exercise):
    params = weights(exercise, 0)
    images, labels = tiny_batch()
    logits, cache = exercise.forward(params, images)
    assert logits.shape == (6, 10) and logits.dtype == np.float32
    assert isinstance(cache, dict)
    _, _, expected = reference(params, images, labels)
    assert worst(logits, expected) < 1e-4


def test_loss_and_gradients_match_tensorflow(exercise):
    params = weights(exercise, 3)
    images, labels = tiny_batch(seed=1)
    kept = {name: value.copy() for name, value in params.items()}
    loss, grads = exercise.loss_and_gradients(params, images, labels)
    expected_loss, expected, _ = reference(params, images, labels)
    assert isinstance(loss, float)
    assert math.isclose(loss, expected_loss, rel_tol=1e-4), f"loss {loss}, Keras {expected_loss}"
    assert set(grads) == set(NAMES)
    for name in reversed(NAMES):  # from the logits back: the first one off is where to look
        assert grads[name].shape == params[name].shape, name
        error = worst(grads[name], expected[name])
        assert error < TOLERANCE, (
            f"the gradient of {name} is off by {error:.2g} of its scale (TensorFlow's: at most "
            f"{TOLERANCE}); follow it back from the logits, one layer at a time"
        )
    assert all(np.array_equal(params[n], kept[n]) for n in NAMES), "the weights were changed"


def test_the_loss_is_the_batch_mean(exercise):
    # The same batch twice over has the same mean loss, so the same gradients.
    params = weights(exercise, 4)
    images, labels = tiny_batch(4, seed=2)
    loss, grads = exercise.loss_and_gradients(params, images, labels)
    twice, grads2 = exercise.loss_and_gradients(
        params, np.concatenate([images, images]), np.concatenate([labels, labels])
    )
    assert math.isclose(loss, twice, rel_tol=1e-5)
    for name in NAMES:
        assert worst(grads2[name], grads[name]) < 1e-4, (
            f"doubling the batch changed the gradient of {name}: the loss must be the mean"
        )


def test_your_earlier_exercises_do_the_work(exercise, earlier, monkeypatch):
    for name, home in (
        ("conv2d", "ex09_convolution.py"), ("max_pool2d", "ex10_pooling.py"),
        ("softmax_cross_entropy_gradient", "ex11_softmax.py"),
        ("dense_backward", "ex19_dense_backward.py"), ("relu_backward", "ex19_dense_backward.py"),
        ("conv2d_backward", "ex21_conv_backward.py"),
        ("max_pool2d_backward", "ex22_pool_backward.py"),
        ("adam_step", "ex23_optimizers.py"),
    ):  # fmt: skip
        function = getattr(exercise, name, None)
        where = getattr(getattr(function, "__code__", None), "co_filename", "")
        assert where.endswith(home), (
            f"exercise 25 must use your {name} of {home} (import it from there), not a copy"
        )
    calls: dict[str, int] = {}
    for owner, name, wrapper in counting(exercise, calls):
        monkeypatch.setattr(owner, name, wrapper)
    params = weights(exercise, 0)
    _, grads = exercise.loss_and_gradients(params, *tiny_batch(2))
    exercise.adam_update(params, grads, {})
    expected = {
        "conv2d": 1, "max_pool2d": 1, "softmax_cross_entropy_gradient": 1, "dense_backward": 2,
        "relu_backward": 2, "conv2d_backward": 1, "max_pool2d_backward": 1, "adam_step": 6,
    }  # fmt: skip
    for name, count in expected.items():
        assert calls.get(name, 0) >= count, (
            f"one training step called your {name} {calls.get(name, 0)} times, expected {count}"
        )


def test_adam_update_moves_every_weight_by_about_lr(exercise):
    params = weights(exercise, 0)
    kept = {name: value.copy() for name, value in params.items()}
    _, grads = exercise.loss_and_gradients(params, *tiny_batch(8, seed=5))
    state: dict = {}
    updated = exercise.adam_update(params, grads, state, lr=1e-3)
    assert state["t"] == 1
    for name in NAMES:
        assert updated[name].dtype == np.float32 and updated[name].shape == params[name].shape
        # Keras's first Adam step is lr * g / (|g| + epsilon / sqrt(1 - beta2)): lr for |g| >> 3e-6.
        moved = np.abs(updated[name] - kept[name])[np.abs(grads[name]) > 1e-3]
        assert moved.size and np.allclose(moved, 1e-3, rtol=2e-2), (
            f"Adam's first step must move every weight with a gradient by about lr: {name} "
            "did not move"
        )
        assert np.array_equal(params[name], kept[name]), "adam_update changed the weights given"
    exercise.adam_update(updated, grads, state)
    assert state["t"] == 2


def test_steps_lower_the_loss_of_real_digits(exercise, mnist):
    (x_train, y_train), _ = mnist
    images = (x_train[:64].astype(np.float32) / 255)[..., None]
    labels = y_train[:64].astype(np.int64)
    params, state = weights(exercise, 0), {}
    first, grads = exercise.loss_and_gradients(params, images, labels)
    assert 1.5 < first < 4, f"an untrained network's loss is near ln 10 = 2.3, got {first:.3g}"
    for _ in range(5):
        params = exercise.adam_update(params, grads, state)
        loss, grads = exercise.loss_and_gradients(params, images, labels)
    assert loss < 0.8 * first, f"5 Adam steps on one batch took its loss from {first} to {loss}"


def test_predict_gives_the_argmax_in_batches(exercise):
    params = weights(exercise, 0)
    images, _ = tiny_batch(7, seed=6)
    logits, _ = exercise.forward(params, images)
    got = exercise.predict(params, images, batch_size=3)
    assert got.shape == (7,)
    np.testing.assert_array_equal(got, logits.argmax(axis=1))


def test_train_records_one_entry_per_epoch(exercise, mnist):
    (x_train, y_train), _ = mnist
    images = (x_train[:128].astype(np.float32) / 255)[..., None]
    labels = y_train[:128].astype(np.int64)
    start = exercise.init_params(0)
    params, history = exercise.train(
        start, images[:96], labels[:96], images[96:], labels[96:], epochs=2, batch_size=32
    )
    assert len(history) == 2
    for entry in history:
        assert set(entry) >= {"loss", "val_accuracy", "seconds"}
        assert 0 <= entry["val_accuracy"] <= 1 and entry["seconds"] > 0
    assert history[1]["loss"] < history[0]["loss"]
    assert not np.array_equal(params["conv_kernel"], start["conv_kernel"])


@pytest.mark.slow
def test_your_cnn_reaches_97_5_percent_validation_in_3_epochs(exercise, mnist, note):
    from mnist_lab.data.preprocess import stratified_split

    (x_train, y_train), _ = mnist
    train_idx, val_idx = stratified_split(y_train, 0.1, 0)
    images = (x_train.astype(np.float32) / 255)[..., None]
    labels = y_train.astype(np.int64)
    start = time.perf_counter()
    _, history = exercise.train(
        exercise.init_params(0),
        images[train_idx],
        labels[train_idx],
        images[val_idx],
        labels[val_idx],
        epochs=EPOCHS,
    )
    seconds = time.perf_counter() - start
    accuracies = [entry["val_accuracy"] for entry in history]
    shown = ", ".join(f"{accuracy:.2%}" for accuracy in accuracies)
    note(
        f"your numpy CNN: validation accuracy {shown} after epochs 1-{len(history)} "
        f"({len(train_idx):,} training images), {seconds:.0f} s in all"
    )
    assert len(history) == EPOCHS
    assert max(accuracies) >= TARGET, (
        f"your numpy CNN reached {max(accuracies):.2%} on validation in {EPOCHS} epochs; "
        f"{TARGET:.1%} is asked (its loss by epoch: "
        + ", ".join(f"{entry['loss']:.3f}" for entry in history)
        + ")"
    )
