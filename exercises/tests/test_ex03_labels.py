"""Exercise 3, labels: one-hot rows and a seeded, stratified train/validation split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex03_labels.py"

label_lists = st.lists(st.integers(0, 9), min_size=1, max_size=300).map(np.array)
fractions = st.floats(0.05, 0.95)
seeds = st.integers(0, 2**32 - 1)


def test_one_hot_of_a_hand_example(exercise):
    out = np.asarray(exercise.one_hot(np.array([3, 0, 9])))
    expected = np.zeros((3, 10), dtype=np.float32)
    expected[0, 3] = expected[1, 0] = expected[2, 9] = 1.0
    assert out.shape == (3, 10), (
        f"one_hot of 3 labels should have shape (3, 10), one row per label, got {out.shape}"
    )
    assert np.array_equal(out, expected), (
        "one_hot([3, 0, 9]) should put a 1.0 in column 3, then 0, then 9 of its rows, "
        f"but it gave\n{out}"
    )


def test_one_hot_returns_float32(exercise):
    out = np.asarray(exercise.one_hot(np.array([1, 2])))
    assert out.dtype == np.float32, (
        f"one_hot should return float32 rows (what Keras trains on), but it returned {out.dtype}"
    )


@settings(derandomize=True, max_examples=25, deadline=None)
@given(labels=label_lists)
def test_one_hot_puts_a_single_one_at_each_label(exercise, labels):
    out = np.asarray(exercise.one_hot(labels))
    assert out.shape == (len(labels), 10), f"expected shape ({len(labels)}, 10), got {out.shape}"
    assert set(np.unique(out).tolist()) <= {0.0, 1.0}, (
        f"one-hot rows hold only 0.0 and 1.0, but found {np.unique(out).tolist()}"
    )
    assert np.array_equal(out.sum(axis=1), np.ones(len(labels))), (
        "each one-hot row should hold exactly one 1.0"
    )
    assert np.array_equal(out.argmax(axis=1), labels), (
        "the 1.0 of each row should sit in the column of its label"
    )


def test_one_hot_of_mnist_labels(exercise, mnist):
    labels = mnist.train.labels[:1000]  # uint8, as load_mnist gives them
    out = np.asarray(exercise.one_hot(labels))
    assert out.shape == (1000, 10), f"expected shape (1000, 10), got {out.shape}"
    assert np.array_equal(out.argmax(axis=1), labels), (
        "one_hot of MNIST's uint8 labels should put each 1.0 in the column of its label"
    )


def test_one_hot_respects_num_classes(exercise):
    out = np.asarray(exercise.one_hot(np.array([0, 2]), num_classes=3))
    assert out.shape == (2, 3), (
        f"with num_classes=3 each row should have 3 columns: expected shape (2, 3), got {out.shape}"
    )


@pytest.mark.parametrize("bad", [10, -1], ids=["ten", "minus-one"])
def test_one_hot_rejects_labels_out_of_range(exercise, bad):
    labels = np.array([1, bad, 2])
    try:
        out = exercise.one_hot(labels)
    except ValueError:
        return
    pytest.fail(
        f"one_hot should raise ValueError for the label {bad} (digits are 0..9), but it returned "
        f"{'rows' if out is not None else 'None'}: a label of -1 would silently become a 9"
    )


def _check_partition(train, validation, size):
    train, validation = np.asarray(train), np.asarray(validation)
    for name, part in [("train", train), ("validation", validation)]:
        assert part.ndim == 1 and (part.size == 0 or np.issubdtype(part.dtype, np.integer)), (
            f"the {name} part should be a 1-D array of integer indices, "
            f"got shape {part.shape} of dtype {part.dtype}"
        )
    overlap = np.intersect1d(train, validation)
    assert overlap.size == 0, (
        f"no index may be in both parts, but {overlap[:5].tolist()} are in train and validation"
    )
    together = np.sort(np.concatenate([train, validation]))
    assert np.array_equal(together, np.arange(size)), (
        f"train and validation together should hold each index 0..{size - 1} exactly once, "
        f"but they hold {together.size} indices"
    )


def _check_shares(labels, validation, fraction):
    labels = np.asarray(labels)
    for digit in np.unique(labels):
        count = int(np.sum(labels == digit))
        got = int(np.sum(labels[np.asarray(validation, dtype=int)] == digit))
        wanted = fraction * count
        assert abs(got - wanted) < 1, (
            f"digit {digit} has {count} images, so about {wanted:.1f} of them (fraction "
            f"{fraction:g}) should go to validation, but {got} did: split each digit separately"
        )


@settings(derandomize=True, max_examples=25, deadline=None)
@given(labels=label_lists, fraction=fractions, seed=seeds)
def test_split_is_a_partition_of_the_indices(exercise, labels, fraction, seed):
    train, validation = exercise.stratified_split(labels, fraction, seed=seed)
    _check_partition(train, validation, len(labels))


@settings(derandomize=True, max_examples=25, deadline=None)
@given(labels=label_lists, fraction=fractions, seed=seeds)
def test_split_keeps_each_digits_share(exercise, labels, fraction, seed):
    _, validation = exercise.stratified_split(labels, fraction, seed=seed)
    _check_shares(labels, validation, fraction)


def test_split_of_mnist_holds_out_a_tenth_of_each_digit(exercise, mnist):
    labels = mnist.train.labels
    train, validation = exercise.stratified_split(labels, 0.1, seed=0)
    _check_partition(train, validation, len(labels))
    _check_shares(labels, validation, 0.1)


@settings(derandomize=True, max_examples=25, deadline=None)
@given(labels=label_lists, fraction=fractions, seed=seeds)
def test_split_is_reproducible_with_the_same_seed(exercise, labels, fraction, seed):
    first = exercise.stratified_split(labels, fraction, seed=seed)
    second = exercise.stratified_split(labels, fraction, seed=seed)
    for name, a, b in zip(["train", "validation"], first, second, strict=True):
        assert np.array_equal(a, b), (
            f"the same labels and seed should give the same split, but the {name} part changed: "
            "draw the random numbers from np.random.default_rng(seed)"
        )


def test_split_changes_with_the_seed(exercise, mnist):
    labels = mnist.train.labels[:2000]
    _, first = exercise.stratified_split(labels, 0.2, seed=0)
    _, second = exercise.stratified_split(labels, 0.2, seed=1)
    assert not np.array_equal(np.sort(first), np.sort(second)), (
        "seeds 0 and 1 gave the same validation images: the split should be random "
        "(shuffle each digit's indices with np.random.default_rng(seed)), not the first of each"
    )


def test_one_hot_and_the_split_are_your_own_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call mnist_lab.preprocess, Keras, TensorFlow or scikit-learn.
    labels = np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3])
    exercise.one_hot(labels)
    exercise.stratified_split(labels, 0.5, seed=0)
