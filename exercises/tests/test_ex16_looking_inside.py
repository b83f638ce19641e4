"""Exercise 16, looking inside: feature maps, first-layer filters and saliency, compared with the
library's own (`mnist_lab.inspection`, what `mnist-lab inspect` draws) on an untrained reference
CNN, on `fast` (whose first layer is not a convolution) and on a functional model; the saliency
(the gradient of a digit's logit) also with a GradientTape written here, on a confident model
whose probability's gradient is nearly zero."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mnist_lab import inspection
from mnist_lab.preprocess import normalize
from mnist_lab.registry import create_model

EXERCISE = "ex16_looking_inside.py"


@pytest.fixture(scope="module")
def reference():
    """The reference CNN, untrained: seeded weights are as good as learned ones to compare."""
    keras.utils.set_random_seed(16)
    return create_model("reference")


@pytest.fixture(scope="module")
def fast():
    """`fast` starts with a Rescaling layer, then a 5x5 convolution of 24 filters."""
    keras.utils.set_random_seed(16)
    return create_model("fast")


@pytest.fixture(scope="module")
def functional():
    """A functional model with three convolutions, one without activation (negative maps)."""
    keras.utils.set_random_seed(16)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="first")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, name="second")(x)  # no activation
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="tanh", name="third")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def digits(mnist):
    """Four test digits as the model takes them: float32 (4, 28, 28, 1) in [0, 1]."""
    return normalize(mnist.test.images[:4])


def maps_of(exercise, model, images) -> list:
    maps = exercise.feature_maps(model, images)
    assert isinstance(maps, list), (
        f"feature_maps should return a list of numpy arrays, one per Conv2D layer, but it "
        f"returned a {type(maps).__name__}"
    )
    return [np.asarray(values) for values in maps]


def compare_maps(got: list, model, images) -> None:
    expected = list(inspection.feature_maps(model, images).values())
    names = inspection.conv_layers(model)
    shapes = [values.shape for values in got]
    want = [values.shape for values in expected]
    assert shapes == want, (
        f"the model's Conv2D layers ({', '.join(names)}) give maps of shapes {want}, but "
        f"feature_maps returned {shapes}: one array per Conv2D layer, in the order of "
        "model.layers, and nothing from the other layers"
    )
    for name, mine, theirs in zip(names, got, expected, strict=True):
        gap = float(np.abs(mine - theirs).max())
        assert np.allclose(mine, theirs, rtol=1e-4, atol=1e-5), (
            f"the maps of {name} differ from the library's by up to {gap:.3g}: take each layer's "
            "own output (layer.output, after its activation) from the model's input"
        )


# --- feature maps ---------------------------------------------------------------------------


def test_feature_maps_give_one_array_per_convolution(exercise, reference, digits, note):
    shapes = [values.shape[1:] for values in maps_of(exercise, reference, digits)]
    expected = [(26, 26, 32), (11, 11, 64)]
    assert shapes == expected, (
        f"the reference's two convolutions give maps of {expected} per image, but feature_maps "
        f"returned {shapes}"
        + (
            ": (13, 13, ...) and (5, 5, ...) are the pooling layers' outputs"
            if (13, 13, 32) in shapes
            else ""
        )
    )
    note(
        "feature maps of the reference per image: 26x26x32 after its first convolution, "
        "11x11x64 after its second"
    )


def test_feature_maps_equal_the_librarys_on_the_reference(exercise, reference, digits):
    compare_maps(maps_of(exercise, reference, digits), reference, digits)


def test_feature_maps_of_a_single_image(exercise, reference, digits):
    maps = maps_of(exercise, reference, digits[:1])
    assert [values.shape[0] for values in maps] == [1, 1], (
        f"one image (a batch of shape (1, 28, 28, 1)) should give maps with a batch axis of 1, "
        f"got shapes {[values.shape for values in maps]}"
    )
    compare_maps(maps, reference, digits[:1])


def test_feature_maps_of_a_functional_model(exercise, functional, digits):
    compare_maps(maps_of(exercise, functional, digits), functional, digits)


def test_feature_maps_go_through_one_model_with_several_outputs(
    exercise, reference, digits, monkeypatch
):
    # keras.Model(inputs, outputs) builds an instance of a subclass of keras.Model (Keras's
    # functional model): its class, taken from a tiny model, counts the outputs of each model
    # feature_maps builds, whichever way it names keras.Model.
    tiny = keras.Input((1,))
    functional_class = type(keras.Model(tiny, keras.layers.Dense(1)(tiny)))
    outputs_per_model = []
    original = functional_class.__init__

    def counting(self, inputs, outputs, *args, **kwargs):
        outputs_per_model.append(len(keras.tree.flatten(outputs)))
        original(self, inputs, outputs, *args, **kwargs)

    monkeypatch.setattr(functional_class, "__init__", counting)
    exercise.feature_maps(reference, digits)
    assert 2 in outputs_per_model, (
        "feature_maps should build one keras.Model whose outputs are the outputs of both "
        "convolutions (keras.Model(inputs=model.inputs, outputs=[...])), so the images go "
        "through the network once; it built "
        + (
            f"models with {outputs_per_model} outputs"
            if outputs_per_model
            else "no keras.Model at all"
        )
    )


# --- first-layer filters --------------------------------------------------------------------


def test_first_layer_filters_are_the_first_kernel(exercise, reference):
    filters = np.asarray(exercise.first_layer_filters(reference))
    hints = {
        (32,): ": that is the bias; get_weights() gives [kernel, bias]",
        (3, 3, 32, 64): ": that is the second convolution's kernel",
    }
    assert filters.shape == (3, 3, 1, 32), (
        "the reference's first convolution has 32 filters of 3x3 over 1 channel, a kernel of "
        f"shape (3, 3, 1, 32), but first_layer_filters returned shape {filters.shape}"
        + hints.get(filters.shape, "")
    )
    expected = inspection.first_layer_filters(reference)
    assert np.array_equal(filters, expected), (
        "first_layer_filters has the right shape but other values than the first Conv2D "
        "layer's kernel"
    )


def test_first_layer_filters_when_the_first_layer_is_not_a_convolution(exercise, fast):
    first = type(fast.layers[0]).__name__
    try:
        filters = np.asarray(exercise.first_layer_filters(fast))
    except (IndexError, ValueError, AttributeError) as error:
        pytest.fail(
            f"first_layer_filters failed on `fast`, whose first layer is a {first}, not a "
            f"convolution ({type(error).__name__}: {error}): look for the first Conv2D layer",
            pytrace=False,
        )
    expected = inspection.first_layer_filters(fast)
    assert filters.shape == expected.shape and np.array_equal(filters, expected), (
        f"`fast` starts with a {first} layer, then a Conv2D of 24 filters of 5x5: expected a "
        f"kernel of shape {expected.shape}, got {filters.shape} (or other values); look for "
        "the first Conv2D layer, not model.layers[0]"
    )


# --- saliency -------------------------------------------------------------------------------


def saliency_of(exercise, model, image, digit) -> np.ndarray:
    gradient = np.asarray(exercise.saliency(model, image, digit))
    assert gradient.shape == (28, 28), (
        f"saliency should return one number per pixel, shape (28, 28), but it returned shape "
        f"{gradient.shape}: drop the batch and channel axes ([0, :, :, 0])"
    )
    return gradient


def tape_gradient(model, image, score) -> np.ndarray:
    """d score / d pixel, `score(probabilities, logits)` of the image's batch of one; the logits
    straight from Keras (the head's softmax swapped for the identity while the model runs)."""
    head = model.layers[-1]
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        probabilities = model(x, training=False)
        head.activation = keras.activations.linear
        try:
            logits = model(x, training=False)
        finally:
            head.activation = keras.activations.softmax
        chosen = score(probabilities[0], logits[0])
    return tape.gradient(chosen, x).numpy()[0, :, :, 0]


def check_saliency(gradient, model, image, digit) -> None:
    """Fail with what the gradient is, if it is not d logit(digit) / d pixel."""
    expected = inspection.saliency(model, image, digit)
    if np.allclose(gradient, expected, rtol=1e-4, atol=1e-8):
        return
    others = [
        other
        for other in range(10)
        if other != digit
        and np.allclose(gradient, inspection.saliency(model, image, other), atol=1e-8)
    ]
    probability = tape_gradient(model, image, lambda p, z: p[digit])
    log_probability = tape_gradient(model, image, lambda p, z: tf.math.log(p[digit]))
    if np.abs(gradient).max() < 1e-9:
        why = (
            "it is zero everywhere: did you take the gradient of all ten probabilities together? "
            "They always sum to 1, so their gradient is 0; take the logit of one digit, [0, digit]"
        )
    elif np.allclose(gradient, probability, rtol=1e-4, atol=1e-9):
        why = (
            f"it is the gradient of digit {digit}'s probability: take its logit, the last "
            "layer's kernel and bias applied to that layer's input (the softmax's input), since "
            "a confident softmax is saturated and its probability's gradient nearly 0"
        )
    elif np.allclose(gradient, log_probability, rtol=1e-4, atol=1e-9):
        why = (
            f"it is the gradient of log p({digit}), which also subtracts the other digits' "
            "logits: take the logit itself, the last layer's kernel and bias applied to that "
            "layer's input"
        )
    elif np.allclose(gradient, tape_gradient(model, image, lambda p, z: tf.reduce_sum(z))):
        why = "it is the gradient of all ten logits together: take [0, digit] only"
    elif others:
        why = f"it is the gradient of digit {others[0]}'s logit instead of digit {digit}'s"
    elif np.all(gradient >= 0) and np.allclose(gradient, np.abs(expected), atol=1e-8):
        why = "it is the gradient's absolute value: return the gradient itself, signs included"
    else:
        gap = float(np.abs(gradient - expected).max())
        why = f"it differs from the library's by up to {gap:.3g}"
    pytest.fail(
        f"saliency(model, image, {digit}) should be d logit({digit}) / d pixel, but {why}",
        pytrace=False,
    )


@pytest.mark.parametrize("digit", [0, 3, 7])
def test_saliency_equals_the_librarys(exercise, reference, digits, digit):
    check_saliency(saliency_of(exercise, reference, digits[0], digit), reference, digits[0], digit)


def test_saliency_on_a_functional_model_and_another_image(exercise, functional, digits):
    check_saliency(saliency_of(exercise, functional, digits[2], 4), functional, digits[2], 4)


@pytest.fixture(scope="module")
def confident():
    """A small CNN whose head's kernel is scaled up: its answers are nearly certain."""
    keras.utils.set_random_seed(6)
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
    head = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, head(x))
    head.kernel.assign(head.kernel * 100)
    return model


