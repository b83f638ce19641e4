"""Tests of the numpy preprocessing: exact values, and loud failures on misuse."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mnist_lab.data.preprocess import normalize, one_hot, stratified_split

uint8_images = st.integers(1, 8).flatmap(
    lambda n: arrays(np.uint8, (n, 28, 28), elements=st.integers(0, 255))
)


# --- normalize --------------------------------------------------------------------------------


@given(images=uint8_images)
def test_normalize_is_exactly_x_over_255(images):
    """Every pixel becomes float32(x) / float32(255), in [0, 1], with a channel axis."""
    result = normalize(images)
    assert result.dtype == np.float32
    assert result.shape == (images.shape[0], 28, 28, 1)
    expected = images.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(result[..., 0], expected)
    assert result.min() >= 0.0
    assert result.max() <= 1.0


@given(images=uint8_images)
def test_normalize_accepts_a_channel_axis(images):
    """(N, 28, 28, 1) input gives the same result as (N, 28, 28)."""
    np.testing.assert_array_equal(normalize(images[..., np.newaxis]), normalize(images))


def test_normalize_end_points_are_exact():
    """0 maps to exactly 0.0 and 255 to exactly 1.0."""
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[1] = 255
    result = normalize(images)
    assert np.all(result[0] == 0.0)
    assert np.all(result[1] == 1.0)


def test_normalize_leaves_its_input_alone():
    """The caller's uint8 array is not changed."""
    images = np.full((1, 28, 28), 200, dtype=np.uint8)
    normalize(images)
    assert images.dtype == np.uint8
    assert np.all(images == 200)


def test_normalize_real_mnist(mnist):
    """The real training images normalize to the documented shape and range."""
    result = normalize(mnist.test.images)
    assert result.shape == (10000, 28, 28, 1)
    assert result.dtype == np.float32
    assert result.min() == 0.0
    assert result.max() == 1.0


@pytest.mark.parametrize(
    ("images", "dtype_name"),
    [
        (np.zeros((2, 28, 28, 1), dtype=np.float32), "float32"),
        (np.zeros((2, 28, 28), dtype=np.float64), "float64"),
        (np.zeros((2, 28, 28), dtype=np.int64), "int64"),
        (np.zeros((2, 28, 28), dtype=np.uint16), "uint16"),
    ],
)
def test_normalize_rejects_non_uint8(images, dtype_name):
    """Float input (already normalized?) or wider ints are refused, naming the dtype."""
    with pytest.raises(
        ValueError, match=f"normalize expects uint8 pixels in 0..255, got dtype {dtype_name}"
    ):
        normalize(images)


def test_normalize_rejects_already_normalized_images():
    """Normalizing twice is the classic bug; it fails at once."""
    once = normalize(np.zeros((1, 28, 28), dtype=np.uint8))
    with pytest.raises(ValueError, match="not already-scaled ones"):
        normalize(once)


@pytest.mark.parametrize(
    "shape", [(28, 28), (3, 32, 32), (3, 28, 28, 3), (3, 784), (3, 1, 28, 28), (28,)]
)
def test_normalize_rejects_wrong_shapes(shape):
    """Anything but (N, 28, 28) or (N, 28, 28, 1) is refused, naming the shape."""
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"normalize expects images of shape (N, 28, 28) or (N, 28, 28, 1), got {shape}."
        ),
    ):
        normalize(np.zeros(shape, dtype=np.uint8))


# --- one_hot ----------------------------------------------------------------------------------


def test_one_hot_exact_output():
    """[0, 3, 9] gives three float32 rows of ten with a single 1 each."""
    result = one_hot(np.array([0, 3, 9]))
    expected = np.zeros((3, 10), dtype=np.float32)
    expected[0, 0] = expected[1, 3] = expected[2, 9] = 1.0
    assert result.dtype == np.float32
    assert result.shape == (3, 10)
    np.testing.assert_array_equal(result, expected)


