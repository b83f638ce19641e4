"""The only door to Keras's private internals: each use, why no public API does its job, a pin.

Keras 3 keeps these out of its public API and may change them in any release. Every use in
mnist-lab goes through this module, and `tests/test_keras_internals.py` pins the behaviour each
one relies on: after a Keras upgrade that breaks one, that test fails with a message naming the
private API, instead of training, inspection and the lab failing in ways nobody can trace.

- `keras.src.random.seed_generator.python_random`: Keras draws the seeds of layers and
  initializers made without one from Python's global `random`. `keras.utils.set_random_seed`
  seeds it, but other threads of the process may draw from it meanwhile (a Dask worker's event
  loop does), so the same seed could give other weights. `private_default_seeds` swaps in a
  generator of our own while a model is built.
- `Model._symbolic_build`: creates the optimizer's and the metrics' variables before `fit`
  traces its step. Calling the model builds its layers only; without this TensorFlow traces
  the first training step twice (about 0.4 s of every training on 2 cores).
- `Layer._flatten_layers`: every layer a layer holds, at any depth, private attributes
  (`self._conv`) included. Inspection uses it to tell a custom layer that hides convolutions,
  whose feature maps it cannot show; `Model.layers` lists a model's top level only.
- `Functional._run_through_graph`: replays a functional model node by node through a function
  of ours, which is how inspection reaches the convolutions of nested models. A multi-output
  model over `model.layers` does not handle nested models and shared layers.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from typing import Any

SEED_MODULE = "keras.src.random.seed_generator"
SEED_ATTRIBUTE = "python_random"


def _seed_module() -> Any:
    import importlib

    return importlib.import_module(SEED_MODULE)


def default_seeds_come_from_python_random() -> bool:
    """Whether Keras draws the seeds of unseeded layers from Python's global `random`."""
    try:
        return getattr(_seed_module(), SEED_ATTRIBUTE, None) is random
    except ImportError:
        return False


@contextlib.contextmanager
def private_default_seeds(seed: int) -> Iterator[None]:
    """Draw the seeds of layers and initializers made without one from a generator of our own.

    It gives the draws `random.seed(seed)` gives, so undisturbed runs keep their weights; under
    a Keras that draws its seeds elsewhere, nothing is changed.
    """
    if not default_seeds_come_from_python_random():
        yield
        return
    module = _seed_module()
    setattr(module, SEED_ATTRIBUTE, random.Random(seed))
    try:
        yield
    finally:
        setattr(module, SEED_ATTRIBUTE, random)


def can_build_training_state(model: Any) -> bool:
    """Whether the model has Keras 3's `_symbolic_build` (its trainer's own state builder)."""
    return callable(getattr(model, "_symbolic_build", None))


def build_training_state(model: Any, images: Any, labels: Any) -> bool:
    """Create a compiled model's optimizer and metric variables from one example's shapes.

    Returns whether it did; a model Keras cannot build symbolically is left for `fit` to build.
    """
    if not can_build_training_state(model):
        return False
    try:
        model._symbolic_build(data_batch=(images[:1], labels[:1], None))
    except Exception:  # a model Keras cannot build symbolically: fit builds it while tracing
        return False
    return True


def can_replay(model: Any) -> bool:
    """Whether `replay` can walk the model's graph (functional models can; subclassed cannot)."""
    return callable(getattr(model, "_run_through_graph", None))


def replay(model: Any, inputs: Any, operation: Callable[[Any], Callable[..., Any]]) -> Any:
    """Run a functional model's graph on `inputs`, each node computed by `operation(layer)`.

    `operation(layer)` returns the function that computes that layer's node from its inputs.
    """
    return model._run_through_graph(inputs, operation_fn=operation)


def sublayers(layer: Any) -> list[Any]:
    """Every layer `layer` holds, at any depth, itself excluded (private attributes included);
    none for an operation that is not a layer (a Keras op in a functional graph)."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten(include_self=False)) if callable(flatten) else []
