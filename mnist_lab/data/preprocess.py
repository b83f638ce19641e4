"""From uint8 MNIST arrays to what a Keras model trains on: pure numpy, no TensorFlow.

`normalize` is strict on purpose: a float image passed twice through it, or a batch without its
image axes, is a bug a student should see at once rather than a model that trains on garbage.
"""

from __future__ import annotations

import numpy as np

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


def normalize(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images (N, 28, 28) or (N, 28, 28, 1) to float32 (N, 28, 28, 1) in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(
            f"normalize expects uint8 pixels in 0..255, got dtype {images.dtype}; "
            "pass the raw images from load_mnist, not already-scaled ones."
        )
    if images.ndim == 3 and images.shape[1:] == IMAGE_SHAPE:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (*IMAGE_SHAPE, 1):
        raise ValueError(
            f"normalize expects images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}."
        )
    return images.astype(np.float32) / np.float32(255)


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Turn integer labels (N,) into float32 one-hot rows (N, num_classes)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes}.")
    labels = check_labels(labels, num_classes, subject="one_hot", verbs=("expects", "expects"))
    return np.eye(num_classes, dtype=np.float32)[labels]


def check_labels(
    values: np.ndarray,
    num_classes: int = NUM_CLASSES,
    *,
    subject: str = "labels",
    verbs: tuple[str, str] = ("must be", "must hold"),
) -> np.ndarray:
    """Return `values` as int64 if they are 1-D integer labels in 0..num_classes-1, else raise.

    The message reads "<subject> <verb> a 1-D array of integer labels, got ..." (or "... labels
    in 0..9, got values from ..."), so each caller names what it was given.
    """
    values = np.asarray(values)
    if values.size == 0:
        values = values.astype(np.int64)  # an empty list arrives as float64
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"{subject} {verbs[0]} a 1-D array of integer labels, got shape {values.shape} "
            f"of dtype {values.dtype}."
        )
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise ValueError(
            f"{subject} {verbs[1]} labels in 0..{num_classes - 1}, "
            f"got values from {values.min()} to {values.max()}."
        )
    return values.astype(np.int64)


def stratified_split(
    labels: np.ndarray, validation_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into (train, validation), keeping each class's share in both parts.

    Validation gets round(fraction * N) examples in all, shared between classes in proportion to
    their sizes (largest remainders get the leftover places), each chosen by a generator seeded
    with `seed`: the same labels and seed always give the same split.
    """
    labels = np.asarray(labels)
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(
            f"validation_fraction must be a float in (0, 1), got {validation_fraction}."
        )
    if labels.ndim != 1:
        raise ValueError(f"stratified_split expects 1-D labels, got shape {labels.shape}.")
    classes, sizes = np.unique(labels, return_counts=True)
    quotas = validation_fraction * sizes
    counts = np.floor(quotas).astype(int)
    leftover = int(round(validation_fraction * labels.size)) - int(counts.sum())
    counts[np.argsort(-(quotas - counts), kind="stable")[:leftover]] += 1
    rng = np.random.default_rng(seed)
    validation = [
        rng.permutation(np.flatnonzero(labels == value))[:count]
        for value, count in zip(classes, counts, strict=True)
    ]
    validation_idx = np.sort(np.concatenate(validation)) if validation else np.array([], int)
    train_idx = np.setdiff1d(np.arange(labels.size), validation_idx, assume_unique=True)
    return train_idx, validation_idx
