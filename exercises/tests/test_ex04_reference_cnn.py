"""Exercise 4, the reference CNN: layer types, output shapes, activations and 225,034 parameters."""

import keras
import numpy as np

EXERCISE = "ex04_reference_cnn.py"

LAYERS = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
SHAPES = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (1600,), (128,), (10,)]
PARAMETERS = 225_034


def layers_of(model) -> list:
    """The model's layers, without the input layer that functional models list."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def output_shapes(layers, batch: int = 2) -> list[tuple]:
    """Each layer's output shape (without the batch axis) for a batch of blank 28x28x1 images."""
    x = np.zeros((batch, 28, 28, 1), dtype="float32")
    shapes = []
    for layer in layers:
        x = layer(x)
        shapes.append(tuple(int(size) for size in x.shape[1:]))
    return shapes


def test_conv_block_is_a_convolution_then_pooling(exercise):
    block = list(exercise.conv_block(8))
    names = [type(layer).__name__ for layer in block]
    assert names == ["Conv2D", "MaxPooling2D"], (
        f"conv_block should give [Conv2D, MaxPooling2D], but it gave {names}"
    )


def test_conv_block_uses_3x3_kernels_relu_and_2x2_pooling(exercise):
    conv, pool = exercise.conv_block(8)
    assert conv.filters == 8, f"conv_block(8) should have 8 filters, it has {conv.filters}"
    assert tuple(conv.kernel_size) == (3, 3), (
        f"the convolution should use 3x3 kernels, it uses {tuple(conv.kernel_size)}"
    )
    activation = conv.get_config()["activation"]
    assert activation == "relu", f"the convolution should use ReLU, it uses {activation!r}"
    assert tuple(pool.pool_size) == (2, 2), (
        f"the pooling should be 2x2, it is {tuple(pool.pool_size)}"
    )


def test_conv_block_shrinks_28x28_to_13x13(exercise):
    shapes = output_shapes(exercise.conv_block(8))
    assert shapes == [(26, 26, 8), (13, 13, 8)], (
        "on 28x28 images a 3x3 convolution without padding gives 26x26 and 2x2 pooling 13x13: "
        f"expected [(26, 26, 8), (13, 13, 8)], got {shapes}"
    )


def test_reference_is_a_keras_model(exercise):
    model = exercise.build_reference()
    assert isinstance(model, keras.Model), (
        f"build_reference should return a keras.Model, but it returned {type(model).__name__}"
    )


def test_reference_takes_28x28_gray_images(exercise):
    model = exercise.build_reference()
    try:
        shape = tuple(model.input_shape)
    except Exception:  # a Sequential without keras.Input has no input shape yet
        shape = None
    assert shape == (None, 28, 28, 1), (
        f"the model should start with keras.Input(shape=(28, 28, 1)), but its input is {shape}"
    )


def test_reference_has_the_classic_layers_in_order(exercise):
    names = [type(layer).__name__ for layer in layers_of(exercise.build_reference())]
    assert names == LAYERS, f"expected the layers {LAYERS}, got {names}"


def test_reference_layer_output_shapes(exercise):
    layers = layers_of(exercise.build_reference())
    shapes = output_shapes(layers)
    for index, (layer, got, want) in enumerate(zip(layers, shapes, SHAPES, strict=False)):
        assert got == want, (
            f"layer {index + 1} ({type(layer).__name__}) should output {want}, but it outputs "
            f"{got}; all shapes: {shapes}"
        )
    assert len(shapes) == len(SHAPES), f"expected {len(SHAPES)} layers, got {len(shapes)}"


def test_reference_uses_relu_then_softmax(exercise):
    layers = layers_of(exercise.build_reference())
    activations = [
        layer.get_config()["activation"]
        for layer in layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
    ]
    expected = ["relu", "relu", "relu", "softmax"]
    assert activations == expected, (
        f"the convolutions and dense layers should use {expected}, but they use {activations}"
    )


def test_reference_has_225034_parameters(exercise):
    model = exercise.build_reference()
    count = model.count_params()
    assert count == PARAMETERS, (
        f"the reference CNN has {PARAMETERS:,} parameters, but this model has {count:,}: "
        "compare each layer with the table in the exercise's docstring"
    )


def test_reference_outputs_10_probabilities(exercise, mnist):
    model = exercise.build_reference()
    images = mnist.test.images[:4, :, :, np.newaxis].astype("float32") / 255
    out = np.asarray(model(images, training=False))
    assert out.shape == (4, 10), f"4 images should give 4 rows of 10, got shape {out.shape}"
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1, atol=1e-5), (
        "each row should be probabilities (>= 0, summing to 1): end with a softmax, "
        f"got row sums {out.sum(axis=1).round(4).tolist()}"
    )


def test_reference_is_built_from_two_conv_blocks(exercise, monkeypatch):
    asked = []
    original = exercise.conv_block

    def counting_conv_block(filters):
        asked.append(filters)
        return original(filters)

    monkeypatch.setattr(exercise, "conv_block", counting_conv_block)
    exercise.build_reference()
    assert asked == [32, 64], (
        "build_reference should make its two blocks with conv_block(32) then conv_block(64), "
        f"but it called conv_block with {asked or 'nothing'}"
    )


def test_reference_is_left_uncompiled(exercise):
    model = exercise.build_reference()
    assert not getattr(model, "compiled", False), (
        "build_reference should return the model uncompiled (exercise 5 compiles it), but it is "
        f"already compiled with {type(model.optimizer).__name__}: build it from layers "
        "yourself rather than taking a ready-made model"
    )


def test_reference_is_your_own_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call the zoo or create_model.
    exercise.conv_block(32)
    exercise.build_reference()
