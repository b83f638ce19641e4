"""The lab's JSON API on Starlette: the runs it serves, and what a run's model makes of a drawing.

GET  /              -> the page (static/index.html; its script and style under /static/).
GET  /api/runs     -> [{"name", "model", "test_accuracy", "epochs", "date", "epoch_weights",
                        "kept_epochs"}], one per served run, in the order given.
POST /api/predict  {"run": NAME, "image": "data:image/png;base64,..." | "pixels": 28x28 in [0, 1],
                    "epoch": N (optional)} -> {"run", "model", "epoch", "digit", "probability",
                    "probabilities", "input", "layers", "filters", "saliency", "saliency_scale"}.
GET  /api/test-digit?run=NAME&wrong=0|1 -> {"pixels": 28x28 in [0, 1], "label", "index"}: a random
                    MNIST test image, with wrong=1 one that the run's final model gets wrong.

A drawing goes through the same preparation as `mnist-lab predict` (images.py); pixels are the
network's input as they are. Every error is {"error": "one sentence"} with its status: 404 for a
run that is not served (the name is only ever looked up in the list, never joined to a path),
413 for a body over 1 MB or a picture above images.MAX_PIXELS (read from its header, before it is
decoded), 400 for anything else a client got wrong, 500 for a run whose model cannot be loaded.
Models load in Keras safe mode, once per run, into a small LRU cache; another epoch's weights are
loaded into the cached model (its Inspector follows the model's variables). Nothing is written.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mnist_lab.core import runs
from mnist_lab.core.errors import ImageError, MnistLabError, RunError, first_line
from mnist_lab.data import images

MAX_BODY = 1_000_000  # bytes: a 280x280 canvas as a PNG data URL is a few tens of kilobytes
CACHE_SIZE = 4  # models kept loaded: two runs side by side, and a couple to switch back to
CHANNELS = 16  # feature maps sent per layer: enough to see what a layer does
DECIMALS = 4
MAX_PIXELS = images.MAX_PIXELS  # a picture above this is refused from its header, never decoded
DATA_URL_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,")
STATIC = Path(__file__).parent / "static"  # the page: index.html, lab.js, lab.css


class LabError(Exception):
    """A request the lab answers with `status` and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def servable_runs(
    runs_dir: str | Path | None = "runs", named: Iterable[str | Path] = ()
) -> list[Path]:
    """The completed runs (they have a metrics.json and a model.keras) under `runs_dir`, oldest
    first, then the `named` folders in order, each once. Unfinished runs under `runs_dir` are
    skipped; a named folder that is not a completed run raises RunError."""
    found: list[Path] = []
    if runs_dir is not None:
        listed = [Path(summary["run"]) for summary in runs.list_runs(runs_dir)]
        found += [folder for folder in listed if _completed(folder)]
    for folder in map(Path, named):
        folder = folder.expanduser()
        if not _completed(folder):
            raise RunError(
                f"{folder} is not a completed run (it has no {runs.METRICS} and {runs.MODEL}); "
                "'mnist-lab runs' lists the runs and 'mnist-lab train reference' trains one."
            )
        found.append(folder)
    served, seen = [], set()
    for folder in found:
        if folder.resolve() not in seen:
            seen.add(folder.resolve())
            served.append(folder)
    return served


def _completed(folder: Path) -> bool:
    return (folder / runs.METRICS).is_file() and (folder / runs.MODEL).is_file()


def _unique_names(folders: Sequence[Path]) -> dict[str, Path]:
    """Each folder under its own name; a second folder of the same name gets -2, -3..."""
    named: dict[str, Path] = {}
    for folder in folders:
        name, attempt = folder.name, 1
        while name in named:
            attempt += 1
            name = f"{folder.name}-{attempt}"
        named[name] = folder
    return named


