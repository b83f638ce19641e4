"""Look inside a CNN: its first layer's filters, what every convolution answers to a digit, and
which pixels the answer depends on (saliency).

Numpy in and out. Images are MNIST digits: uint8 (N, 28, 28) as `load_mnist` gives them, or the
model's float inputs in [0, 1], (N, 28, 28, 1); one image drops the N. Keras objects stay in here.

The feature maps come from one Keras model with several outputs, the probabilities and every
Conv2D layer's output (after the layer's own activation, if it has one), built by calling the
model's own layers, with their weights, on a new input. A Sequential or functional block nested
in the model is opened up on the way, so the convolutions inside it are outputs too: one pass
through the network gives every map. The saliency of a digit is the gradient of its probability
with respect to the input pixels (as the model sees them, in [0, 1]), from `tf.GradientTape`:
where it is large, changing the pixel changes the answer most.

`Inspector(model)` opens a model once for many questions (the lab page asks one per drawing);
the functions `feature_maps`, `first_layer_filters`, `saliency`, `conv_layers` and `layer_table`
answer one question each. `inspect_run` writes a run's three figures (`mnist-lab inspect`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.errors import ConfigError, MnistLabError, RunError

FILTERS_PNG, FEATURE_MAPS_PNG, SALIENCY_PNG = "filters.png", "feature_maps.png", "saliency.png"
CHANNELS_SHOWN = 16  # feature maps per layer in the figure: enough to see what a layer does
IMAGE_SHAPE = (28, 28)


class InspectionError(MnistLabError):
    """A model cannot be looked inside: no convolutions, or layers Keras cannot open."""


class NoConvolutionError(InspectionError):
    """The model has no Conv2D layer, so it has no filters or feature maps to show."""


@dataclass
class Look:
    """What a model makes of one image: its answer, every feature map and the answer's saliency.

    `probabilities` is (10,), `digit` its argmax and `probability` that digit's; `feature_maps`
    maps each convolution's name to its (height, width, channels) output, in the order the
    network runs them (empty for a model without convolutions); `saliency` is (28, 28).
    """

    digit: int
    probability: float
    probabilities: np.ndarray = field(repr=False)
    feature_maps: dict[str, np.ndarray] = field(repr=False)
    saliency: np.ndarray = field(repr=False)


@dataclass
class _Opened:
    """A model's graph rebuilt on a new input with every nested block opened (see `_Opener`)."""

    feature_model: Any  # keras.Model: image -> [probabilities, conv outputs...]
    conv_names: list[str]
    conv_layers: list[Any]
    rows: list[dict[str, Any]]


