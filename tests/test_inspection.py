"""Inspection: every registered CNN's feature maps, filters and saliency, checked against plain
Keras (sub-models, layers applied by hand), TensorFlow's GradientTape and finite differences;
then the figures drawn from them. The saliency is the gradient of the digit's logit (the final
softmax Dense layer's pre-activation), not of its probability, which a confident network's
saturated softmax makes tiny.

Parametrized over `list_models()` on freshly built, untrained models: a new model is inspected
the moment it registers.
"""

from __future__ import annotations

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from matplotlib.image import imread

from mnist_lab.core.errors import MnistLabError
from mnist_lab.data.preprocess import normalize
from mnist_lab.evaluation.inspection import (
    LOG_PROBABILITY,
    LOGIT,
    InspectionError,
    Inspector,
    NoConvolutionError,
    conv_layers,
    feature_maps,
    first_layer_filters,
    layer_table,
    saliency,
)
from mnist_lab.evaluation.plots import (
    feature_maps_figure,
    filters_figure,
    saliency_figure,
    save_figure,
)
from mnist_lab.models.registry import create_model, list_models

MODELS = list_models()
CNNS = [name for name in MODELS if name != "mlp"]
MLP_MESSAGE = (
    "The model 'mlp' has no convolution layers: there are no filters or feature maps to show; "
    "try a run of reference"
)


@pytest.fixture(scope="module")
def built():
    """Each registered model, built once with a fixed seed (untrained)."""
    keras.utils.set_random_seed(0)
    return {name: create_model(name) for name in MODELS}


@pytest.fixture(scope="module")
def images():
    """Three images with every pixel value in [0, 1] (float32, (3, 28, 28, 1))."""
    return np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")


def by_hand(model, images) -> list[np.ndarray]:
    """Every Conv2D output of a Sequential model, applying its layers one by one."""
    x, outputs = images, []
    for layer in model.layers:
        x = layer(x, training=False)
        if isinstance(layer, layers.Conv2D):
            outputs.append(np.asarray(x))
    return outputs


# --- feature maps and filters of the zoo ----------------------------------------------------


def test_the_zoo_has_convolutional_models_to_inspect():
    assert {"reference", "lenet5", "fast", "bn-cnn", "best"} <= set(CNNS)


@pytest.mark.parametrize("name", CNNS)
def test_feature_maps_equal_the_layers_applied_by_hand(built, images, name):
    model = built[name]
    maps = feature_maps(model, images)
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    assert list(maps) == [layer.name for layer in convs] == conv_layers(model)
    expected = by_hand(model, images)
    for (key, got), want, layer in zip(maps.items(), expected, convs, strict=True):
        assert got.shape == (3, *layer.output.shape[1:]) and got.dtype == np.float32, key
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{name}: {key}")


