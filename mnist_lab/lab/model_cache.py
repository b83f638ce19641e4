"""The runs' models, each loaded once into a small LRU cache the server's threads share, and the
weights of the epoch a request asks for put into them.

Models load in Keras safe mode, on the first request that needs them. Another epoch's weights
are loaded into the cached model (its Inspector follows the model's variables); the final
weights are kept in memory to put back. Nothing is written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core import runs
from mnist_lab.core.errors import MnistLabError, first_line
from mnist_lab.lab.errors import LabError

CACHE_SIZE = 4  # models kept loaded: two runs side by side, and a couple to switch back to


@dataclass
class LoadedRun:
    """One run's model and inspector; `epoch` says whose weights it holds (None: the final).

    Hold `lock` while the weights must stay those of one epoch (setting them, then looking).
    """

    model: Any
    inspector: Any
    final_weights: list[np.ndarray] = field(repr=False)
    epoch: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class ModelCache:
    """A small LRU cache of loaded runs, safe for the server's threads."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[str, LoadedRun] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"ModelCache(size={self.size}, loaded={list(self._cache)})"

    def get(self, name: str, folder: Path) -> LoadedRun:
        """The run `name`'s loaded model, loading it from `folder` the first time."""
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:  # one thread loads a run; the others wait for it
            with self._lock:
                if name in self._cache:
                    return self._cache[name]
            loaded = load_run(name, folder)
            with self._lock:
                self._cache[name] = loaded
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            return loaded


def load_run(name: str, folder: Path) -> LoadedRun:
    """Load a run's model and open it for inspection; LabError 500 if either fails."""
    from mnist_lab.evaluation.inspection import Inspector
    from mnist_lab.evaluation.reports import load_run_model

    try:
        model = load_run_model(folder)
        model_name = str(runs.Run(folder).config.get("model", name))
        inspector = Inspector(model, name=model_name)
        inspector.layer_table()  # opens the graph now: a model the lab cannot open fails here
    except MnistLabError as error:  # RunError, InspectionError
        raise LabError(500, f"The run '{name}' cannot be loaded: {error}") from None
    return LoadedRun(model, inspector, [np.array(w) for w in model.get_weights()])


def use_epoch(loaded: LoadedRun, name: str, folder: Path, epoch: int | None) -> None:
    """Put the weights of `epoch` (None: the final ones) into the model; call under its lock."""
    if loaded.epoch == epoch:
        return
    if epoch is None:
        loaded.model.set_weights(loaded.final_weights)
        loaded.epoch = None
        return
    loaded.epoch = -1  # unknown until the file has loaded
    path = runs.Run(folder).epoch_weights[epoch]
    try:
        loaded.model.load_weights(path)
    except Exception as error:  # Keras raises ValueError, OSError... for a bad file
        loaded.model.set_weights(loaded.final_weights)
        loaded.epoch = None
        raise LabError(
            500,
            f"The weights of epoch {epoch} of run '{name}' cannot be loaded ({first_line(error)}).",
        ) from None
    loaded.epoch = epoch
