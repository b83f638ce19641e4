"""Exercise 22: the backward pass of max pooling.

Exercise 10's max pooling keeps, in each pool_size x pool_size window of each channel, the
largest pixel. Its output moved with that one pixel only, at the rate 1, and not at all with the
others: so the backward pass sends each window's dout to the pixel that won the window, and 0 to
every other pixel. Three details decide whether it equals TensorFlow's:

- ties: in a window of equal pixels (MNIST's background is 0 almost everywhere, and ReLU's
  outputs are often 0 too) TensorFlow sends the whole dout to ONE pixel, the first maximum in
  row-major order within the window (top row first, left to right), never to every tied pixel
  and never shared between them;
- overlapping windows (a stride smaller than the pool size): a pixel that won several windows
  receives the sum of their dout, added up, never overwritten;
- padding: "valid" drops the rows and columns the windows do not reach (their gradient is 0);
  "same" pads as exercise 10 did (the smaller half before), with a value every pixel beats, so
  the padding never wins, and drops its share at the end.

The tests compare your gradient with tf.GradientTape on tf.nn.max_pool2d in float64 (relative
error at most 1e-6) on hand examples and on shapes that hypothesis draws, with many tied pixels
(square pools of 1 to 4, strides 1 to 3, 1 to 4 channels, both paddings), on a real MNIST digit,
and in float32. The function returns an array of dout's dtype and leaves its arguments unchanged.

Write the parts marked TODO below in numpy, then run `mnist-lab exercises check 22`.

Course page: docs/exercises/22-pool-backward.md
"""

from __future__ import annotations

import numpy as np


def max_pool2d_backward(
    dout: np.ndarray,
    images: np.ndarray,
    pool_size: int = 2,
    stride: int | None = None,
    padding: str = "valid",
) -> np.ndarray:
    """dimages (N, H, W, C): the gradient of the loss with respect to the images of exercise
    10's max_pool2d, given dout (N, H_out, W_out, C), the gradient with respect to its output.
    Of dout's dtype."""
    dout = np.asarray(dout)
    images = np.asarray(images)
    stride = pool_size if stride is None else stride
    _, height, width, _ = images.shape
    _, out_height, out_width, _ = dout.shape

    # TODO: for "same", pad with -inf as the forward pass did (the smaller half before) and remember the top and left padding
    # SOLUTION
    top = left = 0
    if padding == "same":
        pad_rows = max((out_height - 1) * stride + pool_size - height, 0)
        pad_cols = max((out_width - 1) * stride + pool_size - width, 0)
        top, left = pad_rows // 2, pad_cols // 2
        images = np.pad(
            images.astype(np.float64),
            ((0, 0), (top, pad_rows - top), (left, pad_cols - left), (0, 0)),
            constant_values=-np.inf,
        )
    # END SOLUTION

    # TODO: find, for each window, the offset of its first maximum in row-major order (a later pixel takes over only when it is strictly larger)
    # SOLUTION
    best = np.full(dout.shape, -np.inf)
    winner = np.zeros(dout.shape, dtype=int)  # offset i * pool_size + j of the window's winner
    for i in range(pool_size):
        for j in range(pool_size):
            # Offset (i, j) of the window at output position (y, x) is pixel
            # (y * stride + i, x * stride + j): one strided slice covers every position.
            seen = images[
                :,
                i : i + (out_height - 1) * stride + 1 : stride,
                j : j + (out_width - 1) * stride + 1 : stride,
                :,
            ]
            larger = seen > best
            best = np.where(larger, seen, best)
            winner = np.where(larger, i * pool_size + j, winner)
    # END SOLUTION

    # TODO: send each window's dout to its winner, adding where windows overlap, then drop the padding
    # SOLUTION
    dpadded = np.zeros(images.shape, dtype=dout.dtype)
    for i in range(pool_size):
        for j in range(pool_size):
            rows = slice(i, i + (out_height - 1) * stride + 1, stride)
            cols = slice(j, j + (out_width - 1) * stride + 1, stride)
            dpadded[:, rows, cols, :] += np.where(winner == i * pool_size + j, dout, 0)
    return dpadded[:, top : top + height, left : left + width, :]
    # END SOLUTION
