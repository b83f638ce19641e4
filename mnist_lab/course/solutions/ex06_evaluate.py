"""Exercise 6: evaluate.

A trained model gives 10 probabilities per image; its answer is the most likely digit. Test
accuracy, the share of test images answered right, is the one number everyone quotes, but it
hides where the mistakes are. A confusion matrix shows them: cell [t, p] counts the images of
digit t that the model called p. The diagonal holds the right answers; every other cell is a
kind of mistake (4 read as 9, 7 read as 2, ...), and the largest of them tells you what to look
at next.

Everything here is plain numpy on predictions already made: fast, exact, and the same whatever
framework made the predictions.

Write the four functions below, then run `mnist-lab exercises check 6`.

Course page: docs/exercises/06-evaluate.md
"""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_CLASSES = 10  # the digits 0 to 9


def predict_digits(model: Any, images: np.ndarray) -> np.ndarray:
    """The digit the model finds most likely for each image: an int array (N,)."""
    # TODO: get the probabilities with model.predict(images, verbose=0) and take the most likely digit of each row
    # SOLUTION
    probabilities = model.predict(images, verbose=0)
    return np.argmax(probabilities, axis=1)
    # END SOLUTION


def accuracy(labels: np.ndarray, predictions: np.ndarray) -> float:
    """The share of predictions equal to their label, as a Python float in [0, 1]."""
    # TODO: compare labels and predictions element by element and return the mean as a float
    # SOLUTION
    return float(np.mean(np.asarray(labels) == np.asarray(predictions)))
    # END SOLUTION


def confusion_matrix(
    labels: np.ndarray, predictions: np.ndarray, num_classes: int = NUM_CLASSES
) -> np.ndarray:
    """Count each (true, predicted) pair: an int array (num_classes, num_classes), rows = true."""
    # TODO: start from a zero int matrix and add 1 at [label, prediction] for every pair (mind repeated pairs)
    # SOLUTION
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    # np.add.at adds once per pair, even when a pair repeats (confusion[t, p] += 1 would not).
    np.add.at(confusion, (np.asarray(labels), np.asarray(predictions)), 1)
    return confusion
    # END SOLUTION


def most_confused(confusion: np.ndarray) -> tuple[int, int]:
    """The (true digit, predicted digit) pair, of two different digits, with the most mistakes."""
    # TODO: set the diagonal (right answers) aside and return the row and column of the largest count as ints
    # SOLUTION
    mistakes = np.array(confusion, copy=True)
    np.fill_diagonal(mistakes, 0)
    true, predicted = np.unravel_index(np.argmax(mistakes), mistakes.shape)
    return int(true), int(predicted)
    # END SOLUTION
