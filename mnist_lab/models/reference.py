"""The classic Keras MNIST CNN, layer for layer.

Two convolution + max-pooling blocks learn local strokes and then their combinations; a dense
layer of 128 units mixes them, and a 10-way softmax gives one probability per digit. It has
225,034 parameters and reaches about 99% test accuracy in a few epochs.
"""

import keras
from keras import layers

from mnist_lab.compiling import compile_with_defaults
from mnist_lab.recipes import Recipe
from mnist_lab.registry import register_model


@register_model(
    "reference",
    description="The classic Keras CNN: conv 32, pool, conv 64, pool, dense 128, softmax.",
    tags=("cnn", "classic"),
)
def reference() -> keras.Model:
    """Build and compile the classic MNIST CNN."""
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference",
    )
    return compile_with_defaults(model)


@register_model(
    "reference-dropout",
    description="The classic CNN with dropout before and after dense 128 (Keras convnet example).",
    tags=("cnn", "classic", "regularization"),
    recipe=Recipe(epochs=8),
)
def reference_dropout() -> keras.Model:
    """The classic CNN with dropout, which trades a little training accuracy for less overfitting.

    As in the Keras convnet example, half of the flattened features are dropped at random in
    each training step, so no unit can rely on one particular other unit.
    """
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ],
        name="reference_dropout",
    )
    return compile_with_defaults(model)
