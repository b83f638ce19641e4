"""The Inspector: one model, opened once, asked what it sees: its layers, its first layer's
filters, every convolution's feature maps and the saliency of its answer.

The feature maps come from the opened graph (graph.py): one pass through the network gives the
probabilities and every map. The saliency of a digit is the gradient of its logit (the score the
final softmax turns into a probability: the last Dense layer's kernel and bias applied to that
layer's input) with respect to the input pixels (as the model sees them, in [0, 1]), from
`tf.GradientTape`: where it is large, changing the pixel changes the digit's score most. Not the
probability's gradient: a confident network's softmax is saturated, and p (1 - p) multiplies
every gradient of p by almost zero. A model that does not end in a softmax Dense layer (or
whose graph cannot be opened) gets the gradient of the log-probability instead. The functions
`conv_layers`, `layer_table`, `feature_maps`, `first_layer_filters` and `saliency` answer one
question each.
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
    head_logits,
    input_spec,
    open_graph,
)

LOGIT, LOG_PROBABILITY = "logit", "log-probability"  # what a saliency is the gradient of
TINY = 1e-30  # the least probability whose log is taken: log(0) has no gradient


class NoConvolutionError(InspectionError):
    """The model has no Conv2D layer, so it has no filters or feature maps to show."""


@dataclass
class Look:
    """What a model makes of one image: its answer, every feature map and the answer's saliency.

    `probabilities` is (10,), `digit` its argmax and `probability` that digit's; `feature_maps`
    maps each convolution's name to its (height, width, channels) output, in the order the
    network runs them (empty for a model without convolutions); `saliency` is (28, 28), the
    gradient of the digit's logit (`saliency_of` is LOGIT) or, for a model that does not end in
    a softmax Dense layer, of its log-probability (LOG_PROBABILITY).
    """

    digit: int
    probability: float
    probabilities: np.ndarray = field(repr=False)
    feature_maps: dict[str, np.ndarray] = field(repr=False)
    saliency: np.ndarray = field(repr=False)
    saliency_of: str = LOGIT


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
        self._unopenable: InspectionError | None = None
        self._look_function: Callable[[np.ndarray], Any] | None = None

    def __repr__(self) -> str:
        return f"Inspector({self.name!r})"

    # --- the graph ----------------------------------------------------------------------------

    @property
    def _graph(self) -> OpenedGraph:
        if self._unopenable is not None:
            raise self._unopenable
        if self._opened is None:
            try:
                self._opened = open_graph(self.model, self.name)
            except InspectionError as error:  # remembered: saliency asks again on every image
                self._unopenable = error
                raise
        return self._opened

    def _head_graph(self) -> OpenedGraph | None:
        """The opened graph if the model ends in a softmax Dense layer (its logits can be
        computed), else None."""
        try:
            graph = self._graph
        except InspectionError:  # a subclassed model, a custom layer: no graph, no head
            return None
        return graph if graph.head is not None else None

    @property
    def saliency_of(self) -> str:
        """What `saliency` is the gradient of: LOGIT, or LOG_PROBABILITY for a model that does
        not end in a softmax Dense layer."""
        return LOGIT if self._head_graph() is not None else LOG_PROBABILITY

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
        """d logit(digit) / d pixel for one image: (28, 28), the model's float dtype.

        Positive where more ink would raise the digit's score, negative where less would. A
        model that does not end in a softmax Dense layer gets d log p(digit) / d pixel (see
        `saliency_of`). Works for every model, with or without convolutions.
        """
        import tensorflow as tf

        digit = check_digit(digit)
        graph = self._head_graph()
        x = tf.convert_to_tensor(as_batch(image, self._dtype, single=True))
        with tf.GradientTape() as tape:
            tape.watch(x)
            if graph is not None:
                _, _, features = graph.unpack(graph.feature_model(x, training=False))
                score = head_logits(graph.head, features)[0, digit]
            else:
                score = _log(self.model(x, training=False)[0, digit])
        return to_numpy(tape.gradient(score, x))[0, ..., 0]

    def look(self, image: np.ndarray) -> Look:
        """One image through the opened network once: the answer, every map and the saliency
        of the predicted digit (one forward and one backward pass).

        The pass is a compiled `tf.function`, traced on the first call (about half a second),
        then a few milliseconds per image: the lab page calls it on every drawing.
        """
        if self._look_function is None:
            self._look_function = self._compile_look()
        outputs, gradient = self._look_function(as_batch(image, self._dtype, single=True))
        probabilities, maps, _ = self._graph.unpack(outputs)
        probabilities = to_numpy(probabilities)[0]
        digit = int(np.argmax(probabilities))
        names = self._graph.conv_names
        return Look(
            digit=digit,
            probability=float(probabilities[digit]),
            probabilities=probabilities,
            feature_maps={name: maps[0] for name, maps in named(names, maps).items()},
            saliency=to_numpy(gradient)[0, ..., 0],
            saliency_of=self.saliency_of,
        )

    # --- helpers --------------------------------------------------------------------------------

    @property
    def _dtype(self) -> str:
        return input_spec(self.model)[1]

    def _compile_look(self) -> Callable[[np.ndarray], Any]:
        """probabilities, feature maps and the input gradient of the top digit's logit (or
        log-probability, without a head), compiled."""
        import tensorflow as tf

        shape, dtype = input_spec(self.model)
        graph = self._graph

        @tf.function(input_signature=[tf.TensorSpec([1, *shape], dtype)])
        def look(x: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = as_list(graph.feature_model(x, training=False))
                probabilities, _, features = graph.unpack(outputs)
                top = tf.argmax(probabilities[0])
                if graph.head is not None:
                    chosen = tf.gather(head_logits(graph.head, features)[0], top)
                else:
                    chosen = _log(tf.gather(probabilities[0], top))
            return outputs, tape.gradient(chosen, x)

        return look

    def _forward(self, batch: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        outputs = self._graph.feature_model(batch, training=False)
        probabilities, maps, _ = self._graph.unpack(outputs)
        return to_numpy(probabilities), named(self._graph.conv_names, maps)


def _log(probability: Any) -> Any:
    """log p, with p kept from 0 (where the log has no gradient) by TINY."""
    import keras

    return keras.ops.log(keras.ops.maximum(probability, TINY))


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
    """The gradient of `digit`'s logit with respect to the 28x28 input pixels of `image`
    (uint8 (28, 28) or float in [0, 1], (28, 28) or (28, 28, 1)), as a (28, 28) array; of its
    log-probability for a model that does not end in a softmax Dense layer (see Inspector)."""
    return Inspector(model).saliency(image, digit)