def test_saliency_of_a_confident_network_is_the_logits_gradient(exercise, confident, digits):
    image = digits[0]
    probabilities = np.asarray(confident(image[np.newaxis], training=False))[0]
    digit = int(probabilities.argmax())
    assert probabilities[digit] > 0.999, "the test's model should be confident"
    gradient = saliency_of(exercise, confident, image, digit)
    expected = tape_gradient(confident, image, lambda p, z: z[digit])
    probability = tape_gradient(confident, image, lambda p, z: p[digit])
    if np.allclose(gradient, expected, rtol=1e-4, atol=1e-7):
        return
    if np.abs(gradient).max() < 1e-2 * np.abs(expected).max():
        pytest.fail(
            f"this network is {probabilities[digit]:.4%} sure of digit {digit}, and your saliency "
            f"is at most {np.abs(gradient).max():.2g} (the probability's gradient is at most "
            f"{np.abs(probability).max():.2g}): a saturated softmax hides which pixels matter. "
            f"Take the gradient of the logit, which reaches {np.abs(expected).max():.2g}",
            pytrace=False,
        )
    check_saliency(gradient, confident, image, digit)


def test_saliency_leaves_the_image_as_it_was(exercise, reference, digits):
    image = digits[1].copy()
    saliency_of(exercise, reference, image, 2)
    assert np.array_equal(image, digits[1]), "saliency should not change the image it is given"


# --- your own code --------------------------------------------------------------------------


def test_looking_inside_is_your_own_code(exercise, reference, digits):
    # The three run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call mnist_lab.inspection (Keras and TensorFlow are theirs to use).
    exercise.feature_maps(reference, digits[:1])
    exercise.first_layer_filters(reference)
    exercise.saliency(reference, digits[0], 1)
