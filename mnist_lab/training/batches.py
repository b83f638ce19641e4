"""How the images reach the model: augmented tf.data batches, and batches every device shares.

Without augmentation Keras batches the arrays itself. With it, each training image is warped its
own way on the fly (see `warp`), behind a switch that a recipe's clean epochs turn off. On
several devices, validation and test batches are sized so that every device gets images.
"""

from __future__ import annotations

from typing import Any

from mnist_lab.models.recipes import Augmentation
from mnist_lab.training.callbacks import warping_switch
from mnist_lab.training.config import TrainConfig
from mnist_lab.training.preparation import PreparedData


def augmented_batches(
    prepared: PreparedData,
    config: TrainConfig,
    augmentation: Augmentation,
    batch_size: int | None = None,
    clean_epochs: int = 0,
) -> tuple[Any, list[Any]]:
    """Shuffled training batches, each image warped its own way on the fly (see `warp`), and
    the callbacks the fit needs with them.

    `batch_size` is the global batch under a strategy (default: the config's). With
    `clean_epochs`, a callback stops the warping for the last that many epochs: the dataset
    reads a switch that the callback sets before each epoch's batches are drawn.
    """
    import tensorflow as tf

    from mnist_lab.training.warp import make_warp_layer

    augment = make_warp_layer(
        rotation=augmentation.rotation,
        shift=augmentation.shift,
        zoom=augmentation.zoom,
        elastic=augmentation.elastic,
    )
    warping = tf.Variable(True, trainable=False, name="warping")

    def warp(x, y):
        return tf.cond(warping, lambda: augment(x, training=True), lambda: x), y

    batches = (
        tf.data.Dataset.from_tensor_slices((prepared.x_train, prepared.y_train))
        .shuffle(len(prepared.x_train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch_size or config.batch_size)
        .map(warp, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    if not clean_epochs:
        return batches, []
    return batches, [warping_switch(warping, first_clean=config.epochs - clean_epochs)]


def even_batch(images: int, batch_size: int, replicas: int) -> int:
    """`batch_size` or a little less, so that every replica gets images from every batch.

    Keras 3's TensorFlow trainer averages the first batch of each fit and evaluate across the
    replicas, which fails when they hold different numbers of images (keras-team/keras#19246),
    and a replica left with no image fails in batch normalization; so the batch is a multiple
    of the replicas and the last one holds none or at least one image per replica. On one
    device this is `batch_size` itself.
    """
    size = min(images, batch_size)
    size -= size % replicas
    while size > replicas and 0 < images % size < replicas:
        size -= replicas
    return max(size, replicas)