@pytest.mark.parametrize("name", CNNS)
def test_feature_maps_equal_a_keras_sub_model(built, images, name):
    model = built[name]
    convs = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    sub_model = keras.Model(model.inputs[0], [layer.output for layer in convs])
    expected = [np.asarray(out) for out in sub_model(images, training=False)]
    for got, want in zip(feature_maps(model, images).values(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", CNNS)
def test_first_layer_filters_are_the_first_convolutions_kernel(built, name):
    model = built[name]
    first = next(layer for layer in model.layers if isinstance(layer, layers.Conv2D))
    filters = first_layer_filters(model)
    kh, kw = first.kernel_size
    assert filters.shape == (kh, kw, 1, first.filters)
    np.testing.assert_array_equal(filters, first.get_weights()[0])


@pytest.mark.parametrize("name", MODELS)
def test_layer_table_lists_every_layer_with_its_shape_and_all_parameters(built, name):
    model = built[name]
    table = layer_table(model)
    assert [row["name"] for row in table] == [layer.name for layer in model.layers]
    assert sum(row["params"] for row in table) == model.count_params()
    for row, layer in zip(table, model.layers, strict=True):
        assert row["output_shape"] == tuple(layer.output.shape[1:])
        assert row["type"] == type(layer).__name__
        assert row["conv"] == isinstance(layer, layers.Conv2D)


def test_layer_table_of_the_reference_is_the_course_table(built):
    table = [(r["type"], r["output_shape"], r["params"]) for r in layer_table(built["reference"])]
    assert table == [
        ("Conv2D", (26, 26, 32), 320),
        ("MaxPooling2D", (13, 13, 32), 0),
        ("Conv2D", (11, 11, 64), 18_496),
        ("MaxPooling2D", (5, 5, 64), 0),
        ("Flatten", (1600,), 0),
        ("Dense", (128,), 204_928),
        ("Dense", (10,), 1_290),
    ]


def test_uint8_digits_are_read_as_pixels_over_255(built, mnist):
    digits = mnist.test.images[:2]
    as_uint8 = feature_maps(built["reference"], digits)
    as_float = feature_maps(built["reference"], normalize(digits))
    for got, want in zip(as_uint8.values(), as_float.values(), strict=True):
        np.testing.assert_array_equal(got, want)


# --- models that are not a plain Sequential -------------------------------------------------


def nested_model() -> keras.Model:
    """Convolutions at the top, in a nested Sequential (with batch norm) and in a nested
    functional block with a residual connection, and a skip connection around both."""
    inputs = keras.Input((28, 28, 1))
    stem = layers.Conv2D(8, 3, name="stem")(inputs)
    sequential_block = keras.Sequential(
        [
            keras.Input((26, 26, 8)),
            layers.Conv2D(8, 3, padding="same", name="seq_conv"),
            layers.BatchNormalization(name="bn"),
            layers.ReLU(name="relu"),
        ],
        name="seq_block",
    )
    block_input = keras.Input((26, 26, 8))
    block_conv = layers.Conv2D(8, 3, padding="same", activation="relu", name="fn_conv")
    functional_block = keras.Model(
        block_input,
        layers.Add(name="residual")([block_input, block_conv(block_input)]),
        name="fn_block",
    )
    x = functional_block(sequential_block(stem))
    x = layers.Add(name="skip")([stem, x])
    x = layers.Flatten(name="flatten")(layers.MaxPooling2D(name="pool")(x))
    outputs = layers.Dense(10, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="nested")


@pytest.fixture(scope="module")
def nested():
    keras.utils.set_random_seed(1)
    model = nested_model()
    bn = model.get_layer("seq_block").get_layer("bn")  # statistics far from the initial ones:
    bn.moving_mean.assign(np.linspace(-0.5, 0.5, 8))  # training=True would give other maps
    bn.moving_variance.assign(np.linspace(0.2, 3.0, 8))
    return model


def test_convolutions_inside_nested_blocks_are_opened(nested, images):
    assert conv_layers(nested) == ["stem", "seq_block/seq_conv", "fn_block/fn_conv"]
    maps = feature_maps(nested, images)

    def part(model, layer_name):
        return keras.Model(model.inputs[0], model.get_layer(layer_name).output)

    sequential_block, functional_block = nested.get_layer("seq_block"), nested.get_layer("fn_block")
    stem = np.asarray(part(nested, "stem")(images))
    into_block = np.asarray(sequential_block(stem, training=False))
    expected = {
        "stem": stem,
        "seq_block/seq_conv": np.asarray(part(sequential_block, "seq_conv")(stem)),
        "fn_block/fn_conv": np.asarray(part(functional_block, "fn_conv")(into_block)),
    }
    for key, want in expected.items():
        np.testing.assert_allclose(maps[key], want, rtol=1e-5, atol=1e-5, err_msg=key)


def test_the_opened_network_gives_the_models_own_probabilities(nested, images):
    inspector = Inspector(nested)
    probabilities, _ = inspector._forward(images)
    expected = np.asarray(nested(images, training=False))
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inspector.probabilities(images), expected, rtol=1e-6, atol=1e-7)


def test_layer_table_of_nested_blocks_lists_their_layers(nested):
    table = [(row["name"], row["type"], row["output_shape"]) for row in layer_table(nested)]
    assert table == [
        ("stem", "Conv2D", (26, 26, 8)),
        ("seq_block/seq_conv", "Conv2D", (26, 26, 8)),
        ("seq_block/bn", "BatchNormalization", (26, 26, 8)),
        ("seq_block/relu", "ReLU", (26, 26, 8)),
        ("fn_block/fn_conv", "Conv2D", (26, 26, 8)),
        ("fn_block/residual", "Add", (26, 26, 8)),
        ("skip", "Add", (26, 26, 8)),
        ("pool", "MaxPooling2D", (13, 13, 8)),
        ("flatten", "Flatten", (1352,)),
        ("out", "Dense", (10,)),
    ]
    assert sum(row["params"] for row in layer_table(nested)) == nested.count_params()


def test_a_convolution_used_twice_is_shown_at_each_call_and_counted_once(images):
    inputs = keras.Input((28, 28, 1))
    shared = layers.Conv2D(1, 3, padding="same", name="twice")
    x = shared(shared(inputs))
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    maps = feature_maps(model, images)
    assert list(maps) == ["twice", "twice (call 2)"]
    np.testing.assert_allclose(maps["twice (call 2)"], np.asarray(shared(maps["twice"])), atol=1e-6)
    assert sum(row["params"] for row in layer_table(model)) == model.count_params() == 10 + 7850


# --- what cannot be inspected, in one sentence -----------------------------------------------


def test_a_model_without_convolutions_says_so_and_what_to_try(built, images):
    model = built["mlp"]
    assert conv_layers(model) == []
    for ask in (lambda: feature_maps(model, images), lambda: first_layer_filters(model)):
        with pytest.raises(NoConvolutionError, match=f"^{MLP_MESSAGE}") as caught:
            ask()
        assert isinstance(caught.value, MnistLabError)
        assert "lenet5" in str(caught.value) and "mlp," not in str(caught.value)
        assert "'mnist-lab train reference' trains one" in str(caught.value)


def test_a_run_name_replaces_the_keras_name_in_messages(built):
    with pytest.raises(NoConvolutionError, match="^The model 'my-dense' has no convolution"):
        Inspector(built["mlp"], name="my-dense").require_convolutions()


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3)
        self.flatten = layers.Flatten()
        self.dense = layers.Dense(10, activation="softmax")

    def call(self, x):
        return self.dense(self.flatten(self.conv(x)))


