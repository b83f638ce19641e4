"""Exercise 3: labels.

The network ends in 10 probabilities, one per digit, so it learns best from labels written the
same way: the digit 3 becomes the row [0, 0, 0, 1, 0, 0, 0, 0, 0, 0], a "one-hot" vector. The
loss then compares two rows of 10 numbers.

To know whether the model learns digits or just memorizes its training images, part of the
training set is held out for validation and never trained on. The split is stratified: each
digit keeps its share in both parts (a validation set short of 5s would misjudge the model), and
seeded: the same seed gives the same split, so two runs can be compared.

Write the two functions below, then run `mnist-lab exercises check 3`.

Course page: docs/exercises/03-labels.md
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10  # the digits 0 to 9


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Integer labels (N,) as float32 rows (N, num_classes), each with a single 1.0 at its label."""
    # TODO: raise ValueError for a label outside 0..num_classes-1, then build the float32 one-hot rows
    # SOLUTION
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot expects labels in 0..{num_classes - 1}, "
            f"got values from {labels.min()} to {labels.max()}."
        )
    # Row k of the identity matrix is the one-hot vector of k: index it with the labels.
    return np.eye(num_classes, dtype=np.float32)[labels]
    # END SOLUTION


def stratified_split(
    labels: np.ndarray, validation_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split the indices 0..N-1 into (train, validation), each digit keeping its share in both.

    For each digit, round(validation_fraction * its count) of its indices, chosen at random by a
    generator seeded with `seed`, go to validation; all the other indices go to train.
    """
    # TODO: for each digit, shuffle its indices with np.random.default_rng(seed) and send a fraction to validation
    # SOLUTION
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    validation = []
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)  # the indices of this digit's images
        count = round(validation_fraction * len(members))
        validation.append(rng.permutation(members)[:count])
    validation_idx = np.sort(np.concatenate(validation))
    train_idx = np.setdiff1d(np.arange(len(labels)), validation_idx)
    return train_idx, validation_idx
    # END SOLUTION
