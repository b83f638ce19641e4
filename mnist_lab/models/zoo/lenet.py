"""LeNet-5 (LeCun et al., 1998), adapted to 28x28 inputs: the CNN that started it all.

The original read 32x32 images; padding the first convolution keeps the same feature-map sizes
(28x28 -> 14x14 -> 10x10 -> 5x5). It used tanh and average pooling, as here; its special
output layer is replaced by a softmax.
"""

import keras
from keras import layers

from mnist_lab.models.recipes import Recipe
from mnist_lab.models.registry import register_model


@register_model(
    "lenet5",
    description="LeNet-5 (1998): conv 6 5x5, avg-pool, conv 16 5x5, avg-pool, 120, 84, tanh.",
    tags=("cnn", "history"),
    recipe=Recipe(epochs=10, batch_size=128, optimizer="adam", learning_rate=1e-3),
)
def lenet5() -> keras.Model:
    """LeNet-5 with its tanh units and average pooling."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(6, kernel_size=5, padding="same", activation="tanh"),
            layers.AveragePooling2D(pool_size=2),
            layers.Conv2D(16, kernel_size=5, activation="tanh"),
            layers.AveragePooling2D(pool_size=2),
            layers.Conv2D(120, kernel_size=5, activation="tanh"),
            layers.Flatten(),
            layers.Dense(84, activation="tanh"),
            layers.Dense(10, activation="softmax"),
        ],
        name="lenet5",
    )