class ConvInside(layers.Layer):
    """A custom layer holding a convolution: Keras's graph does not see into it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(4, 3, padding="same")

    def call(self, x):
        return x + self.conv(x)[..., :1]


def test_a_subclassed_model_is_refused_with_what_to_do(images):
    model = Subclassed()
    model(images)
    with pytest.raises(InspectionError, match=r"is a subclassed keras\.Model \(Subclassed\)"):
        feature_maps(model, images)
    # A gradient needs no graph: without one, that of the log-probability (no head to read).
    assert Inspector(model).saliency_of == LOG_PROBABILITY
    x = tf.constant(images[:1])
    with tf.GradientTape() as tape:
        tape.watch(x)
        log_p = tf.math.log(model(x, training=False)[0, 3])
    expected = tape.gradient(log_p, x).numpy()[0, ..., 0]
    np.testing.assert_allclose(saliency(model, images[0], 3), expected, rtol=1e-5, atol=1e-9)


def test_a_convolution_hidden_in_a_custom_layer_is_named(images):
    inputs = keras.Input((28, 28, 1))
    x = ConvInside(name="hidden")(inputs)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(InspectionError) as caught:
        feature_maps(model, images)
    assert str(caught.value) == (
        f"The model '{model.name}' keeps its convolutions inside the custom layer "
        "'hidden' (ConvInside), whose insides Keras cannot show, so its feature maps cannot all "
        "be read; build that block from Keras layers (Sequential or the functional API) to look "
        "inside it."
    )


class ConvsInContainers(layers.Layer):
    """A custom layer holding its convolutions in a list and inside a Sequential block."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.convs = [layers.Conv2D(1, 3, padding="same")]
        self.block = keras.Sequential([layers.Conv2D(1, 3, padding="same")])

    def call(self, x):
        return self.block(self.convs[0](x))


