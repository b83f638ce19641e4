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
    raise NotImplementedError('Exercise 22: for "same", pad with -inf as the forward pass did (the smaller half before) and remember the top and left padding. Run \'mnist-lab exercises hint 22\' for a hint.')

    # TODO: find, for each window, the offset of its first maximum in row-major order (a later pixel takes over only when it is strictly larger)
    raise NotImplementedError("Exercise 22: find, for each window, the offset of its first maximum in row-major order (a later pixel takes over only when it is strictly larger). Run 'mnist-lab exercises hint 22' for a hint.")

    # TODO: send each window's dout to its winner, adding where windows overlap, then drop the padding
    raise NotImplementedError("Exercise 22: send each window's dout to its winner, adding where windows overlap, then drop the padding. Run 'mnist-lab exercises hint 22' for a hint.")