def test_one_hot_custom_num_classes():
    """num_classes sets the row width."""
    result = one_hot(np.array([2, 0, 1], dtype=np.uint8), num_classes=3)
    np.testing.assert_array_equal(result, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert result.shape == (3, 3)


def test_one_hot_empty_labels():
    """No labels give an empty (0, num_classes) array, not an error."""
    result = one_hot(np.array([], dtype=np.int64))
    assert result.shape == (0, 10)
    assert result.dtype == np.float32


@given(
    data=st.data(),
    num_classes=st.integers(1, 20),
    dtype=st.sampled_from([np.uint8, np.int32, np.int64]),
)
def test_one_hot_rows_sum_to_one_and_argmax_recovers_labels(data, num_classes, dtype):
    """Each row is a single 1.0 at the label's column."""
    labels = data.draw(arrays(dtype, st.integers(1, 50), elements=st.integers(0, num_classes - 1)))
    result = one_hot(labels, num_classes=num_classes)
    assert result.dtype == np.float32
    assert result.shape == (labels.size, num_classes)
    np.testing.assert_array_equal(result.sum(axis=1), np.ones(labels.size, dtype=np.float32))
    np.testing.assert_array_equal(result.argmax(axis=1), labels)
    assert set(np.unique(result)) <= {0.0, 1.0}


def test_one_hot_real_labels(mnist):
    """The real labels encode and decode losslessly."""
    result = one_hot(mnist.test.labels)
    assert result.shape == (10000, 10)
    np.testing.assert_array_equal(result.argmax(axis=1), mnist.test.labels)


@pytest.mark.parametrize(
    ("labels", "num_classes", "message"),
    [
        (np.array([0, 10]), 10, "one_hot expects labels in 0..9, got values from 0 to 10."),
        (np.array([-1, 2]), 10, "one_hot expects labels in 0..9, got values from -1 to 2."),
        (np.array([3]), 3, "one_hot expects labels in 0..2, got values from 3 to 3."),
        (
            np.array([[1], [2]]),
            10,
            "one_hot expects a 1-D array of integer labels, got shape (2, 1) of dtype int64.",
        ),
        (
            np.array([1.0, 2.0]),
            10,
            "one_hot expects a 1-D array of integer labels, got shape (2,) of dtype float64.",
        ),
        (
            np.array([True, False]),
            10,
            "one_hot expects a 1-D array of integer labels, got shape (2,) of dtype bool.",
        ),
        (np.array([0]), 0, "num_classes must be an int >= 1, got 0."),
        (np.array([0]), -3, "num_classes must be an int >= 1, got -3."),
    ],
)
def test_one_hot_rejections(labels, num_classes, message):
    """Out-of-range, non-integer or non-1-D labels and a bad num_classes are ValueErrors."""
    with pytest.raises(ValueError, match=re.escape(message)):
        one_hot(labels, num_classes=num_classes)


# --- stratified_split -------------------------------------------------------------------------


@st.composite
def class_labels(draw):
    """Shuffled labels of 10 classes with 5..60 members each."""
    sizes = draw(st.lists(st.integers(5, 60), min_size=10, max_size=10))
    labels = np.repeat(np.arange(10, dtype=np.uint8), sizes)
    order = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(labels.size)
    return labels[order]


@given(
    labels=class_labels(),
    fraction=st.floats(0.05, 0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_partitions_each_class(labels, fraction, seed):
    """Disjoint, covering, sorted, each class's quota by largest remainders, and repeatable."""
    train, validation = stratified_split(labels, fraction, seed=seed)
    assert np.intersect1d(train, validation).size == 0
    np.testing.assert_array_equal(
        np.sort(np.concatenate([train, validation])), np.arange(labels.size)
    )
    assert np.all(np.diff(train) > 0)
    assert np.all(np.diff(validation) > 0)
    assert validation.size == round(fraction * labels.size)
    quotas = fraction * np.bincount(labels, minlength=10)
    counts = np.bincount(labels[validation], minlength=10)
    floors = np.floor(quotas)
    assert np.all((counts == floors) | (counts == floors + 1))
    # The leftover places go to the classes with the largest remainders.
    remainders = quotas - floors
    rounded_up = counts == floors + 1
    if rounded_up.any() and not rounded_up.all():
        assert remainders[rounded_up].min() >= remainders[~rounded_up].max()
    again_train, again_validation = stratified_split(labels, fraction, seed=seed)
    np.testing.assert_array_equal(again_train, train)
    np.testing.assert_array_equal(again_validation, validation)


def test_stratified_split_real_labels(mnist):
    """On the 60000 real labels: repeatable per seed, different across seeds, 10% per class."""
    labels = mnist.train.labels
    train, validation = stratified_split(labels, 0.1, seed=0)
    same_train, same_validation = stratified_split(labels, 0.1, seed=0)
    np.testing.assert_array_equal(train, same_train)
    np.testing.assert_array_equal(validation, same_validation)
    other_train, other_validation = stratified_split(labels, 0.1, seed=1)
    assert not np.array_equal(validation, other_validation)
    assert not np.array_equal(train, other_train)
    assert train.size + validation.size == 60000
    assert validation.size == 6000
    counts = np.bincount(labels, minlength=10)
    validation_counts = np.bincount(labels[validation], minlength=10)
    assert np.all(np.abs(validation_counts - 0.1 * counts) <= 1)
    assert np.all(np.abs(np.bincount(labels[train], minlength=10) - 0.9 * counts) <= 1)


def test_stratified_split_gives_leftover_places_to_largest_remainders():
    """Sizes 3, 4, 5 at 0.3: quotas 0.9, 1.2, 1.5 and 4 places in all give counts 1, 1, 2."""
    labels = np.repeat(np.arange(3), [3, 4, 5])
    train, validation = stratified_split(labels, 0.3, seed=7)
    np.testing.assert_array_equal(np.bincount(labels[validation], minlength=3), [1, 1, 2])
    assert train.size == 8


@pytest.mark.parametrize("fraction", [0, 0.0, 1, 1.0, -0.1, 1.5, float("nan")])
def test_stratified_split_rejects_bad_fractions(fraction):
    """The fraction must lie strictly between 0 and 1."""
    with pytest.raises(
        ValueError,
        match=re.escape(f"validation_fraction must be a float in (0, 1), got {fraction}."),
    ):
        stratified_split(np.array([0, 1, 0, 1]), fraction)


def test_stratified_split_rejects_2d_labels():
    """One-hot labels by mistake are refused."""
    with pytest.raises(ValueError, match=re.escape("expects 1-D labels, got shape (2, 10)")):
        stratified_split(np.zeros((2, 10)), 0.5)
