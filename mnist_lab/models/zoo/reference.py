"""The course's seed CNN, its dropout variant, and keras-io's "Simple MNIST convnet".

`reference` is the network the course is built around: two convolution + max-pooling blocks
learn local strokes and then their combinations, a dense layer of 128 units mixes them, and a
10-way softmax gives one probability per digit. It has 225,034 parameters and reached 98.90%
test accuracy after 5 epochs at seed 0 (`mnist-lab train reference` and `make docs-assets`,
2026-11-25, on 2 CPU cores).

`keras-convnet` is keras-io's `examples/vision/mnist_convnet.py` layer for layer: the same two
blocks, then dropout and the softmax, with no dense hidden layer (34,826 parameters), trained
for 15 epochs at batch 128 with Adam's defaults. Neither `reference` nor `reference-dropout` is
that example.
"""

import keras
from keras import layers

from mnist_lab.models.compiling import compile_with_defaults
from mnist_lab.models.recipes import Recipe
from mnist_lab.models.registry import register_model


def _conv_blocks() -> list[keras.layers.Layer]:
    """Conv 32, pool, conv 64, pool: the feature extractor all three models share."""
    return [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
    ]


@register_model(
    "reference",
    description="The course's seed CNN: conv 32, pool, conv 64, pool, dense 128, softmax.",
    tags=("cnn", "classic"),
)
def reference() -> keras.Model:
    """Build and compile the course's seed CNN."""
    model = keras.Sequential(
        [
            *_conv_blocks(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference",
    )
    return compile_with_defaults(model)


@register_model(
    "reference-dropout",
    description="The reference with dropout before and after dense 128.",
    tags=("cnn", "classic", "regularization"),
    recipe=Recipe(epochs=8),
)
def reference_dropout() -> keras.Model:
    """The reference with dropout, which trades a little training accuracy for less overfitting.

    Half of the flattened features, and half of the dense layer's outputs, are dropped at random
    in each training step, so no unit can rely on one particular other unit.
    """
    model = keras.Sequential(
        [
            *_conv_blocks(),
            layers.Dropout(0.5),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference_dropout",
    )
    return compile_with_defaults(model)


@register_model(
    "keras-convnet",
    description="keras-io's Simple MNIST convnet: conv 32, pool, conv 64, pool, dropout, softmax.",
    tags=("cnn", "keras-io", "regularization"),
    recipe=Recipe(epochs=15, batch_size=128),
)
def keras_convnet() -> keras.Model:
    """keras-io's `examples/vision/mnist_convnet.py`, layer for layer, compiled with Adam.

    Its softmax reads the 1,600 flattened features directly, after dropping half of them, so it
    has 34,826 parameters where the reference's dense layer alone has 204,928.
    """
    model = keras.Sequential(
        [
            *_conv_blocks(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="keras_convnet",
    )
    return compile_with_defaults(model)
