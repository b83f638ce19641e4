"""`fast`: designed for the shortest training time to 99% test accuracy on a 2-core CPU.

An epoch of a small CNN on a CPU costs its arithmetic plus a fixed cost per training step, so
speed comes from fewer FLOPs per image, larger batches (fewer steps) and fewer epochs, not from
TensorFlow settings (XLA, bfloat16 and very large batches were all slower here). A 5x5
convolution of 16 channels sees a whole stroke at once; one more 3x3 convolution of 32 channels
combines strokes; there is no dense hidden layer, so the net has a quarter of the reference's
arithmetic per image and 13,066 parameters. The first layer standardizes the pixels to
mean 0 and deviation 1 (MNIST's mean and deviation are 0.1307 and 0.3081), which lets a high
learning rate work from the first step, and a warm-up-then-cosine learning rate (the one-cycle
shape) at batch 256 makes two epochs enough. What was tried and what it gave is in docs/zoo.md.
"""

import keras
from keras import layers

from mnist_lab.recipes import Recipe
from mnist_lab.registry import register_model

PIXEL_MEAN, PIXEL_STD = 0.1307, 0.3081  # of MNIST's training pixels, scaled to [0, 1]


@register_model(
    "fast",
    description="Built for speed: standardize, conv 16 5x5, pool, conv 32 3x3, pool, softmax.",
    tags=("cnn", "speed"),
    recipe=Recipe(
        epochs=2,
        batch_size=256,
        optimizer="adam",
        learning_rate=2e-2,
        schedule="cosine",
        warmup=0.2,
    ),
)
def fast() -> keras.Model:
    """A two-convolution CNN: 13,066 parameters, a quarter of the reference's arithmetic."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Rescaling(1 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD),
            layers.Conv2D(16, kernel_size=5, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Conv2D(32, kernel_size=3, activation="relu"),
            layers.MaxPooling2D(pool_size=2),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ],
        name="fast",
    )
