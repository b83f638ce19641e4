"""Exercise 17: batch normalization, by hand.

A BatchNormalization layer standardizes each channel (the last axis) of its input: it subtracts
the channel's mean and divides by its standard deviation, then scales by a learned gamma and
shifts by a learned beta, so y = gamma * (x - mean) / sqrt(variance + epsilon) + beta. The
statistics are over every axis but the last: for a batch of images (N, H, W, C), over the N
images and all H x W positions, one mean and one variance per channel.

It has two modes. While training, it uses the statistics of the batch itself (the variance
divided by the count, not count - 1, as Keras computes it), and it moves two running averages
one step toward them: moving = momentum * moving + (1 - momentum) * batch. At test time it
uses those moving averages instead, so a prediction does not depend on the other images in
the batch. Keras starts them at mean 0 and variance 1, with momentum 0.99 and epsilon 1e-3.

The moving averages are slow on purpose, and that has a cost. After k steps they still carry
momentum**k of their start: 0.99**29 = 0.75 after a 29-step run. The zoo's `bn-cnn` uses
momentum 0.8 (mnist_lab/models/zoo/blocks.py): its first layers' outputs vary about 200 times less
than the starting variance of 1, and with 0.99 a short run scores near chance at test time
although it trained fine. The last two functions measure how fast the averages forget.

The tests compare your functions with keras.layers.BatchNormalization, holding the same gamma,
beta and moving statistics, on 2-D (N, F) and 4-D (N, H, W, C) batches that hypothesis draws,
in both modes, and with Keras running the steps the last two functions predict.

Write the five functions below in numpy, then run `mnist-lab exercises check 17`.

Course page: docs/exercises/17-batch-norm.md
"""

from __future__ import annotations

import numpy as np

MOMENTUM = 0.99  # Keras's default momentum of the moving averages
EPSILON = 1e-3  # Keras's default epsilon, added to the variance under the square root


def batch_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and the variance of each channel of `x`, over every axis but the last.

    For x of shape (N, F) both have shape (F,); for (N, H, W, C), shape (C,). The variance
    divides by the number of values averaged (numpy's default), as Keras does.
    """
    # TODO: average over every axis but the last, for the mean and for the variance (divided by the count, not count - 1)
    # SOLUTION
    x = np.asarray(x)
    axes = tuple(range(x.ndim - 1))  # (0,) for (N, F); (0, 1, 2) for (N, H, W, C)
    return x.mean(axis=axes), x.var(axis=axes)
    # END SOLUTION


def batch_norm_inference(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    moving_mean: np.ndarray,
    moving_var: np.ndarray,
    epsilon: float = EPSILON,
) -> np.ndarray:
    """Inference mode: gamma * (x - moving_mean) / sqrt(moving_var + epsilon) + beta.

    `gamma`, `beta`, `moving_mean` and `moving_var` hold one value per channel (the last axis
    of x). Returns an array of x's shape.
    """
    # TODO: standardize x with the given mean and variance (epsilon under the square root), then scale by gamma and shift by beta
    # SOLUTION
    return gamma * (np.asarray(x) - moving_mean) / np.sqrt(moving_var + epsilon) + beta
    # END SOLUTION


def batch_norm_train(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    moving_mean: np.ndarray,
    moving_var: np.ndarray,
    momentum: float = MOMENTUM,
    epsilon: float = EPSILON,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training mode: (y, new_moving_mean, new_moving_var).

    y is x normalized with the batch's own statistics; each moving average takes one step
    toward the batch's statistic: momentum * moving + (1 - momentum) * batch. The arrays
    given are left unchanged.
    """
    # TODO: normalize x with its batch statistics, and move each moving average one step toward them
    # SOLUTION
    mean, variance = batch_statistics(x)
    y = batch_norm_inference(x, gamma, beta, mean, variance, epsilon)
    new_mean = momentum * moving_mean + (1 - momentum) * mean
    new_variance = momentum * moving_var + (1 - momentum) * variance
    return y, new_mean, new_variance
    # END SOLUTION


def moving_average_after(start: float, batch_value: float, momentum: float, steps: int) -> float:
    """The moving average after `steps` updates from `start`, every batch giving `batch_value`."""
    # TODO: apply the update `steps` times (or find the closed form: what weight does the start keep?)
    # SOLUTION
    # Each step keeps `momentum` of the gap to the batch: after k steps, momentum**k of it.
    return batch_value + (start - batch_value) * momentum**steps
    # END SOLUTION


def steps_to_forget(momentum: float, fraction: float) -> int:
    """The fewest steps k after which the start's weight, momentum**k, is at most `fraction`.

    After that many steps the moving average is within `fraction` of the way from the batch
    statistic back to where it started.
    """
    # TODO: count the steps until momentum**k falls to fraction or below
    # SOLUTION
    steps, weight = 0, 1.0
    while weight > fraction:
        weight *= momentum
        steps += 1
    return steps
    # END SOLUTION
