"""Open a model's graph: its own layers called again on a new input, every nested block opened,
so that each convolution's output is an output of one new Keras model.

One pass through that model gives the probabilities, every feature map and, for a model that
ends in a softmax Dense layer (every model of the zoo does), that layer's input: its kernel and
bias turn it into the logits, the scores the softmax normalizes (`head_logits`), whose gradient
is the saliency. A functional model
is replayed node by node through `mnist_lab.core.keras_internals.replay` (the way its own
`call` runs); a Sequential one layer by layer. Each layer is the model's own object, so the
weights are shared, not copied. Subclassed models and convolutions hidden in a custom layer
form no graph that Keras can open: they raise InspectionError, saying what to build instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mnist_lab.core import keras_internals
from mnist_lab.core.errors import MnistLabError

IMAGE_SHAPE = (28, 28)


class InspectionError(MnistLabError):
    """A model cannot be looked inside: no convolutions, or layers Keras cannot open."""


@dataclass
class OpenedGraph:
    """A model's graph rebuilt on a new input with every nested block opened (`open_graph`).

    `feature_model` maps an image batch to [probabilities, each convolution's output..., and
    the head's input when there is a head] (`unpack` reads them); `conv_names` and `conv_layers`
    name those convolutions in the order the network runs them; `rows` is the layer table (see
    `Inspector.layer_table`); `head` is the Dense layer with a softmax activation whose output
    is the model's, or None when the model ends otherwise.
    """

    feature_model: Any = field(repr=False)  # keras.Model
    conv_names: list[str]
    conv_layers: list[Any] = field(repr=False)
    rows: list[dict[str, Any]] = field(repr=False)
    head: Any = field(default=None, repr=False)  # keras.layers.Dense

    def unpack(self, outputs: Any) -> tuple[Any, list[Any], Any]:
        """The feature model's outputs as (probabilities, the convolutions' outputs, the head's
        input or None)."""
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        end = 1 + len(self.conv_names)
        return outputs[0], outputs[1:end], outputs[end] if self.head is not None else None


def is_softmax_dense(layer: Any) -> bool:
    """Whether `layer` is a Dense layer with a softmax activation (a classifier's head)."""
    import keras

    return isinstance(layer, keras.layers.Dense) and layer.activation is keras.activations.softmax


def head_logits(head: Any, features: Any) -> Any:
    """The head's pre-activation, its kernel and bias applied to its input `features`: the
    logits, computed in the kernel's dtype (float32 also for a bfloat16 model)."""
    import keras

    logits = keras.ops.matmul(keras.ops.cast(features, head.kernel.dtype), head.kernel)
    return logits + head.bias if head.use_bias else logits


def open_graph(model: Any, name: str) -> OpenedGraph:
    """Call the model's layers on a new input, nested blocks opened, and keep every conv's output.

    `name` is how errors call the model. Raises InspectionError for a model whose layers form no
    graph Keras can open (subclassed models, convolutions inside a custom layer).
    """
    import keras

    shape, dtype = input_spec(model)
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
    head, features = opener.heads.get(id(_lone(output)), (None, None))
    outputs = [output, *opener.conv_outputs, *([features] if head is not None else [])]
    feature_model = keras.Model(inputs, outputs, name=f"{model.name}_opened")
    return OpenedGraph(feature_model, opener.conv_names, opener.conv_layers, opener.rows, head)


def _lone(output: Any) -> Any:
    """A model's one output, out of the list Keras may keep it in."""
    return output[0] if isinstance(output, (list, tuple)) and len(output) == 1 else output


def input_spec(model: Any) -> tuple[tuple[int, ...], str]:
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


class _Opener:
    """Replays a model's layers on new symbolic tensors, recording rows and convolutions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []
        self.conv_names: list[str] = []
        self.conv_layers: list[Any] = []
        self.conv_outputs: list[Any] = []
        self.hidden: set[str] = set()
        self.heads: dict[int, tuple[Any, Any]] = {}  # id(output) -> (softmax Dense, its input)
        self._counted: set[int] = set()

    def __repr__(self) -> str:
        return f"_Opener({self.name!r}, convolutions={self.conv_names})"

    def call(self, layer: Any, args: Sequence[Any], kwargs: dict, *, prefix: str, top=False):
        import keras

        inner = prefix if top else f"{prefix}{layer.name}/"
        if isinstance(layer, keras.Sequential):
            x = args[0]
            for sub in layer.layers:
                x = self.call(sub, (x,), {}, prefix=inner)
            return x
        if isinstance(layer, keras.Model) and keras_internals.can_replay(layer):

            def operation(node_layer: Any) -> Callable[..., Any]:
                return lambda *a, **k: self.call(node_layer, a, k, prefix=inner)

            return keras_internals.replay(layer, args[0], operation)
        if isinstance(layer, keras.Model):
            raise InspectionError(
                f"The model '{self.name}' is a subclassed keras.Model ({type(layer).__name__}): "
                "its layers form no graph that Keras can open; build it with keras.Sequential or "
                "the functional API to look inside it."
            )
        outputs = layer(*args, **kwargs)
        if is_softmax_dense(layer) and args:
            self.heads[id(outputs)] = (layer, args[0])
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
        elif _holds_convolutions(layer):
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


def _holds_convolutions(layer: Any) -> bool:
    """Whether a layer that is not a Conv2D keeps Conv2D layers inside it (a custom layer)."""
    import keras

    return any(
        isinstance(sub, keras.layers.Conv2D) and sub is not layer
        for sub in keras_internals.sublayers(layer)
    )
