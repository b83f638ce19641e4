"""An independent correct exercise 10, written unlike the solution: every window at once.

The solution takes the maximum offset by offset; this one cuts every window out with
`sliding_window_view`, keeps every stride-th one and takes the maximum over the window's axes.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def max_pool2d(images, pool_size=2, stride=None, padding="valid"):
    images = np.asarray(images)
    stride = stride or pool_size
    if padding == "same":
        pads = []
        for size in images.shape[1:3]:
            out = (size + stride - 1) // stride
            total = max((out - 1) * stride + pool_size - size, 0)
            pads.append((total // 2, total - total // 2))
        images = np.pad(images, [(0, 0), *pads, (0, 0)], constant_values=-np.inf)
    windows = sliding_window_view(images, (pool_size, pool_size), axis=(1, 2))
    return windows[:, ::stride, ::stride].max(axis=(-2, -1))
