"""Look inside a CNN: its first layer's filters, what every convolution answers to a digit, and
which pixels the answer depends on (saliency).

Numpy in and out. Images are MNIST digits: uint8 (N, 28, 28) as `load_mnist` gives them, or the
model's float inputs in [0, 1], (N, 28, 28, 1); one image drops the N. Keras objects stay in here.

The feature maps come from one Keras model with several outputs, the probabilities and every
Conv2D layer's output (after the layer's own activation, if it has one), built by calling the
model's own layers, with their weights, on a new input. A Sequential or functional block nested
in the model is opened up on the way, so the convolutions inside it are outputs too: one pass
through the network gives every map. The saliency of a digit is the gradient of its logit (the
final softmax Dense layer's pre-activation, from its kernel and bias) with respect to the input
pixels (as the model sees them, in [0, 1]), from `tf.GradientTape`: where it is large, changing
the pixel changes the digit's score most. The probability's gradient would say little: a
confident network's softmax is saturated, and its gradient nearly zero everywhere.

`Inspector(model)` opens a model once for many questions (the lab page asks one per drawing);
the functions `feature_maps`, `first_layer_filters`, `saliency`, `conv_layers` and `layer_table`
answer one question each. `inspect_run` writes a run's three figures (`mnist-lab inspect`).

The modules, one job each: `graph` opens a model's graph, `arrays` converts numpy in and out,
`inspector` asks the questions, `digits` chooses the digits and names the figures' files,
`figures` draws and writes them, `run` inspects a run. This package re-exports their public
names, the path students (`mnist_lab.inspection`), pages and the CLI use.
"""

from mnist_lab.evaluation.inspection.digits import FEATURE_MAPS_PNG, FILTERS_PNG, SALIENCY_PNG
from mnist_lab.evaluation.inspection.figures import CHANNELS_SHOWN
from mnist_lab.evaluation.inspection.graph import IMAGE_SHAPE, InspectionError
from mnist_lab.evaluation.inspection.inspector import (
    LOG_PROBABILITY,
    LOGIT,
    Inspector,
    Look,
    NoConvolutionError,
    conv_layers,
    feature_maps,
    first_layer_filters,
    layer_table,
    saliency,
)
from mnist_lab.evaluation.inspection.run import inspect_run

__all__ = [
    "CHANNELS_SHOWN",
    "FEATURE_MAPS_PNG",
    "FILTERS_PNG",
    "IMAGE_SHAPE",
    "InspectionError",
    "LOGIT",
    "LOG_PROBABILITY",
    "Inspector",
    "Look",
    "NoConvolutionError",
    "SALIENCY_PNG",
    "conv_layers",
    "feature_maps",
    "first_layer_filters",
    "inspect_run",
    "layer_table",
    "saliency",
]
