"""Exercise 2, normalization: float32 pixels in [0, 1] with a channel axis, and strict inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

EXERCISE = "ex02_normalize.py"

uint8_batches = st.integers(1, 3).flatmap(
    lambda n: arrays(np.uint8, (n, 28, 28), elements=st.integers(0, 255))
)


def shape_with_n(shape: tuple) -> str:
    """A batch shape written the way the exercise describes it, e.g. '(N, 28, 28, 1)'."""
    return "(" + ", ".join(["N", *map(str, shape[1:])]) + ")" if shape else "()"


def test_normalize_returns_float32(exercise, mnist):
    out = exercise.normalize(mnist.test.images[:10])
    assert isinstance(out, np.ndarray), f"normalize should return a numpy array, got {type(out)}"
    assert out.dtype == np.float32, (
        f"normalize should return float32 pixels, but it returned {out.dtype} "
        "(uint8 / 255 gives float64: convert with .astype(np.float32) first)"
    )


def test_normalize_keeps_a_channel_axis(exercise, mnist):
    out = np.asarray(exercise.normalize(mnist.test.images[:10]))
    assert out.shape == (10, 28, 28, 1), (
        f"normalize should add a channel axis: expected shape (N, 28, 28, 1), "
        f"got {shape_with_n(out.shape)}"
    )


def test_normalize_maps_white_to_exactly_one_and_black_to_zero(exercise):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[1] = 255
    out = np.asarray(exercise.normalize(images)).reshape(2, -1)
    white, black = float(out[1].max()), float(out[0].min())
    assert white == 1.0, (
        f"255 (white) should become exactly 1.0, but it became {white!r}: "
        "divide by 255, the largest pixel value (dividing by 256 gives 0.99609375)"
    )
    assert black == 0.0, f"0 (black) should stay 0.0, but it became {black!r}"


@settings(derandomize=True, max_examples=25, deadline=None)
@given(images=uint8_batches)
def test_normalize_divides_every_pixel_by_255(exercise, images):
    out = np.asarray(exercise.normalize(images))
    expected = (images.astype(np.float32) / np.float32(255))[..., np.newaxis]
    assert out.shape == expected.shape, (
        f"expected shape {shape_with_n(expected.shape)}, got {shape_with_n(out.shape)}"
    )
    worst = float(np.max(np.abs(out - expected)))
    assert worst <= 1e-6, f"each pixel p should become p / 255, but one pixel is off by {worst:.3g}"


def test_normalize_keeps_mnist_between_0_and_1(exercise, mnist):
    out = np.asarray(exercise.normalize(mnist.train.images[:2000]))
    low, high = float(out.min()), float(out.max())
    assert (low, high) == (0.0, 1.0), (
        f"normalized MNIST pixels should span [0.0, 1.0], but they span [{low}, {high}]"
    )


def test_normalize_does_not_change_its_input(exercise, mnist):
    images = mnist.test.images[:5].copy()
    exercise.normalize(images)
    assert np.array_equal(images, mnist.test.images[:5]), (
        "normalize should return a new array and leave the images it was given untouched"
    )


def test_normalize_refuses_images_normalized_twice(exercise, mnist):
    once = exercise.normalize(mnist.test.images[:5])
    try:
        twice = exercise.normalize(np.asarray(once)[..., 0])
    except ValueError:
        return
    pytest.fail(
        "normalize should raise ValueError for float32 images (already normalized), "
        f"but it returned an array of {np.asarray(twice).dtype} with maximum "
        f"{float(np.max(twice)):.6f}: check the dtype first (call check_images)"
    )


def test_check_images_accepts_a_batch_of_mnist_images(exercise, mnist):
    result = exercise.check_images(mnist.test.images[:10])
    assert result is None, f"check_images should return None for good images, got {result!r}"


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_check_images_rejects_pixels_that_are_not_uint8(exercise, dtype):
    images = np.zeros((4, 28, 28), dtype=dtype)
    try:
        exercise.check_images(images)
    except ValueError as error:
        assert dtype in str(error), (
            f"the ValueError should say which dtype it got ({dtype}), but it says: {error}"
        )
        return
    pytest.fail(f"check_images should raise ValueError for {dtype} pixels, but it did not")


@pytest.mark.parametrize(
    "shape",
    [(28, 28), (4, 784), (4, 28, 28, 3), (4, 32, 32), (4, 28, 14)],
    ids=["one-image", "flattened", "three-channels", "32x32", "28x14"],
)
def test_check_images_rejects_other_shapes(exercise, shape):
    images = np.zeros(shape, dtype=np.uint8)
    try:
        exercise.check_images(images)
    except ValueError:
        return
    pytest.fail(
        f"check_images should raise ValueError for uint8 images of shape {shape} "
        "(only (N, 28, 28) is a batch of MNIST images), but it did not"
    )


def test_normalize_and_check_images_are_your_own_code(exercise, mnist):
    # Both run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call mnist_lab.preprocess, however they reach it.
    exercise.check_images(mnist.test.images[:2])
    exercise.normalize(mnist.test.images[:2])
