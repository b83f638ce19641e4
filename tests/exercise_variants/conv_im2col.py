"""An independent correct exercise 9, written unlike the solution: im2col with einsum.

The solution loops over the kernel's offsets; this one cuts every window out at once with
`sliding_window_view` and contracts windows and kernels in one `einsum`. Any correct conv2d
must pass the exercise's tests, not only the solution's way of writing it.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_output_size(size, kernel, stride=1, padding="valid"):
    if padding == "same":
        return -(-size // stride)
    return len(range(0, size - kernel + 1, stride))


def conv2d(images, kernels, bias, stride=1, padding="valid"):
    images = np.asarray(images, dtype=np.float32)
    kh, kw = kernels.shape[:2]
    if padding == "same":
        pads = []
        for size, k in zip(images.shape[1:3], (kh, kw), strict=True):
            total = max((conv_output_size(size, k, stride, "same") - 1) * stride + k - size, 0)
            pads.append((total // 2, (total + 1) // 2))
        images = np.pad(images, [(0, 0), *pads, (0, 0)])
    windows = sliding_window_view(images, (kh, kw), axis=(1, 2))  # (N, H', W', C, kh, kw)
    windows = windows[:, ::stride, ::stride]
    out = np.einsum("nyxcij,ijcf->nyxf", windows, np.asarray(kernels, dtype=np.float32))
    return (out + bias).astype(np.float32)