class Inspector:
    """One model, opened once: its layers, filters, feature maps and saliency, for many images.

    `name` is how errors call the model (a run's registered name, such as 'reference-dropout');
    it defaults to the Keras model's own name. The inspector uses the model's own layers and
    variables: weights loaded into the model later (another epoch's) are what it shows next.
    """

    def __init__(self, model: Any, name: str | None = None) -> None:
        self.model = model
        self.name = name or str(getattr(model, "name", type(model).__name__))
        self._opened: _Opened | None = None
        self._look_function: Callable[[np.ndarray], Any] | None = None

    def __repr__(self) -> str:
        return f"Inspector({self.name!r})"

    # --- the graph ----------------------------------------------------------------------------

    @property
    def _graph(self) -> _Opened:
        if self._opened is None:
            self._opened = _open(self.model, self.name)
        return self._opened

    @property
    def conv_names(self) -> list[str]:
        """The convolutions' names in the order the network runs them; a nested block's are
        'block/conv'. Empty for a model without convolutions."""
        return list(self._graph.conv_names)

    def require_convolutions(self) -> None:
        """Raise NoConvolutionError, with what to do instead, unless the model has a Conv2D."""
        if not self._graph.conv_names:
            raise NoConvolutionError(
                f"The model '{self.name}' has no convolution layers: there are no filters or "
                f"feature maps to show; try a run of {_convolutional_models()}."
            )

    def layer_table(self) -> list[dict[str, Any]]:
        """One row per layer the network runs, in order: {"name", "type", "output_shape"
        (without the batch axis), "params", "conv" (a Conv2D)}. A nested block's layers are
        listed one by one, named 'block/layer'; a layer used twice counts its parameters once."""
        return [dict(row) for row in self._graph.rows]

    # --- answers --------------------------------------------------------------------------------

    def first_layer_filters(self) -> np.ndarray:
        """The first convolution's kernel, (kh, kw, input channels, filters)."""
        self.require_convolutions()
        import keras

        return np.asarray(keras.ops.convert_to_numpy(self._graph.conv_layers[0].kernel))

    def feature_maps(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Every convolution's output for a batch of images: name -> (N, height, width, channels),
        in the order the network runs them, from one pass through the network."""
        self.require_convolutions()
        _, maps = self._forward(_as_batch(images, self._dtype))
        return maps

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """The model's probabilities (N, 10) for a batch of images."""
        return _numpy(self.model(_as_batch(images, self._dtype), training=False))

    def saliency(self, image: np.ndarray, digit: int) -> np.ndarray:
        """d p(digit) / d pixel for one image: (28, 28), the model's float dtype.

        Positive where more ink would make the digit more likely, negative where less would.
        Works for every model, with or without convolutions.
        """
        import tensorflow as tf

        digit = _check_digit(digit)
        x = tf.convert_to_tensor(_as_batch(image, self._dtype, single=True))
        with tf.GradientTape() as tape:
            tape.watch(x)
            probability = self.model(x, training=False)[0, digit]
        return _numpy(tape.gradient(probability, x))[0, ..., 0]

    def look(self, image: np.ndarray) -> Look:
        """One image through the opened network once: the answer, every map and the saliency
        of the predicted digit (one forward and one backward pass).

        The pass is a compiled `tf.function`, traced on the first call (about half a second),
        then a few milliseconds per image: the lab page calls it on every drawing.
        """
        if self._look_function is None:
            self._look_function = self._compile_look()
        outputs, gradient = self._look_function(_as_batch(image, self._dtype, single=True))
        probabilities = _numpy(outputs[0])[0]
        digit = int(np.argmax(probabilities))
        names = self._graph.conv_names
        return Look(
            digit=digit,
            probability=float(probabilities[digit]),
            probabilities=probabilities,
            feature_maps={name: maps[0] for name, maps in _named(names, outputs[1:]).items()},
            saliency=_numpy(gradient)[0, ..., 0],
        )

    # --- helpers --------------------------------------------------------------------------------

    @property
    def _dtype(self) -> str:
        return _input_spec(self.model)[1]

    def _compile_look(self) -> Callable[[np.ndarray], Any]:
        """probabilities, feature maps and the input gradient of the top probability, compiled."""
        import tensorflow as tf

        shape, dtype = _input_spec(self.model)
        feature_model = self._graph.feature_model

        @tf.function(input_signature=[tf.TensorSpec([1, *shape], dtype)])
        def look(x: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = _as_list(feature_model(x, training=False))
                probabilities = outputs[0][0]
                chosen = tf.gather(probabilities, tf.argmax(probabilities))
            return outputs, tape.gradient(chosen, x)

        return look

    def _forward(self, batch: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        outputs = _as_list(self._graph.feature_model(batch, training=False))
        return _numpy(outputs[0]), _named(self._graph.conv_names, outputs[1:])


# --- one question each ----------------------------------------------------------------------


def conv_layers(model: Any) -> list[str]:
    """The names of a model's Conv2D layers in the order the network runs them ([] if none)."""
    return Inspector(model).conv_names


def layer_table(model: Any) -> list[dict[str, Any]]:
    """The layers the network runs, with output shapes and parameters (see Inspector)."""
    return Inspector(model).layer_table()


def feature_maps(model: Any, images: np.ndarray) -> dict[str, np.ndarray]:
    """Every Conv2D layer's output for `images`: name -> (N, height, width, channels), in order.

    `images` are uint8 (N, 28, 28) digits or float model inputs in [0, 1], (N, 28, 28, 1).
    Raises NoConvolutionError for a model without convolutions.
    """
    return Inspector(model).feature_maps(images)


def first_layer_filters(model: Any) -> np.ndarray:
    """The kernel of the model's first Conv2D layer: (kh, kw, input channels, filters)."""
    return Inspector(model).first_layer_filters()


def saliency(model: Any, image: np.ndarray, digit: int) -> np.ndarray:
    """The gradient of `digit`'s probability with respect to the 28x28 input pixels of `image`
    (uint8 (28, 28) or float in [0, 1], (28, 28) or (28, 28, 1)), as a (28, 28) array."""
    return Inspector(model).saliency(image, digit)


# --- opening the graph ----------------------------------------------------------------------


def _open(model: Any, name: str) -> _Opened:
    """Call the model's layers on a new input, nested blocks opened, and keep every conv's output.

    A functional model is replayed node by node with `Functional._run_through_graph`, the method
    its own `call` uses; a Sequential one layer by layer. Each layer is the model's own object,
    so the weights are shared, not copied.
    """
    import keras

    shape, dtype = _input_spec(model)
    opener = _Opener(name)
    inputs = keras.Input(shape=shape, dtype=dtype, name="inspected_image")
    output = opener.call(model, (inputs,), {}, prefix="", top=True)
    if opener.hidden:  # convolutions inside a custom layer: no graph reaches them
        some = "some of its" if opener.conv_names else "its"
        raise InspectionError(
            f"The model '{name}' keeps {some} convolutions inside the custom layer "
            f"{', '.join(sorted(opener.hidden))}, whose insides Keras cannot show, so its feature "
            "maps cannot all be read; build that block from Keras layers (Sequential or the "
            "functional API) to look inside it."
        )
    opened_name = f"{model.name}_opened"
    feature_model = keras.Model(inputs, [output, *opener.conv_outputs], name=opened_name)
    return _Opened(feature_model, opener.conv_names, opener.conv_layers, opener.rows)


class _Opener:
    """Replays a model's layers on new symbolic tensors, recording rows and convolutions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []
        self.conv_names: list[str] = []
        self.conv_layers: list[Any] = []
        self.conv_outputs: list[Any] = []
        self.hidden: set[str] = set()
        self._counted: set[int] = set()

    def call(self, layer: Any, args: Sequence[Any], kwargs: dict, *, prefix: str, top=False):
        import keras

        inner = prefix if top else f"{prefix}{layer.name}/"
        if isinstance(layer, keras.Sequential):
            x = args[0]
            for sub in layer.layers:
                x = self.call(sub, (x,), {}, prefix=inner)
            return x
        if isinstance(layer, keras.Model) and hasattr(layer, "_run_through_graph"):

            def replay(operation: Any) -> Callable[..., Any]:
                return lambda *a, **k: self.call(operation, a, k, prefix=inner)

            return layer._run_through_graph(args[0], operation_fn=replay)
        if isinstance(layer, keras.Model):
            raise InspectionError(
                f"The model '{self.name}' is a subclassed keras.Model ({type(layer).__name__}): "
                "its layers form no graph that Keras can open; build it with keras.Sequential or "
                "the functional API to look inside it."
            )
        outputs = layer(*args, **kwargs)
        self._record(layer, outputs, prefix)
        return outputs

    def _record(self, layer: Any, outputs: Any, prefix: str) -> None:
        import keras

        first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        name = f"{prefix}{layer.name}"
        params = 0
        if id(layer) not in self._counted and hasattr(layer, "count_params"):
            self._counted.add(id(layer))
            params = int(layer.count_params()) if getattr(layer, "built", True) else 0
        is_conv = isinstance(layer, keras.layers.Conv2D)
        if is_conv:
            calls = sum(1 for known in self.conv_layers if known is layer)
            name = f"{name} (call {calls + 1})" if calls else name
            self.conv_names.append(name)
            self.conv_layers.append(layer)
            self.conv_outputs.append(first)
        else:
            flatten = getattr(layer, "_flatten_layers", None)
            inside = list(flatten(include_self=False)) if callable(flatten) else []
            if any(isinstance(sub, keras.layers.Conv2D) for sub in inside):
                self.hidden.add(f"'{name}' ({type(layer).__name__})")
        self.rows.append(
            {
                "name": name,
                "type": type(layer).__name__,
                "output_shape": tuple(int(d) if d is not None else None for d in first.shape[1:]),
                "params": params,
                "conv": is_conv,
            }
        )


def _input_spec(model: Any) -> tuple[tuple[int, ...], str]:
    """The shape (without the batch axis) and dtype of the model's one input."""
    import keras

    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs and len(inputs) > 1:
        raise InspectionError(
            f"The model '{model.name}' takes {len(inputs)} inputs; an MNIST model takes one image."
        )
    if inputs:
        return tuple(inputs[0].shape[1:]), str(inputs[0].dtype)
    return (*IMAGE_SHAPE, 1), keras.backend.floatx()


def _convolutional_models() -> str:
    """The registered models tagged 'cnn', as a suggestion (reference first)."""
    try:
        from mnist_lab.models import registry

        names = [name for name in registry.list_models() if "cnn" in registry.model_info(name).tags]
    except MnistLabError:
        names = []
    names = sorted(names, key=lambda name: (name != "reference", name)) or ["reference"]
    joined = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    return f"{joined} (a convolutional model; 'mnist-lab train reference' trains one)"


# --- numpy in, numpy out --------------------------------------------------------------------


def _named(names: Sequence[str], outputs: Sequence[Any]) -> dict[str, np.ndarray]:
    """Each convolution's name with its output, as numpy."""
    return {name: _numpy(out) for name, out in zip(names, outputs, strict=True)}


def _as_list(outputs: Any) -> list[Any]:
    """A model's outputs as a list (Keras returns a lone output bare)."""
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _numpy(value: Any) -> np.ndarray:
    """A tensor as numpy; a bfloat16 model's activations and gradients as float32, which numpy,
    matplotlib and JSON all understand."""
    import keras

    array = np.asarray(keras.ops.convert_to_numpy(value))
    return array.astype(np.float32) if str(array.dtype) in ("bfloat16", "float16") else array


def _as_batch(images: Any, dtype: str, *, single: bool = False) -> np.ndarray:
    """uint8 digits or float inputs in [0, 1] as the model's (N, 28, 28, 1) input batch."""
    from mnist_lab.data.preprocess import normalize

    images = np.asarray(images)
    what = "an image (28, 28) or (28, 28, 1)" if single else "images (N, 28, 28) or (N, 28, 28, 1)"
    if single:
        if images.shape not in (IMAGE_SHAPE, (*IMAGE_SHAPE, 1)):
            raise ValueError(f"Expected {what}, got shape {images.shape}.")
        images = images.reshape(1, *IMAGE_SHAPE)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (*IMAGE_SHAPE, 1):
        raise ValueError(f"Expected {what}, got shape {images.shape}.")
    if images.dtype == np.uint8:
        return normalize(images).astype(dtype)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected uint8 pixels (0..255) or floats in [0, 1], got dtype {images.dtype}."
        )
    if images.size and (not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"Expected float pixels in [0, 1], got values from {images.min()} to {images.max()}; "
            "divide 0..255 pixels by 255 first (or pass them as uint8)."
        )
    return images.astype(dtype)


def _check_digit(digit: Any) -> int:
    if isinstance(digit, (bool, np.bool_)) or not isinstance(digit, (int, np.integer)):
        raise ValueError(f"digit must be an int from 0 to 9, got {digit!r}.")
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"digit must be an int from 0 to 9, got {digit}.")
    return int(digit)


# --- a run's figures (mnist-lab inspect) ----------------------------------------------------


@dataclass
class _Digit:
    """One image to look at: its pixels, where it came from, and its label if known."""

    pixels: np.ndarray
    source: str
    label: int | None
    stem: str


def inspect_run(
    run_path: str | Path,
    images: Sequence[str | Path] = (),
    *,
    index: int | None = None,
    dataset: Any = None,
) -> dict[str, Any]:
    """Write a run's filters.png, feature_maps.png and saliency.png; return what they show.

    The digits looked at are the pictures `images` (prepared as `mnist-lab predict` prepares
    them) or else test image `index` (default 0) of MNIST: a look, not a choice of model. With
    several pictures, each gets feature_maps-NAME.png and saliency-NAME.png (NAME from its file
    name). Only these inspection figures are written; a run's own files are never touched.
    Returns {"run", "model", "layers" (layer_table), "digits": [{"source", "label", "digit",
    "probability", "files"}], "files" (every path written, as strings)}.
    `dataset` defaults to load_mnist() from the run's data folder.
    """
    from mnist_lab.core import runs
    from mnist_lab.data import images as image_files
    from mnist_lab.evaluation import plots
    from mnist_lab.evaluation.reports import load_run_model

    if images and index is not None:
        raise ConfigError(
            "The 'index' option chooses a test image: give it or pictures, not both.",
            option="index",
        )
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise ConfigError(
            f"The 'index' option must be an int >= 0. Got {index!r} instead.", option="index"
        )
    path = Path(run_path).expanduser()
    pictures = [
        _Digit(image_files.load_digit(p), str(p), None, Path(p).stem) for p in images
    ]  # read first: a bad file is reported before the model is loaded
    model = load_run_model(path)
    name = _run_model_name(runs.Run(path), path)
    inspector = Inspector(model, name=name)
    inspector.require_convolutions()
    digits = pictures or [_test_digit(runs.Run(path), index or 0, dataset)]
    targets = _targets(path, digits, [Path(p) for p in images])

    written: list[str] = []

    def save(figure: Any, target: Path) -> None:
        try:
            written.append(str(plots.save_figure(figure, target)))
        except OSError as error:
            raise RunError(
                f"Cannot write the figures into {path} ({error.strerror or error}); "
                "check that the run folder is writable."
            ) from None

    filters = inspector.first_layer_filters()
    kernel = "x".join(str(size) for size in filters.shape[:2])
    about = f"the {filters.shape[-1]} filters of its first convolution"
    title = f"{name}: {about} ({inspector.conv_names[0]}, {kernel})"
    save(plots.filters_figure(filters, title=title), targets["filters"])
    seen = []
    for digit, (maps_path, saliency_path) in zip(digits, targets["digits"], strict=True):
        look = inspector.look(digit.pixels)
        known = f" (true {digit.label})" if digit.label is not None else ""
        answer = f"predicted {look.digit} ({look.probability:.2%})"
        title = f"{name} on {digit.source}{known}: {answer}"
        save(plots.feature_maps_figure(look.feature_maps, digit.pixels, title=title), maps_path)
        save(
            plots.saliency_figure(
                digit.pixels,
                look.saliency,
                look.digit,
                look.probability,
                label=digit.label,
                title=f"{name} on {digit.source}",
            ),
            saliency_path,
        )
        seen.append(
            {
                "source": digit.source,
                "label": digit.label,
                "digit": look.digit,
                "probability": look.probability,
                "files": [str(maps_path), str(saliency_path)],
            }
        )
    return {
        "run": str(path),
        "model": name,
        "layers": inspector.layer_table(),
        "digits": seen,
        "files": written,
    }


def _run_model_name(run: Any, path: Path) -> str:
    try:
        return str(run.config.get("model", path.name))
    except RunError:
        return path.name


def _test_digit(run: Any, index: int, dataset: Any) -> _Digit:
    if dataset is None:
        from mnist_lab.data import load_mnist

        dataset = load_mnist(run.config.get("data_dir"))
    test_images, labels = dataset.test
    if index >= len(test_images):
        raise ConfigError(
            f"The 'index' option must be an int from 0 to {len(test_images) - 1} (the test set "
            f"has {len(test_images):,} images). Got {index} instead.",
            option="index",
        )
    return _Digit(test_images[index], f"test image {index}", int(labels[index]), f"test-{index}")


def _targets(path: Path, digits: list[_Digit], pictures: list[Path]) -> dict[str, Any]:
    """Where each figure goes: the plain names for one digit, NAME-suffixed ones for several.

    A figure never replaces one of the pictures being inspected.
    """
    if len(digits) == 1:
        pairs = [(path / FEATURE_MAPS_PNG, path / SALIENCY_PNG)]
    else:
        pairs, used = [], set()
        for digit in digits:
            stem, attempt = digit.stem, 1
            while stem in used:
                attempt += 1
                stem = f"{digit.stem}-{attempt}"
            used.add(stem)
            pairs.append((path / f"feature_maps-{stem}.png", path / f"saliency-{stem}.png"))
    inputs = {picture.expanduser().resolve() for picture in pictures}
    for target in [path / FILTERS_PNG, *(file for pair in pairs for file in pair)]:
        if target.resolve() in inputs:
            raise RunError(
                f"{target} is one of the pictures to inspect and would be replaced by a figure; "
                "copy the picture out of the run folder first."
            )
    return {"filters": path / FILTERS_PNG, "digits": pairs}
