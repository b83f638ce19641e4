"""What the lab answers, without HTTP: a run's model's look at a digit, a validation digit to try.

The digits to try are the run's own validation images (those it held out, from its seed): looking
at its mistakes there is error analysis that may guide a change, which the test set must never do.

`Lab` holds the served runs and their loaded models; the routes of `create_app` call its
methods in the server's threads. Answers are JSON-ready lists, rounded to DECIMALS.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.errors import MnistLabError
from mnist_lab.lab import inputs
from mnist_lab.lab.catalog import run_names, run_summary
from mnist_lab.lab.errors import LabError
from mnist_lab.lab.model_cache import LoadedRun, ModelCache, use_epoch

CHANNELS = 16  # feature maps sent per layer: enough to see what a layer does
DECIMALS = 4


def rounded(array: Any) -> Any:
    """Nested lists of floats with DECIMALS decimals (via float64: float32 prints long)."""
    return np.round(np.asarray(array, dtype=np.float64), DECIMALS).tolist()


def look_answer(loaded: LoadedRun, name: str, epoch: int | None, model_input: np.ndarray) -> dict:
    """Look at one input and put what the model saw into JSON-ready lists."""
    look = loaded.inspector.look(model_input)
    layers = []
    for layer_name, maps in look.feature_maps.items():
        shown = np.moveaxis(maps[..., :CHANNELS], -1, 0)  # (channels, height, width)
        layers.append({"name": layer_name, "shape": list(maps.shape), "maps": rounded(shown)})
    filters = None
    if look.feature_maps:
        kernel = loaded.inspector.first_layer_filters()  # (kh, kw, input channels, filters)
        filters = {
            "layer": loaded.inspector.conv_names[0],
            "shape": list(kernel.shape),
            "kernels": rounded(np.moveaxis(kernel[:, :, 0, :], -1, 0)),
        }
    scale = float(np.max(np.abs(look.saliency)))
    # Gradients can be tiny: sent scaled to [-1, 1], with the scale beside them.
    saliency = look.saliency / scale if scale > 0 and math.isfinite(scale) else look.saliency * 0
    pixels = model_input.astype(np.float64)
    if model_input.dtype == np.uint8:
        pixels = pixels / 255
    return {
        "run": name,
        "model": loaded.inspector.name,
        "epoch": epoch,
        "digit": look.digit,
        "probability": round(look.probability, DECIMALS),
        "probabilities": rounded(look.probabilities),
        "input": rounded(pixels),
        "layers": layers,
        "filters": filters,
        "saliency": rounded(saliency),
        "saliency_scale": scale,
        "saliency_of": look.saliency_of,
    }


class Lab:
    """The served runs and their loaded models; the routes call its methods."""

    def __init__(self, run_folders: list[Path]) -> None:
        self.runs = run_names([Path(folder) for folder in run_folders])
        self.models = ModelCache()
        self._dataset: Any = None  # MNIST, read on the first validation digit asked
        self._validation: dict[str, Any] = {}  # run name -> its validation split (RunSplit)
        self._wrong: dict[str, np.ndarray] = {}  # run name -> indices its final model gets wrong
        self._lock = threading.Lock()
        self._random = np.random.default_rng()

    def __repr__(self) -> str:
        return f"Lab(runs={list(self.runs)})"

    def list_runs(self) -> list[dict[str, Any]]:
        """What the run picker shows of each served run, in order."""
        return [run_summary(name, folder) for name, folder in self.runs.items()]

    def folder(self, name: Any) -> Path:
        """The folder of the served run `name`: 400 if it is not a str, 404 if not served."""
        if not isinstance(name, str):
            raise LabError(400, "The 'run' field must be the name of a run from GET /api/runs.")
        if name not in self.runs:  # looked up, never joined to a path
            known = ", ".join(self.runs) or "none"
            shown = name if len(name) <= 80 else name[:80] + "..."
            raise LabError(404, f"There is no run named {shown!r} here (the runs: {known}).")
        return self.runs[name]

    def predict(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What a run (at an epoch) makes of the payload's drawing or pixels (POST /api/predict)."""
        name = payload.get("run")
        folder = self.folder(name)
        has_image, has_pixels = "image" in payload, "pixels" in payload
        if has_image and has_pixels:
            raise LabError(400, "Send 'image' or 'pixels', not both.")
        if not has_image and not has_pixels:
            raise LabError(400, "Send the digit as 'image' (a data URL) or 'pixels' (28x28).")
        if has_image:
            model_input = inputs.digit_from_data_url(payload["image"])
        else:
            model_input = inputs.input_from_pixels(payload["pixels"])
        epoch = inputs.requested_epoch(payload, name, folder)
        loaded = self.models.get(name, folder)
        with loaded.lock:  # the weights stay those of `epoch` while the model looks
            use_epoch(loaded, name, folder, epoch)
            return look_answer(loaded, name, epoch, model_input)

    def validation_digit(self, name: Any, wrong: Any) -> dict[str, Any]:
        """A random image of the run's validation split; with `wrong` == "1", one the run's final
        weights get wrong. `index` counts in that split, as `mnist-lab inspect --index` does."""
        folder = self.folder(name)
        if wrong not in ("0", "1"):
            raise LabError(400, f"The 'wrong' parameter must be 0 or 1. Got {wrong!r} instead.")
        validation = self._validation_split(name, folder)
        if wrong == "1":
            candidates = self._wrong_indices(name, folder, validation)
            if not len(candidates):
                raise LabError(404, f"The run '{name}' gets every validation digit right.")
            index = int(self._random.choice(candidates))
        else:
            index = int(self._random.integers(len(validation.labels)))
        return {
            "pixels": rounded(validation.images[index] / 255),
            "label": int(validation.labels[index]),
            "index": index,
            "split": validation.name,
        }

    def _validation_split(self, name: str, folder: Path) -> Any:
        from mnist_lab.core import runs
        from mnist_lab.evaluation.splits import VALIDATION, run_split

        with self._lock:
            if name not in self._validation:
                try:
                    if self._dataset is None:
                        from mnist_lab.data import load_mnist

                        self._dataset = load_mnist()
                    self._validation[name] = run_split(runs.Run(folder), VALIDATION, self._dataset)
                except MnistLabError as error:
                    raise LabError(
                        500, f"The validation digits of run '{name}' cannot be read: {error}"
                    ) from None
            return self._validation[name]

    def _wrong_indices(self, name: str, folder: Path, validation: Any) -> np.ndarray:
        from mnist_lab.evaluation.reports import predict_probabilities

        loaded = self.models.get(name, folder)
        with loaded.lock:  # once per run: its validation images through the final weights
            if name not in self._wrong:
                use_epoch(loaded, name, folder, None)
                predicted = np.argmax(predict_probabilities(loaded.model, validation.images), 1)
                self._wrong[name] = np.flatnonzero(predicted != validation.labels)
        return self._wrong[name]
