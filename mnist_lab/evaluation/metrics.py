"""What a model gets wrong: confusion matrix, per-digit metrics, worst mistakes, cross-entropy.

Everything here works on predictions that are already made (labels, predicted labels or
probabilities as numpy arrays), so it is fast, exact and testable without TensorFlow.
"""

from __future__ import annotations

import numpy as np

from mnist_lab.data.preprocess import NUM_CLASSES, check_labels


def confusion_matrix(
    labels: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Count each (true, predicted) pair: int64 (num_classes, num_classes), rows are true digits."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes}.")
    labels = check_labels(labels, num_classes, subject="labels")
    predictions = check_labels(predictions, num_classes, subject="predictions")
    if labels.shape != predictions.shape:
        raise ValueError(
            f"labels and predictions must have the same length, got {labels.size} labels "
            f"and {predictions.size} predictions."
        )
    # Each pair gets one flat cell number; bincount counts them all in one pass.
    counts = np.bincount(labels * num_classes + predictions, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, with 0.0 where the denominator is 0 (no NaN)."""
    numerator = numerator.astype(np.float64)
    denominator = denominator.astype(np.float64)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def per_class_metrics(confusion: np.ndarray) -> dict[str, dict[str, float | int]]:
    """Precision, recall, F1, support and accuracy of each digit, keyed "0", "1", ...

    `accuracy` is the share of that digit's images classified correctly, which is the same
    number as its recall; it is there under the name students look for. A ratio whose
    denominator is 0 (a digit never predicted, or absent from the labels) is 0.0, not NaN.
    """
    confusion = np.asarray(confusion)
    if (
        confusion.ndim != 2
        or confusion.shape[0] != confusion.shape[1]
        or not np.issubdtype(confusion.dtype, np.integer)
    ):
        raise ValueError(
            "per_class_metrics expects a square integer confusion matrix (see confusion_matrix), "
            f"got shape {confusion.shape} of dtype {confusion.dtype}."
        )
    if confusion.size and confusion.min() < 0:
        raise ValueError(
            f"A confusion matrix holds counts >= 0, got a cell of {confusion.min()}; "
            "build it with confusion_matrix(labels, predictions)."
        )
    correct = np.diag(confusion)
    support = confusion.sum(axis=1)  # images of each true digit
    predicted = confusion.sum(axis=0)  # images given each digit by the model
    precision = _ratio(correct, predicted)
    recall = _ratio(correct, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {
        str(digit): {
            "precision": float(precision[digit]),
            "recall": float(recall[digit]),
            "f1": float(f1[digit]),
            "support": int(support[digit]),
            "accuracy": float(recall[digit]),
        }
        for digit in range(len(correct))
    }


def worst_mistakes(probabilities: np.ndarray, labels: np.ndarray, k: int = 25) -> np.ndarray:
    """Indices of up to `k` misclassified examples, the most confident wrong answer first.

    The confidence of a mistake is the probability the model gave its (wrong) prediction; equal
    confidences are ordered by index, so the result is the same on every run.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(
            "probabilities must be an array (N, classes) of model outputs, "
            f"got shape {probabilities.shape}."
        )
    labels = check_labels(labels, probabilities.shape[1], subject="labels")
    if labels.size != probabilities.shape[0]:
        raise ValueError(
            f"probabilities and labels must have the same length, got {probabilities.shape[0]} "
            f"rows of probabilities and {labels.size} labels."
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}.")
    predictions = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predictions != labels)
    confidence = probabilities[wrong, predictions[wrong]]
    # lexsort sorts by its last key first: highest confidence, then lowest index.
    order = np.lexsort((wrong, -confidence))
    return wrong[order][:k].astype(np.int64)


EPSILON = 1e-7  # Keras's backend epsilon: probabilities are kept in [EPSILON, 1 - EPSILON]


def crossentropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The plain categorical cross-entropy, mean of -log p(true digit), as Keras computes it.

    No label smoothing and no weight penalty: the same number for every model, whatever loss it
    trained with, so models can be compared on it. Like `keras.losses.categorical_crossentropy`,
    each row is divided by its sum and kept within [EPSILON, 1 - EPSILON]; computed in float64.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[1] < 1:
        raise ValueError(
            "probabilities must be an array (N, classes) of model outputs, "
            f"got shape {probabilities.shape}."
        )
    labels = check_labels(labels, probabilities.shape[1], subject="labels")
    if labels.size != probabilities.shape[0] or labels.size == 0:
        raise ValueError(
            f"probabilities and labels must have the same length, at least 1, got "
            f"{probabilities.shape[0]} rows of probabilities and {labels.size} labels."
        )
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    chosen = np.clip(probabilities[np.arange(labels.size), labels], EPSILON, 1 - EPSILON)
    return float(-np.log(chosen).mean())
