"""Train any registered model the same way: one seeded split, Keras fit, a test evaluation, a run.

The data flow is the classic project's: uint8 images are normalized to float32 in [0, 1] with a
channel axis, labels are one-hot encoded, a stratified part of the training set is held out for
validation, and the test set is touched only once, after training.

This package's modules, in the order a run goes through them: `config` (the options and their
checks), `preparation` (split, normalize, one-hot), `devices` and `building` (the strategy and
the seeded model), `batches` and `warp` (what the fit is fed), `callbacks` (what each epoch
saves), `fitting` (one run's fit and evaluation), `precise_bn`, `interrupts`; `starting` and
`resuming` hold `train` and `resume`. The names below are re-exported here, their stable path.
"""

from mnist_lab.training.config import (
    KEEP_EPOCHS_MAX_PARAMS,
    MAX_SEED,
    TRAIN_SIZE,
    TrainConfig,
    effective_recipe,
    resolve,
)
from mnist_lab.training.fitting import versions
from mnist_lab.training.preparation import PreparedData, prepare
from mnist_lab.training.resuming import resume
from mnist_lab.training.starting import train

__all__ = [
    "KEEP_EPOCHS_MAX_PARAMS",
    "MAX_SEED",
    "TRAIN_SIZE",
    "PreparedData",
    "TrainConfig",
    "effective_recipe",
    "prepare",
    "resolve",
    "resume",
    "train",
    "versions",
]
