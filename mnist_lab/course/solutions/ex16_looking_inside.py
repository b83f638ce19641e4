"""Exercise 16: looking inside a trained CNN.

A CNN is not a black box: every number it computes on the way to its answer can be read. Three
looks tell most of its story.

- Feature maps. Each Conv2D layer turns its input into one map per filter, showing where that
  filter found its pattern. A Keras model can have several outputs, so one model from the
  network's input to the outputs of all its Conv2D layers gives every map in one pass:
  `keras.Model(inputs=model.inputs, outputs=[layer.output for layer in convolutions])`. The
  layers are the network's own, with its weights: nothing is copied or retrained.
- Filters. The first convolution looks at raw pixels, so its kernels can be drawn as small
  images: edges, strokes, blobs. A Conv2D keeps its kernel, of shape (kh, kw, input channels,
  filters), as the first of its weights (the second is the bias).
- Saliency. Which pixels does the answer depend on? The gradient of one digit's score with
  respect to the input pixels says how much nudging each pixel would change it; TensorFlow's
  GradientTape records the forward pass and gives that gradient. The score to take is the
  digit's logit: what the last layer, Dense(10, activation="softmax"), computes before its
  softmax, its kernel and bias applied to its input. Not the probability: the softmax of a
  confident network is saturated (its derivative, p (1 - p), is nearly 0 when p is nearly 1),
  so the probability's gradient is tiny on every pixel and says little.

The tests compare your three functions with the library's own (`mnist_lab.inspection`, which
`mnist-lab inspect` uses) on the reference CNN and on a functional model, and check that the
maps come from one Keras model with several outputs.

Write the three functions below, then run `mnist-lab exercises check 16`.

Course page: docs/exercises/16-looking-inside.md
"""

import keras
import numpy as np


def feature_maps(model: keras.Model, images: np.ndarray) -> list[np.ndarray]:
    """The output of every Conv2D layer of `model` for `images`, in the order of `model.layers`.

    `images` are float32 model inputs (N, 28, 28, 1) in [0, 1]. Returns a list of numpy arrays,
    one per Conv2D layer, each of shape (N, height, width, filters), computed by one
    `keras.Model` whose outputs are all those layers' outputs.
    """
    # TODO: build one keras.Model from model.inputs to the outputs of every Conv2D layer, run the images through it once, and return its outputs as a list of numpy arrays
    # SOLUTION
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    opened = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in convolutions])
    outputs = opened.predict(images, verbose=0)
    if len(convolutions) == 1:  # Keras hands back a lone output without its list
        outputs = [outputs]
    return [np.asarray(maps) for maps in outputs]
    # END SOLUTION


def first_layer_filters(model: keras.Model) -> np.ndarray:
    """The kernel of the first Conv2D layer of `model`: (kh, kw, input channels, filters)."""
    # TODO: find the first Conv2D layer of model.layers and return its kernel (the first of its weights) as a numpy array
    # SOLUTION
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    return np.asarray(first.get_weights()[0])  # [kernel, bias], or [kernel] without a bias
    # END SOLUTION


def saliency(model: keras.Model, image: np.ndarray, digit: int) -> np.ndarray:
    """The gradient of `digit`'s logit with respect to the pixels of `image`.

    The model ends in Dense(10, activation="softmax"); the logits are that layer's
    pre-activation, its kernel and bias applied to its input. `image` is one float32 model
    input (28, 28, 1) in [0, 1]; the result is (28, 28): positive where more ink would raise
    `digit`'s logit, negative where less ink would.
    """
    # TODO: under tf.GradientTape watching the image (a batch of one), compute the logits from the last layer's kernel and bias applied to that layer's input, and return the gradient of digit's logit as a (28, 28) numpy array
    # SOLUTION
    import tensorflow as tf

    head = model.layers[-1]  # Dense(10, activation="softmax"): the softmax's input is the logits
    body = keras.Model(inputs=model.inputs, outputs=head.input)  # everything before the head
    x = tf.convert_to_tensor(image[np.newaxis])  # a batch of one image: (1, 28, 28, 1)
    with tf.GradientTape() as tape:
        tape.watch(x)  # x is not a weight: ask the tape to follow it
        logits = keras.ops.matmul(body(x, training=False), head.kernel) + head.bias
        logit = logits[0, digit]
    return tape.gradient(logit, x).numpy()[0, :, :, 0]
    # END SOLUTION