def test_convolutions_in_a_custom_layers_list_or_block_are_named_too(images):
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(2, 3, padding="same", name="seen")(inputs)
    x = ConvsInContainers(name="kept")(x[..., :1])
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    with pytest.raises(InspectionError, match=r"keeps some of its convolutions inside the custom "):
        feature_maps(model, images)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((3, 28, 28, 3), "float32"), r"Expected images \(N, 28, 28\) or"),
        (np.zeros((28, 28), "float32"), r"got shape \(28, 28\)"),
        (np.full((1, 28, 28), 255.0), r"float pixels in \[0, 1\], got values from 255.0"),
        (np.zeros((1, 28, 28), "int64"), "Expected uint8 pixels"),
    ],
)
def test_images_of_the_wrong_shape_or_range_are_refused(built, value, message):
    with pytest.raises(ValueError, match=message):
        feature_maps(built["reference"], value)


@pytest.mark.parametrize("digit", [-1, 10, 2.0, True])
def test_saliency_asks_for_a_digit_from_0_to_9(built, images, digit):
    with pytest.raises(ValueError, match="digit must be an int from 0 to 9"):
        saliency(built["reference"], images[0], digit)


# --- saliency: a gradient, checked three ways ------------------------------------------------


@pytest.fixture(scope="module")
def float64_reference():
    """The reference CNN computing in float64, so finite differences are precise."""
    previous = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        keras.utils.set_random_seed(3)
        return create_model("reference")
    finally:
        keras.config.set_floatx(previous[0])
        keras.config.set_dtype_policy(previous[1])


def logits_of(model, x) -> np.ndarray:
    """The model's logits, straight from Keras: the model called with its head's softmax
    replaced by the identity (and put back), so no code of the library computes them."""
    head = model.layers[-1]
    assert isinstance(head, layers.Dense) and head.activation is keras.activations.softmax
    head.activation = keras.activations.linear
    try:
        return model(x, training=False)
    finally:
        head.activation = keras.activations.softmax


def logit_gradient(model, image, digit) -> np.ndarray:
    """d logit(digit) / d pixel by a GradientTape of `logits_of`."""
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        chosen = logits_of(model, x)[0, digit]
    return tape.gradient(chosen, x).numpy()[0, ..., 0]


def probability_gradient(model, image, digit) -> np.ndarray:
    """d p(digit) / d pixel: what the saliency is not."""
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        chosen = model(x, training=False)[0, digit]
    return tape.gradient(chosen, x).numpy()[0, ..., 0]


def test_saliency_matches_finite_differences_in_float64(float64_reference):
    """On an image without blank pixels: the untrained network has zero biases, so a blank
    area puts its ReLUs exactly at their kink, where a difference quotient averages both sides."""
    model = float64_reference
    image = np.random.default_rng(5).uniform(0.05, 0.95, (28, 28, 1))
    digit = 7
    gradient = saliency(model, image, digit)
    assert gradient.shape == (28, 28) and gradient.dtype == np.float64

    def logit(x):
        return float(np.asarray(logits_of(model, x[np.newaxis]))[0, digit])

    step = 1e-6
    largest = np.argsort(-np.abs(gradient).ravel())[:4]
    pixels = [*zip(*np.unravel_index(largest, (28, 28)), strict=True), (14, 14), (3, 20)]
    for row, col in pixels:
        plus, minus = image.copy(), image.copy()
        plus[row, col] += step
        minus[row, col] -= step
        estimate = (logit(plus) - logit(minus)) / (2 * step)
        assert estimate == pytest.approx(gradient[row, col], rel=1e-5, abs=1e-9), (row, col)
    assert np.abs(gradient).max() > 1e-4  # the check above compared real numbers, not zeros


