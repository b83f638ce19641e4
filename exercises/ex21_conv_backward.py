"""Exercise 21: the backward pass of a convolution.

Exercise 9's convolution computes, for every image n, output position (y, x) and filter f,

    out[n, y, x, f] = sum over i, j, c of padded[n, y * stride + i, x * stride + j, c]
                                           * kernels[i, j, c, f]  + bias[f]

with images (N, H, W, C), kernels (kh, kw, C, F), no kernel flip (Keras's convolution is a
cross-correlation) and, for "same", TensorFlow's zeros around the image, the smaller half
before. Backpropagation hands the layer dout, of the output's shape (N, H_out, W_out, F); the
layer answers with the gradients of the loss with respect to its input, its kernels and its
bias. Each is a sum of dout over everything that number touched:

- dkernels[i, j, c, f] sums, over the batch and every output position, the pixel that kernel
  offset (i, j) met there times dout: the patches seen at offset (i, j) against dout;
- dimages: every output position sends dout back to the pixels under its window, each times the
  kernel number that multiplied it. A pixel under several windows (stride smaller than the
  kernel) adds up their shares; a pixel no window reached ("valid" with a stride that skips the
  last rows) gets 0; the padding's share is dropped, it is not part of the image. Written as a
  whole, this is a convolution of dout (spread out by the stride) with the kernel turned by
  180 degrees: the backward pass of a cross-correlation is a true convolution;
- dbias[f] sums dout[..., f] everywhere: the bias is added at every position of every image.

The tests compare your gradients with tf.GradientTape on tf.nn.conv2d in float64 (relative
error at most 1e-6) on hand examples and on shapes that hypothesis draws (rectangular images and
kernels, 1 to 4 channels, strides 1 to 3, both paddings), and in float32 with a looser
tolerance. The function returns arrays of dout's dtype and leaves its arguments unchanged.

Write the parts marked TODO below in numpy, then run `mnist-lab exercises check 21`.

Course page: docs/exercises/21-conv-backward.md
"""

from __future__ import annotations

import numpy as np


def conv2d_backward(
    dout: np.ndarray,
    images: np.ndarray,
    kernels: np.ndarray,
    stride: int = 1,
    padding: str = "valid",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dimages, dkernels, dbias): the gradients of the loss with respect to the images
    (N, H, W, C), the kernels (kh, kw, C, F) and the bias (F,) of exercise 9's conv2d, given
    dout (N, H_out, W_out, F), the gradient with respect to its output. All of dout's dtype."""
    dout = np.asarray(dout)
    images = np.asarray(images).astype(dout.dtype)
    kernels = np.asarray(kernels).astype(dout.dtype)
    _, height, width, _ = images.shape
    kernel_height, kernel_width, _, _ = kernels.shape
    _, out_height, out_width, _ = dout.shape

    # TODO: for "same", pad the images with zeros as the forward pass did (the smaller half before) and remember the top and left padding
    raise NotImplementedError('Exercise 21: for "same", pad the images with zeros as the forward pass did (the smaller half before) and remember the top and left padding. Run \'mnist-lab exercises hint 21\' for a hint.')

    # TODO: for each kernel offset (i, j), take the pixels it met at every output position: dkernels[i, j] sums them times dout, and dout times kernels[i, j] goes back to those pixels (added, never overwritten); then drop the padding and sum dout for dbias
    raise NotImplementedError("Exercise 21: for each kernel offset (i, j), take the pixels it met at every output position: dkernels[i, j] sums them times dout, and dout times kernels[i, j] goes back to those pixels (added, never overwritten); then drop the padding and sum dout for dbias. Run 'mnist-lab exercises hint 21' for a hint.")