def run_summary(name: str, folder: Path) -> dict[str, Any]:
    """What the run picker shows: model, test accuracy, epochs, date and kept epochs."""
    run = runs.Run(folder)
    summary: dict[str, Any] = {"name": name, "model": None, "test_accuracy": None, "epochs": None}
    summary["date"] = None
    try:
        summary["model"] = run.config.get("model")
        summary["test_accuracy"] = run.metrics.get("test_accuracy")
        state = run.state
        summary["epochs"] = state.get("epochs_done")
        summary["date"] = state.get("updated")
    except MnistLabError as error:
        summary["error"] = str(error)
    epochs = sorted(run.epoch_weights)
    summary["epoch_weights"] = bool(epochs)
    summary["kept_epochs"] = epochs
    return summary


# --- the models, loaded once -------------------------------------------------------------------


@dataclass
class _Loaded:
    """One run's model and inspector; `epoch` says whose weights it holds (None: the final)."""

    model: Any
    inspector: Any
    final_weights: list[np.ndarray]
    epoch: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Models:
    """A small LRU cache of loaded runs, safe for the server's threads."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._cache: OrderedDict[str, _Loaded] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, name: str, folder: Path) -> _Loaded:
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:  # one thread loads a run; the others wait for it
            with self._lock:
                if name in self._cache:
                    return self._cache[name]
            loaded = _load(name, folder)
            with self._lock:
                self._cache[name] = loaded
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
            return loaded


def _load(name: str, folder: Path) -> _Loaded:
    from mnist_lab.evaluation.inspection import Inspector
    from mnist_lab.evaluation.reports import load_run_model

    try:
        model = load_run_model(folder)
        model_name = str(runs.Run(folder).config.get("model", name))
        inspector = Inspector(model, name=model_name)
        inspector.layer_table()  # opens the graph now: a model the lab cannot open fails here
    except MnistLabError as error:  # RunError, InspectionError
        raise LabError(500, f"The run '{name}' cannot be loaded: {error}") from None
    return _Loaded(model, inspector, [np.array(w) for w in model.get_weights()])


def _use_epoch(loaded: _Loaded, name: str, folder: Path, epoch: int | None) -> None:
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


# --- reading a request ---------------------------------------------------------------------------


async def _read_body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY, by its Content-Length or by what arrives."""
    too_big = LabError(413, f"The request is larger than {MAX_BODY:,} bytes; send a smaller image.")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise LabError(400, "The Content-Length header is not a number of bytes.")
        if int(length) > MAX_BODY:
            raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_big
    return bytes(body)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise LabError(
            400, 'The request body is not JSON; send {"run": NAME, "image": DATA_URL}.'
        ) from None
    if not isinstance(payload, dict):
        raise LabError(400, 'The request body must be a JSON object such as {"run": NAME, ...}.')
    return payload


def _epoch(payload: dict[str, Any], name: str, folder: Path) -> int | None:
    epoch = payload.get("epoch")
    if epoch is None:
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise LabError(400, f"The 'epoch' field must be an int >= 1. Got {epoch!r} instead.")
    kept = sorted(runs.Run(folder).epoch_weights)
    if epoch not in kept:
        which = f"it kept epochs {', '.join(map(str, kept))}" if kept else "it kept no epochs"
        raise LabError(400, f"The run '{name}' has no weights for epoch {epoch}: {which}.")
    return epoch


