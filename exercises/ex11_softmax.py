"""Exercise 11: softmax and cross-entropy, by hand.

The reference CNN ends in a Dense layer of 10 numbers per image, the logits, and a softmax turns
them into 10 probabilities: exp(z) divided by the sum of exp over the row. Training then lowers
the cross-entropy, -log of the probability given to the right digit, averaged over the batch:
0 when the model is sure and right, ln 10 = 2.30 when it guesses uniformly, large when it is
sure and wrong. Its gradient with respect to the logits is remarkably simple: softmax minus the
one-hot label, divided by the batch size. That is the signal every weight of the network learns
from.

Two numerical traps wait here. exp(1000) is inf in floating point, so a softmax written as
np.exp(z) / np.exp(z).sum() turns a confident row into nan. Subtracting each row's maximum first
changes nothing mathematically (the factor exp(-max) cancels) and keeps every exponent <= 0.
And log(0) is -inf: Keras clips the probabilities to [1e-7, 1 - 1e-7] before the log, so one
image the model is sure about and wrong on costs -log(1e-7) = 16.1, not infinity.

The tests compare your functions with Keras's softmax and cross-entropy and with the gradient
TensorFlow computes by automatic differentiation (tf.GradientTape), on batches that hypothesis
draws, including logits as large as 10,000.

Write the three functions below in numpy, then run `mnist-lab exercises check 11`.

Course page: docs/exercises/11-softmax.md
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # Keras's backend.epsilon(): probabilities are clipped to [EPSILON, 1 - EPSILON]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Each row of the 2-D `logits` (N, K) as probabilities (N, K): exp(z) / sum(exp(z)).

    Stable for any finite logits: rows of 1e4 give finite probabilities that sum to 1. The
    array given is left unchanged.
    """
    # TODO: subtract each row's maximum, exponentiate, and divide each row by its own sum
    raise NotImplementedError("Exercise 11: subtract each row's maximum, exponentiate, and divide each row by its own sum. Run 'mnist-lab exercises hint 11' for a hint.")


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the batch of -log(probabilities[i, labels[i]]), as a float.

    `probabilities` is (N, K), rows of probabilities; `labels` holds N integers in 0..K-1. As
    in Keras, the probabilities are clipped to [1e-7, 1 - 1e-7] before the log.
    """
    # TODO: clip the probabilities, pick each row's probability of its label, and return the mean of -log
    raise NotImplementedError("Exercise 11: clip the probabilities, pick each row's probability of its label, and return the mean of -log. Run 'mnist-lab exercises hint 11' for a hint.")


def softmax_cross_entropy_gradient(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The gradient (N, K) of cross_entropy(softmax(logits), labels) with respect to the logits.

    It is (softmax(logits) - one_hot(labels)) / N: each image pulls its own logits, and the
    mean over the batch divides every row by N.
    """
    # TODO: subtract the one-hot labels from softmax(logits) and divide by the batch size
    raise NotImplementedError("Exercise 11: subtract the one-hot labels from softmax(logits) and divide by the batch size. Run 'mnist-lab exercises hint 11' for a hint.")
