"""Exercise 19: the backward pass of a dense layer and of ReLU.

A dense layer computes y = x @ w + b: x is a batch (N, D), the kernel w has Keras's shape
(D, M), the bias b has M numbers, and y is (N, M). Backpropagation hands the layer dout, the
gradient of the loss with respect to y, of y's shape (N, M); the layer answers with the
gradients of the loss with respect to its input and its weights, by the chain rule:

    dx = dout @ w.T       (N, D): each input feeds every output through its row of w
    dw = x.T @ dout       (D, M): summed over the batch, as the loss sums its images
    db = dout.sum(axis=0) (M,):   the bias is added to every image, so every image's pull adds

Each shape says which product it is: there is one way to multiply (N, M) and (D, M) into
(N, D). ReLU, max(x, 0), lets the gradient through where x > 0 and stops it elsewhere; at
x = 0 exactly, where the slope is undefined, TensorFlow takes 0, and so do we.

The tests compare your gradients with tf.GradientTape in float64 (relative error at most 1e-6)
on shapes that hypothesis draws, and in float32 with a looser tolerance. Every function returns
arrays of dout's dtype and leaves its arguments unchanged.

Write the two functions below in numpy, then run `mnist-lab exercises check 19`.

Course page: docs/exercises/19-dense-backward.md
"""

from __future__ import annotations

import numpy as np


def dense_backward(
    dout: np.ndarray, x: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dw, db): the gradients of the loss with respect to x (N, D), w (D, M) and b (M,)
    of y = x @ w + b, given dout (N, M), the gradient with respect to y. All of dout's dtype."""
    # TODO: multiply dout by the transposed kernel for dx, the transposed input by dout for dw, and sum dout over the batch for db
    raise NotImplementedError("Exercise 19: multiply dout by the transposed kernel for dx, the transposed input by dout for dw, and sum dout over the batch for db. Run 'mnist-lab exercises hint 19' for a hint.")


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The gradient with respect to x of relu(x) = max(x, 0), given dout of x's shape: dout
    where x > 0, and 0 elsewhere, x = 0 included (as TensorFlow). Of dout's dtype."""
    # TODO: keep dout where x > 0 and put 0 everywhere else
    raise NotImplementedError("Exercise 19: keep dout where x > 0 and put 0 everywhere else. Run 'mnist-lab exercises hint 19' for a hint.")