def _digit_from_data_url(url: Any) -> np.ndarray:
    """A PNG or JPEG data URL -> the uint8 (28, 28) digit `mnist-lab predict` would see."""
    from PIL import Image, UnidentifiedImageError

    if not isinstance(url, str) or not url.startswith(DATA_URL_PREFIXES):
        raise LabError(
            400, "The 'image' field must be a data URL: data:image/png;base64,... (or jpeg)."
        )
    try:
        data = base64.b64decode(url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        raise LabError(400, "The 'image' field is not valid base64 after 'base64,'.") from None
    try:
        with (
            images._own_size_check(),
            Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as image,
        ):
            width, height = image.size
            if width * height > MAX_PIXELS:  # from the header, before decoding
                raise LabError(
                    413,
                    f"The image is {width:,} x {height:,} pixels, more than the "
                    f"{MAX_PIXELS // 1_000_000} megapixels a digit needs.",
                )
            image.draft("L", (images.WORKING_SIDE, images.WORKING_SIDE))
            image.load()
            gray = images._grayscale(images._shrunk(image))
    except UnidentifiedImageError:
        raise LabError(400, "The 'image' field is not a PNG or JPEG image.") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise LabError(400, f"The image is damaged or unsupported ({first_line(error)}).") from None
    try:
        return images._prepare(gray, "The drawing")
    except ImageError as error:
        raise LabError(400, str(error)) from None


def _input_from_pixels(pixels: Any) -> np.ndarray:
    """28x28 numbers in [0, 1] -> the float32 (28, 28) network input, as they are."""
    rule = "The 'pixels' field must be 28 rows of 28 numbers from 0 to 1"
    if not isinstance(pixels, list) or len(pixels) != images.SIZE:
        raise LabError(400, f"{rule}. Got {_shape_of(pixels)} instead.")
    for row in pixels:
        if not isinstance(row, list) or len(row) != images.SIZE:
            raise LabError(400, f"{rule}. Got a row of {_shape_of(row)} instead.")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row):
            raise LabError(400, f"{rule}. Got a value that is not a number.")
    try:
        array = np.asarray(pixels, dtype=np.float64)
    except OverflowError:
        raise LabError(400, f"{rule}. Got a number too large for a float.") from None
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise LabError(400, f"{rule}. Got values from {array.min()} to {array.max()}.")
    if array.max() < images.MIN_CONTRAST:
        raise LabError(400, "The pixels are blank: draw a digit first.")
    return array.astype(np.float32)


def _shape_of(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} items"
    return f"a {type(value).__name__}"


# --- answering ----------------------------------------------------------------------------------


def _rounded(array: Any) -> Any:
    """Nested lists of floats with DECIMALS decimals (via float64: float32 prints long)."""
    return np.round(np.asarray(array, dtype=np.float64), DECIMALS).tolist()


def _answer(loaded: _Loaded, name: str, epoch: int | None, model_input: np.ndarray) -> dict:
    """Look at one input and put what the model saw into JSON-ready lists."""
    look = loaded.inspector.look(model_input)
    layers = []
    for layer_name, maps in look.feature_maps.items():
        shown = np.moveaxis(maps[..., :CHANNELS], -1, 0)  # (channels, height, width)
        layers.append({"name": layer_name, "shape": list(maps.shape), "maps": _rounded(shown)})
    filters = None
    if look.feature_maps:
        kernel = loaded.inspector.first_layer_filters()  # (kh, kw, input channels, filters)
        filters = {
            "layer": loaded.inspector.conv_names[0],
            "shape": list(kernel.shape),
            "kernels": _rounded(np.moveaxis(kernel[:, :, 0, :], -1, 0)),
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
        "probabilities": _rounded(look.probabilities),
        "input": _rounded(pixels),
        "layers": layers,
        "filters": filters,
        "saliency": _rounded(saliency),
        "saliency_scale": scale,
    }


