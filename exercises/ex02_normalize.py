"""Exercise 2: normalization.

A network learns by nudging its weights in small steps. MNIST's pixels are uint8 integers from 0
to 255: 255 is the stroke, 0 the background (the course's figures show strokes white). Fed as
they are, they make the first layer's sums large and its steps unstable. So every pixel is
scaled to a float32 between 0.0 and 1.0 by dividing by 255 (not 256: a stroke pixel of 255 must
become exactly 1.0). A convolution also wants to know how many channels each
image has (3 for a colour photo, 1 for MNIST's gray), so a batch of shape (N, 28, 28) becomes
(N, 28, 28, 1).

A mistake here does not crash anything: the model just trains worse on silently wrong numbers.
So `normalize` first checks that it got raw MNIST images and raises a ValueError that says what
it got otherwise (images normalized twice, for instance, arrive as float32).

Write the two functions below, then run `mnist-lab exercises check 2`.

Course page: docs/exercises/02-normalize.md
"""

from __future__ import annotations

import numpy as np

IMAGE_SHAPE = (28, 28)  # height and width of one MNIST image


def check_images(images: np.ndarray) -> None:
    """Raise ValueError, saying what was given, unless `images` is uint8 of shape (N, 28, 28)."""
    # TODO: raise ValueError for a dtype other than uint8 and for a shape other than (N, 28, 28)
    raise NotImplementedError("Exercise 2: raise ValueError for a dtype other than uint8 and for a shape other than (N, 28, 28). Run 'mnist-lab exercises hint 2' for a hint.")


def normalize(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images (N, 28, 28) to float32 (N, 28, 28, 1) with values in [0, 1]."""
    # TODO: check the images, turn them into float32 divided by 255, and add a channel axis at the end
    raise NotImplementedError("Exercise 2: check the images, turn them into float32 divided by 255, and add a channel axis at the end. Run 'mnist-lab exercises hint 2' for a hint.")
