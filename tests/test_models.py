"""The model contract, checked for every registered model, and the reference CNN layer by layer.

Parametrized over `list_models()`: a model is tested the moment it registers.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_lab.data.preprocess import normalize, one_hot
from mnist_lab.models.registry import create_model, list_models, model_info
from mnist_lab.training import TrainConfig, train

MODELS = list_models()


@pytest.fixture(scope="module")
def built():
    """Each registered model, built once with a fixed seed."""
    keras.utils.set_random_seed(0)
    return {name: create_model(name) for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=8)
@given(batch=st.integers(min_value=1, max_value=64), seed=st.integers(0, 2**16))
def test_outputs_are_probabilities_for_any_batch_size(built, name, batch, seed):
    images = np.random.default_rng(seed).integers(0, 256, (batch, 28, 28), dtype=np.uint8)
    probabilities = np.asarray(built[name](normalize(images), training=False))
    assert probabilities.shape == (batch, 10)
    assert np.all(np.isfinite(probabilities))
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", MODELS)
def test_untrained_loss_is_near_chance(built, name, mnist):
    """Before training, a model should be about equally unsure of all 10 digits: loss ~ ln 10."""
    images, labels = mnist.test.images[:512], mnist.test.labels[:512]
    probabilities = np.asarray(built[name](normalize(images), training=False))
    loss = float(np.mean(keras.losses.categorical_crossentropy(one_hot(labels), probabilities)))
    assert abs(loss - math.log(10)) < 0.3, f"{name}: initial loss {loss:.3f}, expected ~2.303"


@pytest.mark.parametrize("name", MODELS)
def test_same_seed_gives_same_initial_weights(name):
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        weights.append(create_model(name).get_weights())
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def layer_rows(model):
    """(kind, output shape, parameters) of each layer: a model's architecture, to compare."""
    return [
        (type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
    ]


def test_reference_is_the_seed_cnn_layer_for_layer(built):
    model = built["reference"]
    layers = layer_rows(model)
    assert layers == [
        ("Conv2D", (26, 26, 32), 320),
        ("MaxPooling2D", (13, 13, 32), 0),
        ("Conv2D", (11, 11, 64), 18_496),
        ("MaxPooling2D", (5, 5, 64), 0),
        ("Flatten", (1600,), 0),
        ("Dense", (128,), 204_928),
        ("Dense", (10,), 1_290),
    ]
    assert model.count_params() == 225_034
    activations = [
        layer.activation.__name__ for layer in model.layers if hasattr(layer, "activation")
    ]
    assert activations == ["relu", "relu", "relu", "softmax"]
    assert [layer.kernel_size for layer in model.layers[::2][:2]] == [(3, 3), (3, 3)]
    assert [layer.pool_size for layer in model.layers[1:4:2]] == [(2, 2), (2, 2)]


def test_keras_convnet_is_keras_ios_mnist_convnet_layer_for_layer(built):
    """keras-io's examples/vision/mnist_convnet.py: no dense hidden layer, dropout 0.5."""
    model = built["keras-convnet"]
    layers = layer_rows(model)
    assert layers == [
        ("Conv2D", (26, 26, 32), 320),
        ("MaxPooling2D", (13, 13, 32), 0),
        ("Conv2D", (11, 11, 64), 18_496),
        ("MaxPooling2D", (5, 5, 64), 0),
        ("Flatten", (1600,), 0),
        ("Dropout", (1600,), 0),
        ("Dense", (10,), 16_010),
    ]
    assert model.count_params() == 34_826
    convolutions, dropout, dense = model.layers[0:3:2], model.layers[5], model.layers[6]
    assert [layer.kernel_size for layer in convolutions] == [(3, 3), (3, 3)]
    assert [layer.activation.__name__ for layer in convolutions] == ["relu", "relu"]
    assert [layer.pool_size for layer in model.layers[1:4:2]] == [(2, 2), (2, 2)]
    assert dropout.rate == 0.5
    assert dense.activation.__name__ == "softmax"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)  # Adam's default
    recipe = model_info("keras-convnet").recipe
    assert (recipe.epochs, recipe.batch_size, recipe.optimizer) == (15, 128, None)


def test_reference_is_compiled_like_the_classic_project(built, mnist):
    model = built["reference"]
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "categorical_crossentropy"
    x, y = normalize(mnist.test.images[:64]), one_hot(mnist.test.labels[:64])
    assert sorted(model.evaluate(x, y, verbose=0, return_dict=True)) == ["accuracy", "loss"]


BUILT_IN = [name for name in MODELS if model_info(name).source == "built-in"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_built_in_model_learns_with_its_own_recipe(name, mnist, tmp_path):
    """Thirty-two steps of each model's own recipe must already beat chance (10%) by far.

    This catches what the shape checks cannot: a recipe that diverges, or batch normalization
    whose test-time statistics lag so far behind training that test accuracy stays near 10%.
    """
    config = TrainConfig(model=name, epochs=1, batch_size=128, limit=4096, out=str(tmp_path))
    run = train(config, dataset=mnist, verbose=0)
    assert run.metrics["test_accuracy"] > 0.5, (name, run.metrics["test_accuracy"])
    assert run.history[0]["val_accuracy"] > 0.5, (name, run.history)