class _Lab:
    """The served runs and their loaded models; the routes call its two methods."""

    def __init__(self, run_folders: Sequence[Path]) -> None:
        self.runs = _unique_names([Path(folder) for folder in run_folders])
        self.models = _Models()
        self._test_set: Any = None  # MNIST's test split, read on the first test digit asked
        self._wrong: dict[str, np.ndarray] = {}  # run name -> indices its final model gets wrong
        self._lock = threading.Lock()
        self._random = np.random.default_rng()

    def list_runs(self) -> list[dict[str, Any]]:
        return [run_summary(name, folder) for name, folder in self.runs.items()]

    def folder(self, name: Any) -> Path:
        if not isinstance(name, str):
            raise LabError(400, "The 'run' field must be the name of a run from GET /api/runs.")
        if name not in self.runs:  # looked up, never joined to a path
            known = ", ".join(self.runs) or "none"
            shown = name if len(name) <= 80 else name[:80] + "..."
            raise LabError(404, f"There is no run named {shown!r} here (the runs: {known}).")
        return self.runs[name]

    def predict(self, payload: dict[str, Any]) -> dict[str, Any]:
        name = payload.get("run")
        folder = self.folder(name)
        has_image, has_pixels = "image" in payload, "pixels" in payload
        if has_image and has_pixels:
            raise LabError(400, "Send 'image' or 'pixels', not both.")
        if not has_image and not has_pixels:
            raise LabError(400, "Send the digit as 'image' (a data URL) or 'pixels' (28x28).")
        if has_image:
            model_input = _digit_from_data_url(payload["image"])
        else:
            model_input = _input_from_pixels(payload["pixels"])
        epoch = _epoch(payload, name, folder)
        loaded = self.models.get(name, folder)
        with loaded.lock:  # the weights stay those of `epoch` while the model looks
            _use_epoch(loaded, name, folder, epoch)
            return _answer(loaded, name, epoch, model_input)

    def test_digit(self, name: Any, wrong: Any) -> dict[str, Any]:
        """A random test image; with `wrong` == "1", one the run's final weights get wrong."""
        folder = self.folder(name)
        if wrong not in ("0", "1"):
            raise LabError(400, f"The 'wrong' parameter must be 0 or 1. Got {wrong!r} instead.")
        with self._lock:
            test = self._test_split()
        if wrong == "1":
            candidates = self._wrong_indices(name, folder, test)
            if not len(candidates):
                raise LabError(404, f"The run '{name}' gets every test digit right.")
            index = int(self._random.choice(candidates))
        else:
            index = int(self._random.integers(len(test.labels)))
        return {
            "pixels": _rounded(test.images[index] / 255),
            "label": int(test.labels[index]),
            "index": index,
        }

    def _test_split(self) -> Any:
        if self._test_set is None:
            from mnist_lab.data import load_mnist

            try:
                self._test_set = load_mnist().test
            except MnistLabError as error:
                raise LabError(500, f"The MNIST test set cannot be read: {error}") from None
        return self._test_set

    def _wrong_indices(self, name: str, folder: Path, test: Any) -> np.ndarray:
        from mnist_lab.evaluation.reports import _predict

        loaded = self.models.get(name, folder)
        with loaded.lock:  # once per run: the whole test set through the final weights
            if name not in self._wrong:
                _use_epoch(loaded, name, folder, None)
                predicted = np.argmax(_predict(loaded.model, test.images), axis=1)
                self._wrong[name] = np.flatnonzero(predicted != test.labels)
        return self._wrong[name]


def create_app(run_folders: Sequence[str | Path]) -> Starlette:
    """The lab's ASGI application serving the given run folders (see `servable_runs`)."""
    lab = _Lab([Path(folder) for folder in run_folders])

    async def api_runs(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(lab.list_runs))

    async def api_predict(request: Request) -> JSONResponse:
        payload = _parse(await _read_body(request))
        return JSONResponse(await run_in_threadpool(lab.predict, payload))

    async def api_test_digit(request: Request) -> JSONResponse:
        run, wrong = request.query_params.get("run"), request.query_params.get("wrong", "0")
        return JSONResponse(await run_in_threadpool(lab.test_digit, run, wrong))

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "index.html")

    async def lab_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, LabError)
        return JSONResponse({"error": str(error)}, status_code=error.status)

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        messages = {
            404: f"There is nothing at {request.url.path}; the page is at / and the API is "
            "/api/runs, /api/predict and /api/test-digit.",
            405: f"{request.url.path} does not answer {request.method} requests.",
        }
        message = messages.get(error.status_code, str(error.detail))
        return JSONResponse({"error": message}, status_code=error.status_code)

    async def server_error(request: Request, error: Exception) -> JSONResponse:
        message = f"The lab failed on this request ({first_line(error, with_type=True)})."
        return JSONResponse({"error": message}, status_code=500)

    app = Starlette(
        routes=[
            Route("/api/runs", api_runs, methods=["GET"]),
            Route("/api/predict", api_predict, methods=["POST"]),
            Route("/api/test-digit", api_test_digit, methods=["GET"]),
            Route("/", page, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={
            LabError: lab_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.lab = lab
    return app
