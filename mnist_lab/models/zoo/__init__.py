"""The built-in model zoo: importing this package registers every model in it."""

from mnist_lab.models.zoo import (  # noqa: F401  (each module registers its models on import)
    batchnorm,
    best,
    fast,
    lenet,
    mlp,
    reference,
)