@pytest.mark.parametrize("name", MODELS)
def test_saliency_equals_a_gradient_tape_of_the_logit(built, images, name):
    model, digit = built[name], 3
    assert Inspector(model).saliency_of == LOGIT  # every model of the zoo ends in a softmax Dense
    expected = logit_gradient(model, images[0], digit)
    np.testing.assert_allclose(saliency(model, images[0], digit), expected, rtol=1e-5, atol=1e-8)


def test_the_logits_gradients_give_the_probabilitys_by_the_softmax_derivative(built, images):
    """d p_d = p_d (d z_d - sum_k p_k d z_k): the ten logit saliencies and the probabilities
    give back the probability's gradient, computed by the tape on its own."""
    model = built["reference"]
    probabilities = np.asarray(model(images[1:2], training=False))[0].astype(np.float64)
    logits = np.stack([saliency(model, images[1], digit) for digit in range(10)])
    mixed = np.tensordot(probabilities, logits, axes=1)
    for digit in (0, 4, 9):
        expected = probability_gradient(model, images[1], digit)
        derived = probabilities[digit] * (logits[digit] - mixed)
        np.testing.assert_allclose(derived, expected, rtol=1e-4, atol=1e-7)
    assert np.abs(logits.sum(axis=0)).max() > 1e-4  # unlike the probabilities', they do not cancel


def test_a_confident_networks_probability_gradient_is_tiny_its_logits_is_not(images):
    """The reason for the logit: a softmax near 1 is flat, p (1 - p) multiplies the
    probability's gradient by almost nothing, on every pixel; the logit's keeps its size."""
    keras.utils.set_random_seed(6)
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.Flatten()(layers.MaxPooling2D()(x))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax", name="head")(x))
    head = model.get_layer("head")
    head.kernel.assign(head.kernel * 100)  # larger logits: a confident answer
    probabilities = np.asarray(model(images[:1], training=False))[0]
    digit = int(probabilities.argmax())
    assert probabilities[digit] > 0.9999
    logit = saliency(model, images[0], digit)
    np.testing.assert_allclose(logit, logit_gradient(model, images[0], digit), rtol=1e-5, atol=1e-7)
    probability = probability_gradient(model, images[0], digit)
    assert np.abs(probability).max() < 1e-3 * np.abs(logit).max()


