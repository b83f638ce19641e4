"""Exercise 11: softmax and cross-entropy, by hand.

The reference CNN ends in a Dense layer of 10 numbers per image, the logits, and a softmax turns
them into 10 probabilities: exp(z) divided by the sum of exp over the row. Training then lowers
the cross-entropy, -log of the probability given to the right digit, averaged over the batch:
0 when the model is sure and right, ln 10 = 2.30 when it guesses uniformly, large when it is
sure and wrong.

Two numerical traps wait here. exp(1000) is inf in floating point, so a softmax written as
np.exp(z) / np.exp(z).sum() turns a confident row into nan. Subtracting each row's maximum first
changes nothing mathematically (the factor exp(-max) cancels) and keeps every exponent <= 0.
And log(0) is -inf: a probability that underflows to 0 (exp(-1e4) does) has no logarithm. Given
probabilities, Keras clips them to [1e-7, 1 - 1e-7] before the log, so one image the model is
sure about and wrong on costs -log(1e-7) = 16.1, not infinity; but past the clip the loss is
flat, and that image teaches the network nothing.

The stable way never forms the probabilities at all. log softmax(z) = z - log(sum(exp(z))), and
the log-sum-exp is computed shifted: m + log(sum(exp(z - m))) with m the row's maximum. That is
finite for any finite logits: the row [1e4, 0, -1e4] gives [0, -1e4, -2e4]. The cross-entropy
from the logits, -log_softmax(z)[label], needs no clip: that sure and wrong image costs what it
should (1e4 or 2e4), and its gradient with respect to the logits is exactly softmax minus the
one-hot label, divided by the batch size: never 0 for a wrong answer. That is why Keras works
from logits: `from_logits=True` says the outputs are logits, and a model that ends in a softmax
layer has its loss computed from the logits behind that softmax too (TensorFlow backend).

The tests compare your functions with Keras's softmax and cross-entropy, with TensorFlow's
log-softmax and with the gradient TensorFlow computes by automatic differentiation
(tf.GradientTape), on batches that hypothesis draws, logits as large as 10,000 included.

Write the five functions below in numpy, then run `mnist-lab exercises check 11`.

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


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Each row of the 2-D `logits` (N, K) as log-probabilities (N, K): z - log(sum(exp(z))).

    Computed from the logits with the log-sum-exp shifted by each row's maximum, never as
    np.log(softmax(z)): rows of 1e4 give finite values ([1e4, 0, -1e4] gives [0, -1e4, -2e4]).
    The array given is left unchanged.
    """
    # TODO: subtract each row's maximum, then subtract the log of the sum of exp of that shifted row
    raise NotImplementedError("Exercise 11: subtract each row's maximum, then subtract the log of the sum of exp of that shifted row. Run 'mnist-lab exercises hint 11' for a hint.")


def cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the batch of -log(probabilities[i, labels[i]]), as a float.

    `probabilities` is (N, K), rows of probabilities; `labels` holds N integers in 0..K-1. As
    in Keras, the probabilities are clipped to [1e-7, 1 - 1e-7] before the log.
    """
    # TODO: clip the probabilities, pick each row's probability of its label, and return the mean of -log
    raise NotImplementedError("Exercise 11: clip the probabilities, pick each row's probability of its label, and return the mean of -log. Run 'mnist-lab exercises hint 11' for a hint.")


def cross_entropy_from_logits(logits: np.ndarray, labels: np.ndarray) -> float:
    """The mean over the batch of -log_softmax(logits)[i, labels[i]], as a float.

    The loss Keras computes with from_logits=True. No clip: where cross_entropy(softmax(logits))
    stops at -log(1e-7) = 16.1, this gives the true value (logits [0, 1e4] and label 0 cost 1e4).
    """
    # TODO: pick each row's log_softmax at its label and return the mean of minus those
    raise NotImplementedError("Exercise 11: pick each row's log_softmax at its label and return the mean of minus those. Run 'mnist-lab exercises hint 11' for a hint.")


def softmax_cross_entropy_gradient(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The gradient (N, K) of cross_entropy_from_logits(logits, labels) with respect to logits.

    It is (softmax(logits) - one_hot(labels)) / N: each image pulls its own logits, and the
    mean over the batch divides every row by N. It is also the gradient of the clipped
    cross_entropy(softmax(logits), labels) wherever the label's probability lies inside
    [1e-7, 1 - 1e-7]; outside, the clipped loss is flat and its gradient 0.
    """
    # TODO: subtract the one-hot labels from softmax(logits) and divide by the batch size
    raise NotImplementedError("Exercise 11: subtract the one-hot labels from softmax(logits) and divide by the batch size. Run 'mnist-lab exercises hint 11' for a hint.")
