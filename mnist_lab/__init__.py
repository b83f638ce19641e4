"""mnist-lab: learn convolutional networks on MNIST with a model registry, a CLI and exercises.

The public API is re-exported lazily so that `import mnist_lab` stays fast and does not import
TensorFlow; each name is loaded from its module the first time it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "register_model": "mnist_lab.models.registry",
    "create_model": "mnist_lab.models.registry",
    "list_models": "mnist_lab.models.registry",
    "model_info": "mnist_lab.models.registry",
    "load_mnist": "mnist_lab.data",
    "fetch_mnist": "mnist_lab.data",
    "import_mnist": "mnist_lab.data",
    "normalize": "mnist_lab.data.preprocess",
    "one_hot": "mnist_lab.data.preprocess",
    "stratified_split": "mnist_lab.data.preprocess",
    "Recipe": "mnist_lab.models.recipes",
    "Augmentation": "mnist_lab.models.recipes",
    "TrainConfig": "mnist_lab.training",
    "train": "mnist_lab.training",
    "MnistLabError": "mnist_lab.core.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mnist_lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
