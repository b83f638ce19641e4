"""A run's own split of MNIST: the training images it validated on, or the test set.

Error analysis that guides a change (which digits a model confuses, what its worst mistakes look
like) must look at validation images: the test set selects nothing and is scored once, at the
end. A run's validation images are not stored in its folder; they follow from its config (seed,
validation fraction, limit) through `split_indices`, the function training itself splits with
(`mnist_lab.training.preparation`), so they are exactly the images the run validated on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_lab.core import runs
from mnist_lab.core.errors import ConfigError
from mnist_lab.data import preprocess

VALIDATION, TEST = "validation", "test"
SPLITS = (VALIDATION, TEST)
DEFAULT_VALIDATION_SPLIT = 0.1  # TrainConfig's default, for a config that does not record it


@dataclass(frozen=True)
class RunSplit:
    """The images of one split as a run sees them: uint8 (N, 28, 28), their labels (N,), the
    split's name, and for validation each image's index in MNIST's training set."""

    name: str
    images: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    mnist_indices: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.labels)


def check_split(split: Any) -> str:
    """`split` if it is 'validation' or 'test'; else ConfigError saying which to give."""
    if split not in SPLITS:
        raise ConfigError(
            f"The 'split' option must be 'validation' (the images the run held out: look there "
            f"to decide what to change) or 'test' (the final score). Got {split!r} instead.",
            option="split",
        )
    return str(split)


def split_indices(
    labels: np.ndarray, validation_split: float, seed: int, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices into MNIST's training set, as a run with this config splits it.

    With `limit`, the run first keeps `limit` images drawn by a generator seeded with `seed`
    (sorted, so they keep MNIST's order); the stratified split of `preprocess.stratified_split`
    then holds out `validation_split` of them, seeded with `seed` again.
    """
    subset = np.arange(len(labels))
    if limit is not None and limit < len(labels):
        rng = np.random.default_rng(seed)
        subset = np.sort(rng.permutation(len(labels))[:limit])
    train, validation = preprocess.stratified_split(labels[subset], validation_split, seed)
    return subset[train], subset[validation]


def run_split(run: runs.Run, split: str, dataset: Any = None) -> RunSplit:
    """The `split` ('validation' or 'test') of MNIST as the run `run` saw it.

    `dataset` defaults to load_mnist() from the run's data folder. The validation images come
    from the run's config.json: its seed, validation fraction and limit.
    """
    split = check_split(split)
    config = run.config
    if dataset is None:
        from mnist_lab.data import load_mnist

        dataset = load_mnist(config.get("data_dir"))
    if split == TEST:
        images, labels = dataset.test
        return RunSplit(TEST, images, labels)
    images, labels = dataset.train
    _, validation = split_indices(
        labels,
        config.get("validation_split", DEFAULT_VALIDATION_SPLIT),
        config.get("seed", 0),
        config.get("limit"),
    )
    return RunSplit(VALIDATION, images[validation], labels[validation], validation)
