"""The Inspector: one model, opened once, asked what it sees: its layers, its first layer's
filters, every convolution's feature maps and the saliency of its answer.

The feature maps come from the opened graph (graph.py): one pass through the network gives the
probabilities and every map. The saliency of a digit is the gradient of its probability with
respect to the input pixels (as the model sees them, in [0, 1]), from `tf.GradientTape`: where
it is large, changing the pixel changes the answer most. The functions `conv_layers`,
`layer_table`, `feature_maps`, `first_layer_filters` and `saliency` answer one question each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnist_lab.core.errors import MnistLabError
from mnist_lab.evaluation.inspection.arrays import as_batch, as_list, check_digit, named, to_numpy
from mnist_lab.evaluation.inspection.graph import (
    InspectionError,
    OpenedGraph,
    input_spec,
    open_graph,
)


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


class Inspector:
    """One model, opened once: its layers, filters, feature maps and saliency, for many images.

    `name` is how errors call the model (a run's registered name, such as 'reference-dropout');
    it defaults to the Keras model's own name. The inspector uses the model's own layers and
    variables: weights loaded into the model later (another epoch's) are what it shows next.
    """

    def __init__(self, model: Any, name: str | None = None) -> None:
        self.model = model
        self.name = name or str(getattr(model, "name", type(model).__name__))
        self._opened: OpenedGraph | None = None
        self._look_function: Callable[[np.ndarray], Any] | None = None

    def __repr__(self) -> str:
        return f"Inspector({self.name!r})"

    # --- the graph ----------------------------------------------------------------------------

    @property
    def _graph(self) -> OpenedGraph:
        if self._opened is None:
            self._opened = open_graph(self.model, self.name)
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
        _, maps = self._forward(as_batch(images, self._dtype))
        return maps

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """The model's probabilities (N, 10) for a batch of images."""
        return to_numpy(self.model(as_batch(images, self._dtype), training=False))

    def saliency(self, image: np.ndarray, digit: int) -> np.ndarray:
        """d p(digit) / d pixel for one image: (28, 28), the model's float dtype.

        Positive where more ink would make the digit more likely, negative where less would.
        Works for every model, with or without convolutions.
        """
        import tensorflow as tf

        digit = check_digit(digit)
        x = tf.convert_to_tensor(as_batch(image, self._dtype, single=True))
        with tf.GradientTape() as tape:
            tape.watch(x)
            probability = self.model(x, training=False)[0, digit]
        return to_numpy(tape.gradient(probability, x))[0, ..., 0]

    def look(self, image: np.ndarray) -> Look:
        """One image through the opened network once: the answer, every map and the saliency
        of the predicted digit (one forward and one backward pass).

        The pass is a compiled `tf.function`, traced on the first call (about half a second),
        then a few milliseconds per image: the lab page calls it on every drawing.
        """
        if self._look_function is None:
            self._look_function = self._compile_look()
        outputs, gradient = self._look_function(as_batch(image, self._dtype, single=True))
        probabilities = to_numpy(outputs[0])[0]
        digit = int(np.argmax(probabilities))
        names = self._graph.conv_names
        return Look(
            digit=digit,
            probability=float(probabilities[digit]),
            probabilities=probabilities,
            feature_maps={name: maps[0] for name, maps in named(names, outputs[1:]).items()},
            saliency=to_numpy(gradient)[0, ..., 0],
        )

    # --- helpers --------------------------------------------------------------------------------

    @property
    def _dtype(self) -> str:
        return input_spec(self.model)[1]

    def _compile_look(self) -> Callable[[np.ndarray], Any]:
        """probabilities, feature maps and the input gradient of the top probability, compiled."""
        import tensorflow as tf

        shape, dtype = input_spec(self.model)
        feature_model = self._graph.feature_model

        @tf.function(input_signature=[tf.TensorSpec([1, *shape], dtype)])
        def look(x: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = as_list(feature_model(x, training=False))
                probabilities = outputs[0][0]
                chosen = tf.gather(probabilities, tf.argmax(probabilities))
            return outputs, tape.gradient(chosen, x)

        return look

    def _forward(self, batch: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        outputs = as_list(self._graph.feature_model(batch, training=False))
        return to_numpy(outputs[0]), named(self._graph.conv_names, outputs[1:])


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
