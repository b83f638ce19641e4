"""The classic CNN with batch normalization after each convolution and the dense layer.

Batch normalization rescales each layer's outputs to zero mean and unit variance over the batch,
which lets the network train with a larger learning rate and fewer epochs (see blocks.py for
the momentum of its running statistics).
"""

import keras
from keras import layers

from mnist_lab.models.recipes import Recipe
from mnist_lab.models.registry import register_model
from mnist_lab.models.zoo.blocks import conv_bn_relu, dense_bn_relu


@register_model(
    "bn-cnn",
    description="The classic CNN with batch normalization after each conv and dense layer.",
    tags=("cnn", "batchnorm"),
    recipe=Recipe(
        epochs=5,
        batch_size=128,
        optimizer="adam",
        learning_rate=3e-3,
        schedule="cosine",
        warmup=0.1,
    ),
)
def bn_cnn() -> keras.Model:
    """Conv-BN-ReLU blocks in place of the reference's plain convolutions."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *conv_bn_relu(32),
            layers.MaxPooling2D(pool_size=2),
            *conv_bn_relu(64),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            *dense_bn_relu(128),
            layers.Dense(10, activation="softmax"),
        ],
        name="bn_cnn",
    )
