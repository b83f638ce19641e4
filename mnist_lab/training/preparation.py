"""The data a model trains on: MNIST normalized, one-hot encoded and split as the config says.

The data flow is the classic project's: uint8 images are normalized to float32 in [0, 1] with a
channel axis, labels are one-hot encoded, a stratified part of the training set is held out for
validation, and the test set is touched only once, after training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_lab.data import MnistData, preprocess
from mnist_lab.evaluation.splits import split_indices
from mnist_lab.training.config import TrainConfig


@dataclass(frozen=True)
class PreparedData:
    """Model-ready arrays: float32 images (N, 28, 28, 1) and one-hot float32 labels (N, 10)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def prepare(dataset: MnistData, config: TrainConfig) -> PreparedData:
    """Normalize, one-hot encode and split the data as `config` says (seeded, stratified).

    The split is `evaluation.splits.split_indices`, which `evaluate` and `inspect --split
    validation` call again to find the very images this run validates on.
    """
    images, labels = dataset.train
    train_idx, val_idx = split_indices(labels, config.validation_split, config.seed, config.limit)
    return PreparedData(
        x_train=preprocess.normalize(images[train_idx]),
        y_train=preprocess.one_hot(labels[train_idx]),
        x_val=preprocess.normalize(images[val_idx]),
        y_val=preprocess.one_hot(labels[val_idx]),
        x_test=preprocess.normalize(dataset.test.images),
        y_test=preprocess.one_hot(dataset.test.labels),
    )
