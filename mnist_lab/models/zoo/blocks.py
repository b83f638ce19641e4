"""Layer blocks shared by the zoo's batch-normalized models.

Batch normalization's running statistics, used at test time, follow the batches here with
momentum 0.8 rather than Keras's 0.99. They start at variance 1 while the first layers' outputs
vary about 200 times less, so with 0.99 they need thousands of steps to forget their start,
and a network trained for a few epochs scores near chance at test time although it learned
fine; 0.9 still fails a 30-step run. The layers before a normalization drop their bias, since
the normalization's own shift replaces it.
"""

from keras import layers

BN_MOMENTUM = 0.8


def conv_bn_relu(filters: int, kernel_size: int = 3) -> list[layers.Layer]:
    """A convolution without bias, batch normalization, then ReLU."""
    return [
        layers.Conv2D(filters, kernel_size=kernel_size, use_bias=False),
        layers.BatchNormalization(momentum=BN_MOMENTUM),
        layers.Activation("relu"),
    ]


def dense_bn_relu(units: int) -> list[layers.Layer]:
    """A dense layer without bias, batch normalization, then ReLU."""
    return [
        layers.Dense(units, use_bias=False),
        layers.BatchNormalization(momentum=BN_MOMENTUM),
        layers.Activation("relu"),
    ]