def test_a_model_without_a_softmax_dense_head_gets_the_log_probability(images):
    """A separate Activation layer leaves no Dense layer whose pre-activation is the logits."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input((28, 28, 1))
    x = layers.Dense(10)(layers.Flatten()(layers.Conv2D(2, 3)(inputs)))
    model = keras.Model(inputs, layers.Activation("softmax")(x))
    inspector = Inspector(model)
    assert inspector.saliency_of == LOG_PROBABILITY
    x = tf.constant(images[:1])
    with tf.GradientTape() as tape:
        tape.watch(x)
        log_p = tf.math.log(model(x, training=False)[0, 5])
    expected = tape.gradient(log_p, x).numpy()[0, ..., 0]
    np.testing.assert_allclose(inspector.saliency(images[0], 5), expected, rtol=1e-5, atol=1e-9)
    look = inspector.look(images[0])
    assert look.saliency_of == LOG_PROBABILITY
    np.testing.assert_allclose(
        look.saliency, inspector.saliency(images[0], look.digit), rtol=1e-4, atol=1e-8
    )


@pytest.mark.parametrize("name", CNNS)
def test_look_gives_the_answer_maps_and_saliency_in_one_pass(built, images, name):
    model = built[name]
    inspector = Inspector(model, name=name)
    look = inspector.look(images[2])
    probabilities = np.asarray(model(images[2:], training=False))[0]
    assert look.digit == int(np.argmax(probabilities))
    assert look.probability == pytest.approx(float(probabilities.max()), rel=1e-5)
    np.testing.assert_allclose(look.probabilities, probabilities, rtol=1e-5, atol=1e-7)
    maps = inspector.feature_maps(images[2:])
    assert list(look.feature_maps) == list(maps)
    for key, values in maps.items():
        np.testing.assert_allclose(look.feature_maps[key], values[0], rtol=1e-5, atol=1e-5)
    expected = inspector.saliency(images[2], look.digit)
    np.testing.assert_allclose(look.saliency, expected, rtol=1e-4, atol=1e-8)


def test_an_inspector_follows_weights_loaded_into_its_model(images):
    """The lab loads another epoch's weights into a model it inspects: no new inspector needed."""
    keras.utils.set_random_seed(4)
    model = create_model("reference")
    inspector = Inspector(model)
    before = inspector.look(images[0])
    keras.utils.set_random_seed(5)
    model.set_weights(create_model("reference").get_weights())
    after = inspector.look(images[0])
    assert not np.allclose(after.probabilities, before.probabilities)
    np.testing.assert_allclose(after.probabilities, np.asarray(model(images[:1]))[0], rtol=1e-5)
    first = conv_layers(model)[0]
    np.testing.assert_allclose(
        after.feature_maps[first], feature_maps(model, images[:1])[first][0], rtol=1e-5, atol=1e-6
    )


def test_look_works_without_convolutions(built, images):
    look = Inspector(built["mlp"]).look(images[0])
    assert look.feature_maps == {} and look.saliency.shape == (28, 28)
    assert repr(look).startswith(f"Look(digit={look.digit}, probability=")


# --- figures --------------------------------------------------------------------------------


