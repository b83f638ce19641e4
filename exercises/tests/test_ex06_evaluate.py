"""Exercise 6, evaluate: predictions, accuracy and a confusion matrix, against hand computations.

No model is trained here: a stand-in model returns fixed probabilities, so every expected number
can be worked out by hand.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

EXERCISE = "ex06_evaluate.py"

PROBABILITIES = np.array(
    [
        [0.10, 0.70, 0.20],  # most likely: 1
        [0.80, 0.15, 0.05],  # 0
        [0.20, 0.30, 0.50],  # 2
        [0.30, 0.60, 0.10],  # 1
    ],
    dtype=np.float32,
)


class FixedModel:
    """A stand-in for a Keras model whose predictions are known in advance."""

    def __init__(self, probabilities):
        self.probabilities = probabilities
        self.calls = 0

    def predict(self, images, verbose="auto", batch_size=None, **kwargs):
        self.calls += 1
        assert len(images) == len(self.probabilities), (
            f"predict should get all {len(self.probabilities)} images, got {len(images)}"
        )
        return self.probabilities

    __call__ = predict

    def __repr__(self) -> str:
        return f"FixedModel({len(self.probabilities)} predictions)"


def by_hand(labels, predictions, num_classes):
    """The confusion matrix by the definition: one count per (true, predicted) pair."""
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for true, predicted in zip(labels, predictions, strict=True):
        confusion[true, predicted] += 1
    return confusion


pairs = st.integers(0, 200).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 9), min_size=n, max_size=n),
        st.lists(st.integers(0, 9), min_size=n, max_size=n),
    )
)


def test_predict_digits_takes_the_most_likely_digit(exercise):
    images = np.zeros((4, 28, 28, 1), dtype=np.float32)
    out = np.asarray(exercise.predict_digits(FixedModel(PROBABILITIES), images))
    assert out.tolist() == [1, 0, 2, 1], (
        "predict_digits should give the column of the largest probability in each row, "
        f"[1, 0, 2, 1] here, but it gave {out.tolist()}"
    )


def test_predict_digits_gives_one_integer_per_image(exercise):
    images = np.zeros((4, 28, 28, 1), dtype=np.float32)
    out = np.asarray(exercise.predict_digits(FixedModel(PROBABILITIES), images))
    assert out.shape == (4,), f"expected one digit per image, shape (4,), got {out.shape}"
    assert np.issubdtype(out.dtype, np.integer), (
        f"the digits should be integers, but their dtype is {out.dtype}"
    )


def test_accuracy_of_a_hand_example(exercise):
    result = exercise.accuracy(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 4]))
    assert isinstance(result, float), (
        f"accuracy should return a Python float, got {type(result).__name__}"
    )
    assert abs(result - 0.75) < 1e-12, f"3 right out of 4 is 0.75, but accuracy gave {result}"


def test_accuracy_is_one_when_all_right_and_zero_when_all_wrong(exercise):
    labels = np.array([0, 1, 2, 3, 4])
    right = exercise.accuracy(labels, labels.copy())
    wrong = exercise.accuracy(labels, (labels + 1) % 10)
    assert (right, wrong) == (1.0, 0.0), (
        f"all right should give 1.0 and all wrong 0.0, but accuracy gave {right} and {wrong}"
    )


def test_confusion_matrix_of_a_hand_example(exercise):
    labels = np.array([0, 0, 1, 2, 2, 2])
    predictions = np.array([0, 1, 1, 2, 0, 2])
    out = np.asarray(exercise.confusion_matrix(labels, predictions, num_classes=3))
    expected = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert out.shape == (3, 3), f"with num_classes=3 expected shape (3, 3), got {out.shape}"
    assert np.array_equal(out, expected), f"expected\n{expected}\ngot\n{out}"


def test_confusion_matrix_puts_true_digits_in_rows(exercise):
    out = np.asarray(exercise.confusion_matrix(np.array([4]), np.array([9])))
    assert out[4, 9] == 1 and out[9, 4] == 0, (
        "a 4 predicted as 9 belongs in row 4 (the true digit), column 9 (the prediction), "
        f"but row 4 is {out[4].tolist()} and row 9 is {out[9].tolist()}"
    )


def test_confusion_matrix_counts_repeated_pairs(exercise):
    out = np.asarray(exercise.confusion_matrix(np.array([3, 3, 3]), np.array([5, 5, 5])))
    assert out[3, 5] == 3, (
        f"three 3s predicted as 5 should count 3 in cell [3, 5], but it holds {out[3, 5]}: "
        "confusion[labels, predictions] += 1 adds only once per cell; use np.add.at or a loop"
    )


def test_confusion_matrix_is_10x10_integers_even_with_digits_missing(exercise):
    out = np.asarray(exercise.confusion_matrix(np.array([0, 1]), np.array([1, 1])))
    assert out.shape == (10, 10), f"expected shape (10, 10) for the 10 digits, got {out.shape}"
    assert np.issubdtype(out.dtype, np.integer), f"counts should be integers, got {out.dtype}"


@settings(derandomize=True, max_examples=25, deadline=None)
@given(pair=pairs)
def test_confusion_matrix_matches_a_count_by_hand(exercise, pair):
    labels, predictions = np.array(pair[0], dtype=np.int64), np.array(pair[1], dtype=np.int64)
    out = np.asarray(exercise.confusion_matrix(labels, predictions))
    expected = by_hand(labels, predictions, 10)
    assert np.array_equal(out, expected), (
        f"for labels {labels[:8].tolist()}... and predictions {predictions[:8].tolist()}... "
        f"expected\n{expected}\ngot\n{out}"
    )
    assert out.sum() == len(labels), "every prediction should be counted exactly once"
    if len(labels):
        right = np.trace(out) / len(labels)
        assert abs(right - exercise.accuracy(labels, predictions)) < 1e-12, (
            "the diagonal's share of the matrix should equal the accuracy"
        )


def test_most_confused_ignores_the_right_answers(exercise):
    confusion = np.diag([900, 1000, 950, 980, 970, 890, 940, 1010, 960, 990]).astype(np.int64)
    confusion[4, 9] = 12
    confusion[7, 2] = 8
    result = exercise.most_confused(confusion)
    assert tuple(result) == (4, 9), (
        "the most frequent mistake here is a 4 read as a 9, so most_confused should give "
        f"(4, 9), but it gave {result}: leave the diagonal (the right answers) out"
    )
    assert all(type(value) is int for value in result), (
        f"most_confused should return two Python ints, got {[type(v).__name__ for v in result]}"
    )
    assert confusion[4, 4] == 970, "most_confused should not change the matrix it is given"


def test_most_confused_gives_true_then_predicted(exercise):
    confusion = np.eye(10, dtype=np.int64) * 100
    confusion[2, 7] = 5
    result = exercise.most_confused(confusion)
    assert tuple(result) == (2, 7), (
        f"a 2 read as a 7 is cell [2, 7]: expected (2, 7) (true, predicted), got {result}"
    )


def test_the_four_functions_are_your_own_code(exercise):
    # The four run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call mnist_lab.evaluation, TensorFlow or scikit-learn.
    labels, predictions = np.array([0, 1, 1]), np.array([0, 1, 0])
    exercise.predict_digits(FixedModel(PROBABILITIES), np.zeros((4, 28, 28, 1), np.float32))
    exercise.accuracy(labels, predictions)
    exercise.most_confused(exercise.confusion_matrix(labels, predictions))
