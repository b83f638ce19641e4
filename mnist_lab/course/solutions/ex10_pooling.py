"""Exercise 10: max pooling by hand, in numpy.

After each convolution the reference CNN keeps, in every 2x2 patch of each feature map, only the
strongest response: the maps get four times smaller and the next convolution sees a larger part
of the digit. Pooling is only partly shift-invariant: a convolution moves its feature maps with
the digit (it is translation-equivariant), and after a one-pixel shift a window keeps its
maximum only when the strongest response stays inside it; in many windows it moves to the
neighbour, and the pooled map changes. Here you write that layer yourself, with the exact
semantics of `keras.layers.MaxPooling2D`:

- images are float32 of shape (N, H, W, C); each channel is pooled on its own, so the output is
  (N, H_out, W_out, C), of the same dtype;
- a `pool_size` x `pool_size` window moves `stride` pixels at a time, down and across; the stride
  defaults to the pool size (windows side by side, not overlapping);
- padding "valid" keeps only windows that fit inside the image, so H_out is
  (H - pool_size) // stride + 1, rounded down: the last rows and columns are dropped when the
  windows do not reach them. Padding "same" gives ceil(H / stride), with the padding split as
  for a convolution (the smaller half before), but the padding never wins: a window is the
  maximum of the image pixels it covers, even when they are all negative.

The tests compare `max_pool2d` with a Keras MaxPooling2D on hand-computed examples and on
shapes, pool sizes, strides and paddings drawn at random.

Write the parts marked TODO below, then run `mnist-lab exercises check 10`.

Course page: docs/exercises/10-pooling.md
"""

from __future__ import annotations

import numpy as np


def max_pool2d(
    images: np.ndarray, pool_size: int = 2, stride: int | None = None, padding: str = "valid"
) -> np.ndarray:
    """What `keras.layers.MaxPooling2D` computes: (N, H, W, C) -> (N, H_out, W_out, C)."""
    images = np.asarray(images)
    _, height, width, _ = images.shape

    # TODO: choose the stride (the pool size when none is given) and the output's height and width
    # SOLUTION
    stride = pool_size if stride is None else stride
    if padding == "valid":
        out_height = (height - pool_size) // stride + 1
        out_width = (width - pool_size) // stride + 1
    else:
        out_height, out_width = int(np.ceil(height / stride)), int(np.ceil(width / stride))
    # END SOLUTION

    # TODO: for "same", pad with -inf (a value every pixel beats): the smaller half before, the larger after
    # SOLUTION
    if padding == "same":
        pad_rows = max((out_height - 1) * stride + pool_size - height, 0)
        pad_cols = max((out_width - 1) * stride + pool_size - width, 0)
        top, left = pad_rows // 2, pad_cols // 2
        images = np.pad(
            images,
            ((0, 0), (top, pad_rows - top), (left, pad_cols - left), (0, 0)),
            constant_values=-np.inf,
        )
    # END SOLUTION

    # TODO: for each offset (i, j) in the window, keep the larger of the output so far and the pixels at that offset
    # SOLUTION
    shape = (len(images), out_height, out_width, images.shape[3])
    output = np.full(shape, -np.inf, dtype=images.dtype)
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
            output = np.maximum(output, seen)
    return output
    # END SOLUTION
