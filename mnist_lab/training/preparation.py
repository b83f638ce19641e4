"""The data a model trains on: MNIST normalized, one-hot encoded and split as the config says.

The data flow is the classic project's: uint8 images are normalized to float32 in [0, 1] with a
channel axis, labels are one-hot encoded, a stratified part of the training set is held out for
validation, and the test set is touched only once, after training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnist_lab.data import MnistData, preprocess
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
    """Normalize, one-hot encode and split the data as `config` says (seeded, stratified)."""
    images, labels = dataset.train
    if config.limit is not None and config.limit < len(labels):
        rng = np.random.default_rng(config.seed)
        subset = np.sort(rng.permutation(len(labels))[: config.limit])
        images, labels = images[subset], labels[subset]
    train_idx, val_idx = preprocess.stratified_split(labels, config.validation_split, config.seed)
    x, y = preprocess.normalize(images), preprocess.one_hot(labels)
    return PreparedData(
        x_train=x[train_idx],
        y_train=y[train_idx],
        x_val=x[val_idx],
        y_val=y[val_idx],
        x_test=preprocess.normalize(dataset.test.images),
        y_test=preprocess.one_hot(dataset.test.labels),
    )
