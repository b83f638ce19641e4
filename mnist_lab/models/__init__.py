"""The built-in model zoo: importing this package registers every model in it."""

from mnist_lab.models import reference  # noqa: F401  (registers on import)
