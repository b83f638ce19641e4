"""Exercise 20: backpropagation through a small network, end to end.

The network is Dense -> ReLU -> Dense -> softmax cross-entropy, the head of every classifier of
this course:

    h = x @ w1 + b1          (N, H)   x: a batch (N, D); w1: (D, H), Keras's kernel shape
    a = max(h, 0)            (N, H)
    z = a @ w2 + b2          (N, K)   the logits; w2: (H, K)
    loss = mean over the batch of -log_softmax(z)[n, labels[n]]

The forward pass computes these in order and keeps h and a; the backward pass runs the chain
rule in the reverse order, each step one you have written:

    dz = (softmax(z) - one_hot(labels)) / N          exercise 11's gradient
    dw2, db2, da = the dense layer's backward pass   exercise 19
    dh = da where h > 0, else 0                      exercise 19's ReLU
    dw1, db1 = the dense layer's backward pass again (dx is not needed: x is the data)

The loss is the batch mean, as Keras's, so dz holds the division by N and no other step divides
again. It must be finite for logits as large as 1e4: compute it with a log-softmax from the
logits (exercise 11), never as the log of a softmax, which underflows to log(0) = -inf.

Write the chain rule here in numpy (copy your functions of exercises 11 and 19 into this file if
you like), then run `mnist-lab exercises check 20`. The tests compare the loss and the four
gradients with tf.GradientTape on Keras's loss, in float64 (relative error at most 1e-6) and in
float32, on networks that hypothesis draws.

Course page: docs/exercises/20-backprop.md
"""

from __future__ import annotations

import numpy as np


def mlp_loss_and_gradients(
    x: np.ndarray,
    labels: np.ndarray,
    w1: np.ndarray,
    b1: np.ndarray,
    w2: np.ndarray,
    b2: np.ndarray,
) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(loss, (dw1, db1, dw2, db2)) of Dense -> ReLU -> Dense -> softmax cross-entropy.

    `x` is (N, D), `labels` N integers in 0..K-1, `w1` (D, H), `b1` (H,), `w2` (H, K), `b2`
    (K,). The loss is the mean over the batch, as a float; the gradients have the weights'
    shapes and x's dtype. No argument is changed.
    """
    x, labels = np.asarray(x), np.asarray(labels)
    # TODO: the forward pass: h = x @ w1 + b1, a = relu(h), and the logits z = a @ w2 + b2
    # SOLUTION
    h = x @ w1.astype(x.dtype) + b1.astype(x.dtype)
    a = np.maximum(h, 0)
    z = a @ w2.astype(x.dtype) + b2.astype(x.dtype)
    # END SOLUTION
    # TODO: the loss: the batch mean of minus the log-softmax of z at each label (log-sum-exp shifted by each row's maximum)
    # SOLUTION
    count = len(labels)
    shifted = z - z.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-np.mean(log_probabilities[np.arange(count), labels]))
    # END SOLUTION
    # TODO: the backward pass: dz = (softmax(z) - one_hot) / N, then the second dense layer, the ReLU and the first dense layer in reverse order
    # SOLUTION
    dz = np.exp(log_probabilities)
    dz[np.arange(count), labels] -= 1
    dz /= count
    dw2, db2 = a.T @ dz, dz.sum(axis=0)
    da = dz @ w2.T.astype(x.dtype)
    dh = np.where(h > 0, da, 0).astype(x.dtype)
    dw1, db1 = x.T @ dh, dh.sum(axis=0)
    return loss, (dw1, db1, dw2, db2)
    # END SOLUTION
