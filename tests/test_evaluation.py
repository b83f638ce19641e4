"""Evaluation: the confusion matrix, per-digit metrics, worst mistakes and the plain cross-entropy,
against hand counts and Keras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnist_lab.evaluation import confusion_matrix, crossentropy, per_class_metrics, worst_mistakes


def test_confusion_matrix_counts_a_hand_example():
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 1, 0, 2, 2, 1])
    confusion = confusion_matrix(labels, predictions, num_classes=3)
    assert confusion.dtype == np.int64
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [1, 2, 0], [0, 1, 2]])


def test_confusion_matrix_has_ten_digits_by_default():
    confusion = confusion_matrix(np.array([9, 3]), np.array([4, 3]))
    assert confusion.shape == (10, 10)
    assert confusion[9, 4] == 1 and confusion[3, 3] == 1 and confusion.sum() == 2


@given(
    st.integers(1, 12).flatmap(
        lambda classes: st.tuples(
            st.just(classes),
            st.lists(st.tuples(st.integers(0, classes - 1), st.integers(0, classes - 1))),
        )
    )
)
def test_confusion_matrix_matches_a_loop(case):
    classes, pairs = case
    labels = np.array([true for true, _ in pairs], dtype=np.int64)
    predictions = np.array([predicted for _, predicted in pairs], dtype=np.int64)
    confusion = confusion_matrix(labels, predictions, num_classes=classes)
    reference = np.zeros((classes, classes), dtype=np.int64)
    for true, predicted in pairs:
        reference[true, predicted] += 1
    np.testing.assert_array_equal(confusion, reference)
    assert confusion.sum() == len(pairs)
    assert np.trace(confusion) == sum(true == predicted for true, predicted in pairs)


@pytest.mark.parametrize(
    ("labels", "predictions", "num_classes", "message"),
    [
        ([0, 1], [0], 10, "labels and predictions must have the same length, got 2 labels and 1"),
        ([0, 10], [0, 1], 10, r"labels must hold labels in 0\.\.9, got values from 0 to 10\."),
        ([0, 1], [0, -1], 10, r"predictions must hold labels in 0\.\.9, got values from -1 to 0"),
        ([0.0, 1.0], [0, 1], 10, r"labels must be a 1-D array of integer labels, got shape \(2,\)"),
        ([[0, 1]], [[0, 1]], 10, r"labels must be a 1-D array .* got shape \(1, 2\)"),
        ([0], [0], 0, r"num_classes must be an int >= 1, got 0\."),
    ],
)
def test_confusion_matrix_rejects_bad_input(labels, predictions, num_classes, message):
    with pytest.raises(ValueError, match=message):
        confusion_matrix(np.array(labels), np.array(predictions), num_classes=num_classes)


def test_per_class_metrics_hand_example_with_a_digit_never_predicted():
    # Digit 2 is never predicted: precision 0/0 -> 0.0, and F1 0.0 (not NaN).
    confusion = np.array([[3, 1, 0], [1, 2, 0], [1, 1, 0]])
    metrics = per_class_metrics(confusion)
    assert list(metrics) == ["0", "1", "2"]
    assert metrics["0"] == {
        "precision": 3 / 5,
        "recall": 3 / 4,
        "f1": pytest.approx(2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4)),
        "support": 4,
        "accuracy": 3 / 4,
    }
    assert metrics["1"]["precision"] == 2 / 4 and metrics["1"]["recall"] == 2 / 3
    assert metrics["2"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 2,
        "accuracy": 0.0,
    }
    for row in metrics.values():
        assert row["accuracy"] == row["recall"]
        assert isinstance(row["support"], int) and isinstance(row["f1"], float)


def test_per_class_metrics_of_an_absent_digit_are_zero():
    metrics = per_class_metrics(confusion_matrix(np.array([0, 0]), np.array([0, 0])))
    assert metrics["0"]["f1"] == 1.0
    assert metrics["7"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 0,
        "accuracy": 0.0,
    }


def test_per_class_metrics_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match=r"square integer confusion matrix .* got shape \(2, 3\)"):
        per_class_metrics(np.zeros((2, 3), dtype=np.int64))


def test_worst_mistakes_most_confident_first_ties_by_index():
    probabilities = np.array(
        [
            [0.9, 0.1, 0.0],  # 0: right
            [0.2, 0.7, 0.1],  # 1: wrong, 0.7
            [0.1, 0.1, 0.8],  # 2: wrong, 0.8
            [0.3, 0.6, 0.1],  # 3: wrong, 0.6
            [0.1, 0.7, 0.2],  # 4: wrong, 0.7 (tie with 1)
            [0.0, 0.0, 1.0],  # 5: right
        ]
    )
    labels = np.array([0, 0, 1, 2, 2, 2])
    np.testing.assert_array_equal(worst_mistakes(probabilities, labels), [2, 1, 4, 3])
    np.testing.assert_array_equal(worst_mistakes(probabilities, labels, k=2), [2, 1])
    assert worst_mistakes(probabilities, labels, k=0).size == 0
    assert worst_mistakes(probabilities[[0, 5]], labels[[0, 5]]).size == 0


def test_worst_mistakes_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="got 2 rows of probabilities and 3 labels"):
        worst_mistakes(np.full((2, 10), 0.1), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"k must be an int >= 0, got -1\."):
        worst_mistakes(np.full((2, 10), 0.1), np.array([1, 2]), k=-1)


# --- the plain cross-entropy ----------------------------------------------------------------


def test_crossentropy_of_a_hand_example():
    probabilities = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]])
    expected = -(np.log(0.5) + np.log(0.1)) / 2  # the true digits are 0 and 2
    assert crossentropy(probabilities, np.array([0, 2])) == pytest.approx(expected, rel=1e-12)


def test_crossentropy_equals_keras_categorical_crossentropy():
    import keras

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (200, 10))
    probabilities = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype("float32")
    probabilities[0] = np.eye(10)[3]  # certain and right: clipped to 1 - 1e-7, not log(1)
    probabilities[1] = np.eye(10)[4]  # certain and wrong: clipped to 1e-7, not log(0)
    labels = rng.integers(0, 10, 200)
    labels[:2] = 3
    expected = keras.losses.categorical_crossentropy(np.eye(10)[labels], probabilities)
    assert crossentropy(probabilities, labels) == pytest.approx(float(np.mean(expected)), rel=1e-5)


def test_crossentropy_is_not_the_label_smoothed_loss():
    """A model trained with label smoothing reports a loss that cannot reach 0: the plain
    cross-entropy of the same, nearly certain and right, predictions is nearly 0."""
    import keras

    probabilities = np.full((4, 10), 1e-6, dtype="float32")
    labels = np.array([0, 3, 5, 9])
    probabilities[np.arange(4), labels] = 1 - 9e-6
    smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(
        np.eye(10)[labels], probabilities
    )
    assert float(smoothed) > 1.0
    assert crossentropy(probabilities, labels) < 1e-4


@pytest.mark.parametrize(
    ("probabilities", "labels", "message"),
    [
        (np.ones((2, 10)) / 10, [0], "probabilities and labels must have the same length"),
        (np.ones(10) / 10, [0], r"probabilities must be an array \(N, classes\)"),
        (np.ones((1, 10)) / 10, [10], r"labels must hold labels in 0\.\.9"),
        (np.ones((0, 10)), [], "at least 1"),
    ],
)
def test_crossentropy_rejects_bad_input(probabilities, labels, message):
    with pytest.raises(ValueError, match=message):
        crossentropy(np.asarray(probabilities), np.asarray(labels, dtype=np.int64))
