"""Exercise 9: a convolution by hand, in numpy.

Every Conv2D layer of the course slides small kernels over its input. At each position it
multiplies the kernel with the patch of image under it, number by number, and adds everything
up, over the kernel's rows, columns and input channels, plus one bias per filter. Here you write
that layer yourself, with the exact semantics of `keras.layers.Conv2D` (no activation):

- images are float32 of shape (N, H, W, C); kernels (kh, kw, C, F), one kh x kw x C kernel per
  filter; bias (F,); the output is float32 of shape (N, H_out, W_out, F);
- the kernel slides without being flipped: deep-learning "convolution" is a cross-correlation;
- `stride` is how many pixels the kernel moves between two positions, down and across;
- padding "valid" uses only positions where the whole kernel fits inside the image; "same" adds
  rows and columns of zeros around the image so that the output has ceil(H / stride) rows and
  ceil(W / stride) columns. When the padding needed is odd, TensorFlow puts the smaller half
  before (top, left) and the larger half after (bottom, right).

`conv_output_size` gives the output's height (or width) for one side of the image: H_out is
conv_output_size(H, kh, stride, padding). The tests compare both functions with a Keras Conv2D
holding the same weights, on hand-computed examples and on shapes drawn at random (rectangular
images and kernels, 1 to 4 channels and filters, strides 1 to 3, both paddings).

Write the parts marked TODO below, then run `mnist-lab exercises check 9`.

Course page: docs/exercises/09-convolution.md
"""

from __future__ import annotations

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: str = "valid") -> int:
    """The number of positions of a `kernel`-wide window along a side of `size` pixels."""
    # TODO: return the output size: count the positions that fit for "valid", ceil(size / stride) for "same"
    raise NotImplementedError('Exercise 9: return the output size: count the positions that fit for "valid", ceil(size / stride) for "same". Run \'mnist-lab exercises hint 9\' for a hint.')


def conv2d(
    images: np.ndarray,
    kernels: np.ndarray,
    bias: np.ndarray,
    stride: int = 1,
    padding: str = "valid",
) -> np.ndarray:
    """What `keras.layers.Conv2D` computes (no activation): (N, H, W, C) -> (N, H_out, W_out, F)."""
    images = np.asarray(images, dtype=np.float32)
    kernels = np.asarray(kernels, dtype=np.float32)
    _, height, width, _ = images.shape
    kernel_height, kernel_width, _, filters = kernels.shape

    # TODO: compute the output's height and width, and for "same" pad the images with zeros: the smaller half of the padding before, the larger after
    raise NotImplementedError('Exercise 9: compute the output\'s height and width, and for "same" pad the images with zeros: the smaller half of the padding before, the larger after. Run \'mnist-lab exercises hint 9\' for a hint.')

    # TODO: for each kernel offset (i, j), add the pixels it meets at every output position times kernels[i, j], then the bias
    raise NotImplementedError("Exercise 9: for each kernel offset (i, j), add the pixels it meets at every output position times kernels[i, j], then the bias. Run 'mnist-lab exercises hint 9' for a hint.")
