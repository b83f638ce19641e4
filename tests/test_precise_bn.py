"""Precise batch norm: the statistics become the exact average of the batches seen."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_lab.training.precise_bn import batch_norm_layers, recalibrate


def bn_model() -> keras.Model:
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(momentum=0.8)])
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.BatchNormalization(momentum=0.9), inner]
    )


def test_finds_nested_batch_norm_layers():
    model = bn_model()
    assert [layer.momentum for layer in batch_norm_layers(model)] == [0.9, 0.8]
    assert batch_norm_layers(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])) == []


def test_statistics_become_the_mean_of_the_batches_and_momentum_is_restored():
    model = bn_model()
    images = np.random.default_rng(1).normal(3.0, 2.0, size=(96, 4)).astype("float32")
    used = recalibrate(model, images, batches=3, batch_size=32, seed=5)
    assert used == 3
    order = np.random.default_rng(5).permutation(96)
    batches = [images[order[k * 32 : (k + 1) * 32]] for k in range(3)]
    first = batch_norm_layers(model)[0]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.moving_mean),
        np.mean([batch.mean(axis=0) for batch in batches], axis=0),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(first.moving_variance),
        np.mean([batch.var(axis=0) for batch in batches], axis=0),
        rtol=1e-4,
    )
    assert [layer.momentum for layer in batch_norm_layers(model)] == [0.9, 0.8]


def test_a_model_without_batch_norm_is_left_alone():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    before = [w.copy() for w in model.get_weights()]
    assert recalibrate(model, np.ones((64, 4), "float32")) == 0
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize(("images", "used"), [(100, 1), (600, 2), (100_000, 50)])
def test_uses_at_most_the_batches_the_images_hold(images, used):
    model = bn_model()
    data = np.zeros((images, 4), "float32")
    assert recalibrate(model, data, batch_size=256) == used
