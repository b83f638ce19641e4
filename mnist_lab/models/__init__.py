"""The built-in model zoo: importing this package registers every model in it."""

from mnist_lab.models import batchnorm, lenet, mlp, reference  # noqa: F401  (register on import)
