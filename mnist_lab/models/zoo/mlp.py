"""A dense baseline: no convolutions, every pixel wired to every unit.

It sees the image as 784 unrelated numbers, so it cannot reuse what it learns about a stroke in
one place for the same stroke elsewhere. Compare its accuracy and parameter count with the CNNs
to see what convolutions buy.
"""

import keras
from keras import layers

from mnist_lab.models.recipes import Recipe
from mnist_lab.models.registry import register_model


@register_model(
    "mlp",
    description="Dense baseline: flatten, dense 256, dense 128, softmax (no convolutions).",
    tags=("dense", "baseline"),
    recipe=Recipe(epochs=10, batch_size=128, optimizer="adam", learning_rate=1e-3),
)
def mlp() -> keras.Model:
    """A two-hidden-layer perceptron with dropout against overfitting."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.2),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )
