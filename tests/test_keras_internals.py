"""Pins: the behaviour of each Keras private API that `mnist_lab.core.keras_internals` relies on.

After a Keras upgrade, a failure here names the private API that changed and what in mnist-lab
depends on it, before training, inspection or the lab fail in ways nobody can trace.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from mnist_lab.core import keras_internals

keras = pytest.importorskip("keras")


def dense_kernel() -> np.ndarray:
    """A Dense layer made without a seed: Keras draws its initializer's seed by default."""
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return np.asarray(layer.kernel)


def test_default_seeds_are_drawn_from_python_random():
    assert keras_internals.default_seeds_come_from_python_random(), (
        f"Keras's private {keras_internals.SEED_MODULE}.{keras_internals.SEED_ATTRIBUTE} is no "
        "longer Python's `random` module: keras_internals.private_default_seeds (the weights of "
        "a seeded training, tests/test_training.py) must learn where Keras draws default seeds."
    )


def test_private_default_seeds_ignore_draws_from_the_global_random():
    with keras_internals.private_default_seeds(7):
        undisturbed = dense_kernel()
    with keras_internals.private_default_seeds(7):
        random.random()  # another thread's draw, as a Dask worker's event loop makes
        disturbed = dense_kernel()
    with keras_internals.private_default_seeds(8):
        other_seed = dense_kernel()
    assert np.array_equal(undisturbed, disturbed), (
        f"Keras no longer takes default seeds from {keras_internals.SEED_MODULE}."
        f"{keras_internals.SEED_ATTRIBUTE}: private_default_seeds does not fix them any more."
    )
    assert not np.array_equal(undisturbed, other_seed)


def test_private_default_seeds_give_the_draws_of_random_seed():
    random.seed(11)
    expected = dense_kernel()
    with keras_internals.private_default_seeds(11):
        assert np.array_equal(dense_kernel(), expected)
    assert getattr(keras_internals._seed_module(), keras_internals.SEED_ATTRIBUTE) is random


def compiled_model() -> keras.Model:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")], name="pinned"
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_symbolic_build_creates_the_optimizer_and_metric_state():
    model = compiled_model()
    assert keras_internals.can_build_training_state(model), (
        "Keras models no longer have the private Model._symbolic_build: "
        "keras_internals.build_training_state (every training's first step) must change."
    )
    images, labels = np.zeros((2, 4), "float32"), np.eye(3, dtype="float32")[[0, 1]]
    assert not model.optimizer.built
    metric_variables = len(model.metrics_variables)  # the loss tracker's, before the metrics'
    assert keras_internals.build_training_state(model, images, labels), (
        "Keras's private Model._symbolic_build(data_batch=...) failed on a plain compiled model."
    )
    assert model.optimizer.built, "Model._symbolic_build no longer builds the optimizer's state"
    assert model.optimizer.variables, "Model._symbolic_build left the optimizer without variables"
    assert len(model.metrics_variables) > metric_variables, (
        "Model._symbolic_build no longer builds the compiled metrics' variables"
    )


def test_build_training_state_leaves_a_model_without_it_alone():
    class Plain:
        pass

    assert not keras_internals.build_training_state(Plain(), np.zeros((1, 4)), np.zeros((1, 3)))


def nested_model() -> keras.Model:
    """A functional model holding a Sequential block, as `best` and students' models do."""
    inputs = keras.Input((6, 6, 1))
    block = keras.Sequential([keras.layers.Conv2D(2, 3, name="inner_conv")], name="block")
    x = block(inputs)
    x = keras.layers.Flatten(name="flat")(x)
    outputs = keras.layers.Dense(2, name="head")(x)
    return keras.Model(inputs, outputs, name="outer")


def test_run_through_graph_replays_every_node_through_our_function():
    model = nested_model()
    assert keras_internals.can_replay(model), (
        "Keras functional models no longer have the private Functional._run_through_graph: "
        "keras_internals.replay (inspection's feature maps and the lab) must change."
    )
    seen: list[str] = []

    def operation(layer):
        seen.append(layer.name)
        return layer

    images = np.random.default_rng(0).random((2, 6, 6, 1)).astype("float32")
    replayed = keras_internals.replay(model, keras.ops.convert_to_tensor(images), operation)
    assert seen == ["block", "flat", "head"], (
        f"Functional._run_through_graph called operation_fn on {seen}, not on each layer in order"
    )
    np.testing.assert_allclose(np.asarray(replayed), np.asarray(model(images)), rtol=1e-6)


def test_flatten_layers_lists_layers_held_in_private_attributes():
    class Hiding(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self._conv = keras.layers.Conv2D(2, 3, name="hidden_conv")
            self.block = keras.Sequential([keras.layers.Dense(2, name="deep_dense")])

        def call(self, inputs):
            return self._conv(inputs)

    names = {layer.name for layer in keras_internals.sublayers(Hiding())}
    assert {"hidden_conv", "deep_dense"} <= names, (
        "Keras's private Layer._flatten_layers(include_self=False) no longer lists the layers a "
        f"layer holds ({sorted(names)}): inspection's check for hidden convolutions must change"
    )


def test_a_subclassed_model_cannot_be_replayed():
    class Subclassed(keras.Model):
        def call(self, inputs):
            return inputs

    assert not keras_internals.can_replay(Subclassed())
