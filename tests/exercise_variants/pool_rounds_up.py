"""A wrong exercise 10 a student could write: the output size of "valid" is rounded up.

Each window is cut out with a slice and maxed; numpy cuts a slice short at the image's edge
instead of failing, so the extra last window quietly holds what is left of the image. Keras
rounds (size - pool_size) / stride down: the exercise's tests must say "rounded up".
"""

import math

import numpy as np


def max_pool2d(images, pool_size=2, stride=None, padding="valid"):
    stride = stride or pool_size
    count, height, width, channels = images.shape
    if padding == "valid":
        out_height = math.ceil((height - pool_size) / stride) + 1  # the mistake: ceil
        out_width = math.ceil((width - pool_size) / stride) + 1
    else:
        out_height, out_width = math.ceil(height / stride), math.ceil(width / stride)
        rows = max((out_height - 1) * stride + pool_size - height, 0)
        cols = max((out_width - 1) * stride + pool_size - width, 0)
        pads = ((0, 0), (rows // 2, rows - rows // 2), (cols // 2, cols - cols // 2), (0, 0))
        images = np.pad(images, pads, constant_values=-np.inf)
    output = np.empty((count, out_height, out_width, channels), dtype=images.dtype)
    for y in range(out_height):
        for x in range(out_width):
            window = images[
                :, y * stride : y * stride + pool_size, x * stride : x * stride + pool_size
            ]
            output[:, y, x] = window.max(axis=(1, 2))
    return output
