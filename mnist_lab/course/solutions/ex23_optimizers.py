"""Exercise 23: SGD, momentum and Adam, one step at a time, as Keras writes them.

Backpropagation gives the gradient g of the loss with respect to every weight w; an optimizer
decides how far to move w with it. Three answers, each a few lines:

- SGD: w = w - lr * g. A step against the slope, as long as the slope is steep. On a loss
  shaped like a long narrow valley it zigzags across the steep walls and crawls along the floor.
- Momentum: a velocity that remembers past steps. Keras writes it
      velocity = momentum * velocity - lr * g
      w = w + velocity
  Steps in a steady direction add up (to lr / (1 - momentum) per step, ten times lr at 0.9);
  steps that change sign cancel.
- Adam: each weight gets its own step size. It keeps a moving mean m of the gradients and a
  moving mean v of their squares, and divides one by the square root of the other, so every
  weight moves by about lr whatever the scale of its gradient. m and v start at 0 and are
  biased towards 0 for the first steps; Adam corrects that. Keras folds the correction into the
  rate and adds epsilon to sqrt(v) (t counts the steps from 1):
      m = m + (1 - beta1) * (g - m)
      v = v + (1 - beta2) * (g**2 - v)
      rate = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
      w = w - rate * m / (sqrt(v) + epsilon)

The tests run keras.optimizers.SGD and Adam on the same weights and gradients for several steps
and compare every step with yours. Each function returns new arrays of w's dtype and leaves its
arguments unchanged (the caller keeps the old w, m and v).

Write the three functions below in numpy, then run `mnist-lab exercises check 23`.

Course page: docs/exercises/23-optimizers.md
"""

from __future__ import annotations

import numpy as np


def sgd_step(w: np.ndarray, g: np.ndarray, lr: float) -> np.ndarray:
    """The weights after one step of plain SGD: w - lr * g, a new array of w's dtype."""
    # TODO: move w against its gradient by lr times the gradient, in a new array
    # SOLUTION
    w = np.asarray(w)
    return (w - lr * np.asarray(g)).astype(w.dtype)
    # END SOLUTION


def momentum_step(
    w: np.ndarray, g: np.ndarray, velocity: np.ndarray, lr: float, momentum: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """(w, velocity) after one step of SGD with momentum in Keras's convention:
    velocity = momentum * velocity - lr * g, then w = w + velocity. New arrays of w's dtype."""
    # TODO: update the velocity (momentum times the old one, minus lr times the gradient), then add it to w
    # SOLUTION
    w = np.asarray(w)
    velocity = (momentum * np.asarray(velocity) - lr * np.asarray(g)).astype(w.dtype)
    return (w + velocity).astype(w.dtype), velocity
    # END SOLUTION


def adam_step(
    w: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    t: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(w, m, v) after Adam's step number t (from 1) in Keras's form: the bias correction
    folded into the rate, epsilon added to sqrt(v). New arrays of w's dtype."""
    # TODO: update the moving means m and v, fold the bias correction of step t into the rate, and move w by rate * m / (sqrt(v) + epsilon)
    # SOLUTION
    w, g = np.asarray(w), np.asarray(g)
    dtype = w.dtype
    m = (np.asarray(m) + (1 - beta1) * (g - np.asarray(m))).astype(dtype)
    v = (np.asarray(v) + (1 - beta2) * (g * g - np.asarray(v))).astype(dtype)
    rate = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)  # the bias correction of step t
    return (w - rate * m / (np.sqrt(v) + epsilon)).astype(dtype), m, v
    # END SOLUTION
