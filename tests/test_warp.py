"""Random warps: the displacement fields and the one resampling, against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from mnist_lab.training import warp


def digits(n: int = 3, seed: int = 0) -> np.ndarray:
    """Small random 'digits': ink in the middle, an empty border like MNIST's."""
    images = np.zeros((n, 28, 28, 1), dtype=np.float32)
    images[:, 6:22, 6:22, 0] = np.random.default_rng(seed).random((n, 16, 16))
    return images


def constant_field(n: int, rows: float, cols: float) -> tf.Tensor:
    return tf.concat(
        [tf.fill((n, 28, 28, 1), float(rows)), tf.fill((n, 28, 28, 1), float(cols))], axis=-1
    )


def test_gaussian_kernel_is_normalized_symmetric_and_four_sigma_wide():
    kernel = warp.gaussian_kernel(4.0)
    assert len(kernel) == 33
    assert math.isclose(sum(kernel), 1.0)
    assert kernel == kernel[::-1]
    assert max(kernel) == kernel[16]


def test_zero_field_gives_the_images_back():
    images = digits()
    out = np.asarray(warp.distort(tf.constant(images), constant_field(3, 0.0, 0.0)))
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize(("rows", "cols"), [(1, 0), (0, -2), (3, 1)])
def test_whole_pixel_field_moves_the_image_and_fills_with_zeros(rows, cols):
    images = digits()
    out = np.asarray(warp.distort(tf.constant(images), constant_field(3, rows, cols)))
    # Each output pixel reads the input at (r + rows, c + cols): the ink moves the other way.
    expected = np.zeros_like(images)
    expected[:, max(0, -rows) : 28 - max(0, rows), max(0, -cols) : 28 - max(0, cols)] = images[
        :, max(0, rows) : 28 - max(0, -rows), max(0, cols) : 28 - max(0, -cols)
    ]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_half_pixel_field_averages_neighbours_like_bilinear_interpolation():
    images = digits()
    out = np.asarray(warp.distort(tf.constant(images), constant_field(3, 0.5, 0.0)))
    expected = (images[:, :-1] + images[:, 1:]) / 2
    np.testing.assert_allclose(out[:, :-1], expected, atol=1e-6)


def test_affine_field_turns_a_quarter_exactly_like_rot90():
    images = digits()
    n = len(images)
    field = warp.affine_field(
        tf.fill((n,), math.pi / 2), tf.ones((n,)), tf.zeros((n,)), tf.zeros((n,)), 28, 28
    )
    out = np.asarray(warp.distort(tf.constant(images), field))
    turned = [np.rot90(images, k, axes=(1, 2)) for k in (1, 3)]
    assert any(np.allclose(out, t, atol=1e-5) for t in turned)


def test_affine_field_shift_and_size():
    n = 2
    moved = warp.affine_field(
        tf.zeros((n,)), tf.ones((n,)), tf.constant([1.5, -2.0]), tf.constant([0.0, 3.0]), 28, 28
    )
    np.testing.assert_allclose(moved[0, ..., 0], 1.5, atol=1e-6)
    np.testing.assert_allclose(moved[1, ..., 1], 3.0, atol=1e-6)
    doubled = warp.affine_field(tf.zeros((1,)), tf.fill((1,), 2.0), [0.0], [0.0], 28, 28)
    # Size 2 samples twice as far from the centre (13.5, 13.5): the corner (0, 0) reads -13.5.
    np.testing.assert_allclose(np.asarray(doubled[0, 0, 0]), [-13.5, -13.5], atol=1e-5)
    np.testing.assert_allclose(np.asarray(doubled[0, 14, 14]), [0.5, 0.5], atol=1e-5)


def test_elastic_field_moves_pixels_by_the_asked_amount_smoothly():
    noise = tf.random.stateless_normal((64, 28, 28, 2), seed=(1, 2))
    field = np.asarray(warp.elastic_field(noise, 1.5))
    middle = field[:, 8:20, 8:20]  # the zero padding of the blur damps the border
    rms = float(np.sqrt((middle**2).mean()))
    assert 1.3 < rms < 1.7
    # Smooth: neighbouring pixels move nearly together, unlike the noise it came from.
    step = np.abs(np.diff(middle, axis=1)).mean()
    assert step < 0.2 * np.abs(middle).mean()


def test_warp_layer_changes_training_images_only_and_each_its_own_way():
    images = tf.constant(digits(4))
    layer = warp.make_warp_layer(rotation=10, shift=0.1, zoom=0.1, elastic=1.0, seed=0)
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)
    first, second = np.asarray(layer(images)), np.asarray(layer(images))
    assert first.shape == (4, 28, 28, 1)
    assert not np.allclose(first, second)  # a new draw each batch
    assert not np.allclose(first[0] - images[0], first[1] - images[1])  # and each image
    unchanged = warp.make_warp_layer(seed=0)(images)
    np.testing.assert_array_equal(np.asarray(unchanged), images)


def test_warp_layer_draws_differently_inside_tf_data_each_epoch():
    layer = warp.make_warp_layer(rotation=10, shift=0.1, seed=0)
    data = tf.data.Dataset.from_tensor_slices(digits(4)).batch(4).map(lambda x: layer(x))
    first, second = (np.asarray(next(iter(data))) for _ in range(2))
    assert not np.allclose(first, second)


@given(
    rows=st.floats(-30, 30),
    cols=st.floats(-30, 30),
    seed=st.integers(0, 100),
)
def test_resampling_never_makes_ink_brighter_than_the_image(rows, cols, seed):
    images = digits(2, seed)
    out = np.asarray(warp.distort(tf.constant(images), constant_field(2, rows, cols)))
    assert out.min() >= 0.0
    assert out.max() <= images.max() + 1e-6
    if abs(rows) >= 28 or abs(cols) >= 28:
        assert out.max() == 0.0  # moved wholly outside: nothing left


def test_warp_layer_keeps_float32_under_a_bfloat16_policy():
    import keras

    images = tf.constant(digits(2))
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = warp.make_warp_layer(rotation=10, shift=0.1, zoom=0.1, elastic=1.0, seed=0)
        out = layer(images)
    finally:
        keras.mixed_precision.set_global_policy(before)
    assert out.dtype == tf.float32 and out.shape == (2, 28, 28, 1)
