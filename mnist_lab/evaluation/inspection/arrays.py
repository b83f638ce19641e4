"""Numpy in and out of an inspected model: digits as the model's input batch, its tensors back
as numpy arrays.

Images are MNIST digits: uint8 (N, 28, 28) as `load_mnist` gives them, or the model's float
inputs in [0, 1], (N, 28, 28, 1); one image drops the N. Anything else is refused with a
ValueError that says what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mnist_lab.evaluation.inspection.graph import IMAGE_SHAPE


def as_batch(images: Any, dtype: str, *, single: bool = False) -> np.ndarray:
    """uint8 digits or float inputs in [0, 1] as the model's (N, 28, 28, 1) input batch.

    With `single`, `images` is one image, (28, 28) or (28, 28, 1), and the batch has N = 1.
    """
    from mnist_lab.data.preprocess import normalize

    images = np.asarray(images)
    what = "an image (28, 28) or (28, 28, 1)" if single else "images (N, 28, 28) or (N, 28, 28, 1)"
    if single:
        if images.shape not in (IMAGE_SHAPE, (*IMAGE_SHAPE, 1)):
            raise ValueError(f"Expected {what}, got shape {images.shape}.")
        images = images.reshape(1, *IMAGE_SHAPE)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (*IMAGE_SHAPE, 1):
        raise ValueError(f"Expected {what}, got shape {images.shape}.")
    if images.dtype == np.uint8:
        return normalize(images).astype(dtype)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected uint8 pixels (0..255) or floats in [0, 1], got dtype {images.dtype}."
        )
    if images.size and (not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"Expected float pixels in [0, 1], got values from {images.min()} to {images.max()}; "
            "divide 0..255 pixels by 255 first (or pass them as uint8)."
        )
    return images.astype(dtype)


def check_digit(digit: Any) -> int:
    """`digit` as an int from 0 to 9, or ValueError (a bool or a float is refused)."""
    if isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer)):
        raise ValueError(f"digit must be an int from 0 to 9, got {digit!r}.")
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"digit must be an int from 0 to 9, got {digit}.")
    return int(digit)


def to_numpy(value: Any) -> np.ndarray:
    """A tensor as numpy; a bfloat16 model's activations and gradients as float32, which numpy,
    matplotlib and JSON all understand."""
    import keras

    array = np.asarray(keras.ops.convert_to_numpy(value))
    return array.astype(np.float32) if str(array.dtype) in ("bfloat16", "float16") else array


def as_list(outputs: Any) -> list[Any]:
    """A model's outputs as a list (Keras returns a lone output bare)."""
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def named(names: Sequence[str], outputs: Sequence[Any]) -> dict[str, np.ndarray]:
    """Each convolution's name with its output, as numpy."""
    return {name: to_numpy(out) for name, out in zip(names, outputs, strict=True)}
