"""Exercise 1: the data.

Before training anything, look at the data. MNIST is 70,000 scans of handwritten digits, each
28x28 pixels in 256 shades of gray, each with the digit it shows: 60,000 to train on and 10,000
kept apart to test on. Here you load it with the library and answer the questions a data
scientist asks first of any dataset: how many examples, of what shape and type, in what range of
values, and how many of each class? A model trained on data nobody looked at fails in ways
nobody can explain; these four numbers are also the ones the next exercises rely on.

Write the four functions below, then run `mnist-lab exercises check 1`.

Course page: docs/exercises/01-data.md
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10  # the digits 0 to 9


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ((x_train, y_train), (x_test, y_test)): uint8 arrays, straight from the cache."""
    # TODO: call load_mnist() from mnist_lab and return its training pair and its test pair
    # SOLUTION
    from mnist_lab import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    return (x_train, y_train), (x_test, y_test)
    # END SOLUTION


def pixel_range(images: np.ndarray) -> tuple[int, int]:
    """The smallest and the largest pixel value in `images` (0 background, 255 stroke), as ints."""
    # TODO: return (smallest pixel value, largest pixel value) as two Python ints
    # SOLUTION
    return int(images.min()), int(images.max())
    # END SOLUTION


def images_per_class(labels: np.ndarray) -> np.ndarray:
    """How many images show each digit: an int array of length 10, indexed by the digit."""
    # TODO: count the labels equal to each digit 0..9, with a 0 for a digit that never appears
    # SOLUTION
    return np.bincount(labels, minlength=NUM_CLASSES)
    # END SOLUTION


def describe(images: np.ndarray, labels: np.ndarray) -> dict:
    """A summary of one split, as a dict with five keys.

    "count": the number of images (int); "image_shape": the shape of one image (a tuple, e.g.
    (28, 28)); "dtype": the pixels' type as a string (e.g. "uint8"); "pixel_range": (smallest,
    largest) pixel value; "per_class": the images of each digit (a list of 10 ints).
    """
    # TODO: build the dict of five facts, using pixel_range and images_per_class
    # SOLUTION
    return {
        "count": len(images),
        "image_shape": images.shape[1:],
        "dtype": str(images.dtype),
        "pixel_range": pixel_range(images),
        "per_class": images_per_class(labels).tolist(),
    }
    # END SOLUTION