def test_filters_figure_draws_each_filter_on_one_scale_with_a_colour_bar(built, tmp_path):
    filters = first_layer_filters(built["reference"])
    figure = filters_figure(filters, title="reference")
    axes, colour_bar = figure.axes
    (image,) = axes.images
    bound = float(np.abs(filters).max())
    assert image.get_clim() == (-bound, bound) and colour_bar.get_ylabel() == "weight"
    mosaic = np.asarray(image.get_array())
    assert mosaic.shape == (4 * 4 - 1, 8 * 4 - 1)  # 4 rows of 8 filters 3x3, 1-pixel gaps
    for number in (0, 9, 31):  # row 1 + column 1 is filter 9
        top, left = 4 * (number // 8), 4 * (number % 8)
        np.testing.assert_array_equal(
            mosaic[top : top + 3, left : left + 3], filters[..., 0, number]
        )
    assert np.isnan(mosaic[3]).all() and np.isnan(mosaic[:, 3]).all()
    assert [t.get_text() for t in axes.get_yticklabels()] == ["0", "8", "16", "24"]
    assert [t.get_text() for t in axes.get_xticklabels()] == [f"+{c}" for c in range(8)]
    assert figure.get_suptitle() == "reference"
    png = imread(save_figure(figure, tmp_path / "filters.png"))
    assert png.shape[:2] == (400, 780) and png.std() > 0.05


def row_tiles(axes, size: int, gap: int) -> list[np.ndarray]:
    """The tiles (size x size) of one row of a feature-maps figure, blank ones left out."""
    mosaic = np.asarray(axes.images[0].get_array())
    tiles = [mosaic[:, left : left + size] for left in range(0, mosaic.shape[1], size + gap)]
    return [tile for tile in tiles if not np.isnan(tile).all()]


def test_feature_maps_figure_has_a_labelled_row_per_layer(built, mnist, tmp_path):
    look = Inspector(built["reference"]).look(mnist.test.images[0])
    figure = feature_maps_figure(look.feature_maps, mnist.test.images[0], title="t")
    rows = figure.axes
    assert len(rows) == 3  # the input, then the two convolutions
    first, second = conv_layers(built["reference"])
    assert [axes.get_title(loc="left") for axes in rows] == [
        "input, 28x28",
        f"{first}: 26x26, 32 channels, the first 16",
        f"{second}: 11x11, 64 channels, the first 16",
    ]
    (digit,) = row_tiles(rows[0], 28, 2)
    np.testing.assert_allclose(digit, mnist.test.images[0] / 255)
    tiles = row_tiles(rows[1], 26, 2)
    assert len(tiles) == 16
    np.testing.assert_allclose(tiles[5], look.feature_maps[first][..., 5])
    assert [t.get_text() for t in rows[2].get_xticklabels()] == [str(c) for c in range(16)]
    shown = look.feature_maps[second][..., :16]
    assert rows[2].images[0].get_clim() == (float(shown.min()), float(shown.max()))
    assert figure.get_suptitle() == "t"
    png = imread(save_figure(figure, tmp_path / "maps.png"))
    assert png.shape[:2] == (475, 1600)


def test_feature_maps_figure_shows_fewer_channels_when_a_layer_has_fewer(built, mnist):
    look = Inspector(built["lenet5"]).look(mnist.test.images[0])
    figure = feature_maps_figure(look.feature_maps, channels=8)
    titles = [axes.get_title(loc="left") for axes in figure.axes]
    assert titles[0].endswith(": 28x28, 6 channels")
    assert titles[2].endswith(": 1x1, 120 channels, the first 8")
    assert [len(axes.get_xticks()) for axes in figure.axes] == [6, 8, 8]
    assert len(row_tiles(figure.axes[0], 28, 2)) == 6


def test_feature_maps_figure_refuses_a_batch():
    with pytest.raises(ValueError, match=r"'c' has shape \(2, 5, 5, 4\)"):
        feature_maps_figure({"c": np.zeros((2, 5, 5, 4))})


@pytest.mark.parametrize("name", CNNS)
def test_every_convolutional_model_gets_its_three_figures(built, mnist, name):
    digit = mnist.test.images[1]
    inspector = Inspector(built[name], name=name)
    look = inspector.look(digit)
    figures = [
        filters_figure(inspector.first_layer_filters(), title=name),
        feature_maps_figure(look.feature_maps, digit, title=name),
        saliency_figure(digit, look.saliency, look.digit, look.probability, title=name),
    ]
    rows = [axes.get_title(loc="left") for axes in figures[1].axes]
    assert [row.split(": ")[0] for row in rows] == ["input, 28x28", *inspector.conv_names]
    for figure in figures:
        figure.savefig(io.BytesIO(), format="png")  # laid out and rendered


def test_saliency_figure_overlays_the_gradient_on_the_digit(built, mnist, tmp_path):
    digit_image = mnist.test.images[0]
    look = Inspector(built["reference"]).look(digit_image)
    figure = saliency_figure(
        digit_image, look.saliency, look.digit, look.probability, label=7, title="reference"
    )
    left, right, colour_bar = figure.axes
    assert figure.get_suptitle() == (
        f"reference: predicted {look.digit} ({look.probability:.2%}), true 7"
    )
    np.testing.assert_array_equal(left.images[0].get_array(), digit_image)
    gray, overlay = right.images
    np.testing.assert_array_equal(gray.get_array(), digit_image)
    rgba = np.asarray(overlay.get_array())
    assert rgba.shape == (28, 28, 4)
    strongest = np.unravel_index(np.abs(look.saliency).argmax(), (28, 28))
    assert rgba[strongest][3] == pytest.approx(0.9)  # the largest gradient is the most opaque
    assert colour_bar.get_ylabel() == f"d logit({look.digit}) / d pixel"
    of_log_p = saliency_figure(digit_image, look.saliency, 4, 0.5, of=LOG_PROBABILITY)
    assert of_log_p.axes[2].get_ylabel() == "d log p(4) / d pixel"
    png = imread(save_figure(figure, tmp_path / "saliency.png"))
    assert png.shape[:2] == (390, 750)
