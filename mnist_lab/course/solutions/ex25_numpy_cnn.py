"""Exercise 25: your own CNN, in numpy, trained from scratch on MNIST.

Every piece is already yours: the convolution (exercise 9) and max pooling (exercise 10), the
softmax cross-entropy and its gradient (exercise 11), the backward passes of a dense layer and
of ReLU (exercise 19), of a convolution (exercise 21) and of max pooling (exercise 22), and Adam
(exercise 23). This file imports them from your files in this folder and assembles them into a
network that learns, with no framework at all:

    images (N, 28, 28, 1) -> conv 3x3, 16 filters -> ReLU -> max pool 2
        -> flatten (N, 2704) -> dense 64 -> ReLU -> dense 10 (the logits)

The forward pass keeps what each backward pass needs (its input, and the pre-activation of each
ReLU) in a cache; the backward pass runs the layers in reverse order, each one handing the
gradient of the loss with respect to its input to the layer before it. The loss is the batch
mean, so exercise 11's gradient divides by N once and no other step divides again. Adam then
moves every weight, the first convolution's included.

The tests compare your loss and gradients with TensorFlow's on a tiny batch, check that the
functions of your earlier exercises are the ones called, that one step lowers the loss, and
(the slow test) that 3 epochs on the 54,000 training images of stratified_split(labels, 0.1, 0)
reach at least 97.5% on the 6,000 validation images. Your earlier exercises must pass first:
the check says which to finish.

Write the parts marked TODO below in numpy, then run `mnist-lab exercises check 25`.

Course page: docs/exercises/25-numpy-cnn.md
"""

from __future__ import annotations

import time

import numpy as np

# Your own layers: the files of your earlier exercises, beside this one (until you write the
# parts below, a linter sees them unused).
# ruff: noqa: F401
from ex09_convolution import conv2d
from ex10_pooling import max_pool2d
from ex11_softmax import cross_entropy_from_logits, softmax_cross_entropy_gradient
from ex19_dense_backward import dense_backward, relu_backward
from ex21_conv_backward import conv2d_backward
from ex22_pool_backward import max_pool2d_backward
from ex23_optimizers import adam_step

FILTERS, HIDDEN, CLASSES = 16, 64, 10
FLAT = 13 * 13 * FILTERS  # a 3x3 "valid" convolution makes 28x28 26x26; the pool halves it


def init_params(seed: int = 0) -> dict[str, np.ndarray]:
    """The network's weights, float32, drawn from `seed`: He-normal kernels (a standard
    deviation of sqrt(2 / fan_in), for the ReLU that follows) and zero biases."""
    # TODO: with rng = np.random.default_rng(seed), draw conv_kernel (3, 3, 1, FILTERS), dense1_kernel (FLAT, HIDDEN) and dense2_kernel (HIDDEN, CLASSES) with rng.normal and scale sqrt(2 / fan_in) (fan_in: the numbers one output adds up), and zero biases conv_bias, dense1_bias, dense2_bias, all float32
    # SOLUTION
    rng = np.random.default_rng(seed)
    shapes = {
        "conv_kernel": (3, 3, 1, FILTERS),
        "dense1_kernel": (FLAT, HIDDEN),
        "dense2_kernel": (HIDDEN, CLASSES),
    }
    params = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[:-1]))
        params[name] = (rng.normal(size=shape) * np.sqrt(2 / fan_in)).astype(np.float32)
        params[name.replace("kernel", "bias")] = np.zeros(shape[-1], dtype=np.float32)
    return params
    # END SOLUTION


def forward(params: dict[str, np.ndarray], images: np.ndarray) -> tuple[np.ndarray, dict]:
    """(logits (N, 10), cache): the forward pass of images (N, 28, 28, 1), and the arrays the
    backward pass needs."""
    images = np.asarray(images, dtype=np.float32)
    # TODO: conv2d, ReLU, max_pool2d, flatten to (N, FLAT), dense1, ReLU, dense2; keep the images, the convolution's output, the ReLU's output, the pooled maps, the flat vectors, dense1's output and its ReLU in a cache dict
    # SOLUTION
    conv = conv2d(images, params["conv_kernel"], params["conv_bias"])
    activated = np.maximum(conv, 0)
    pooled = max_pool2d(activated)
    flat = pooled.reshape(len(images), -1)
    hidden = flat @ params["dense1_kernel"] + params["dense1_bias"]
    hidden_activated = np.maximum(hidden, 0)
    logits = hidden_activated @ params["dense2_kernel"] + params["dense2_bias"]
    cache = {
        "images": images,
        "conv": conv,
        "activated": activated,
        "pooled": pooled,
        "flat": flat,
        "hidden": hidden,
        "hidden_activated": hidden_activated,
    }
    return logits, cache
    # END SOLUTION


def loss_and_gradients(
    params: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """(loss, gradients): the mean softmax cross-entropy of the batch, as a float, and its
    gradient with respect to every weight (a dict with the keys of `params`)."""
    logits, cache = forward(params, images)
    # TODO: the loss is exercise 11's cross_entropy_from_logits; start from exercise 11's gradient of the mean loss with respect to the logits, then go back through dense2, the ReLU, dense1, the flattening (a reshape), the pooling, the ReLU and the convolution, filling one gradient per weight
    # SOLUTION
    loss = cross_entropy_from_logits(logits, labels)
    dlogits = softmax_cross_entropy_gradient(logits, labels).astype(np.float32)
    grads = {}
    dhidden_activated, grads["dense2_kernel"], grads["dense2_bias"] = dense_backward(
        dlogits, cache["hidden_activated"], params["dense2_kernel"]
    )
    dhidden = relu_backward(dhidden_activated, cache["hidden"])
    dflat, grads["dense1_kernel"], grads["dense1_bias"] = dense_backward(
        dhidden, cache["flat"], params["dense1_kernel"]
    )
    dpooled = dflat.reshape(cache["pooled"].shape)
    dactivated = max_pool2d_backward(dpooled, cache["activated"])
    dconv = relu_backward(dactivated, cache["conv"])
    _, grads["conv_kernel"], grads["conv_bias"] = conv2d_backward(
        dconv, cache["images"], params["conv_kernel"]
    )
    return loss, grads
    # END SOLUTION


def adam_update(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], state: dict, lr: float = 1e-3
) -> dict[str, np.ndarray]:
    """New weights after one Adam step of every weight with exercise 23's adam_step. `state`
    holds the step count "t" (0 before the first step) and Adam's moving means "m" and "v"
    (dicts, empty at first); it is updated in place, the weights are returned new."""
    # TODO: count the step (t from 1), then for every weight call adam_step with its gradient and its m and v (zeros the first time), keeping the new m and v in the state
    # SOLUTION
    state["t"] = state.get("t", 0) + 1
    m, v = state.setdefault("m", {}), state.setdefault("v", {})
    updated = {}
    for name, weights in params.items():
        updated[name], m[name], v[name] = adam_step(
            weights,
            grads[name],
            m.get(name, np.zeros_like(weights)),
            v.get(name, np.zeros_like(weights)),
            state["t"],
            lr=lr,
        )
    return updated
    # END SOLUTION


def predict(params: dict[str, np.ndarray], images: np.ndarray, batch_size: int = 1000):
    """The digit (0-9) the network gives each image, as an int array (N,), in batches so the
    cache of 60,000 images never has to fit in memory at once."""
    # TODO: run forward on each batch of batch_size images and keep the argmax of the logits
    # SOLUTION
    chunks = [
        forward(params, images[start : start + batch_size])[0].argmax(axis=1)
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=int)
    # END SOLUTION


def train(
    params: dict[str, np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], list[dict[str, float]]]:
    """(params, history): the weights after `epochs` epochs of Adam on shuffled batches, and
    one entry per epoch: the mean training loss, the validation accuracy and the seconds the
    epoch took. Epoch e visits the images in the order np.random.default_rng(seed + e) draws."""
    history: list[dict[str, float]] = []
    # TODO: for each epoch: shuffle with np.random.default_rng(seed + epoch).permutation(len(images)), then for each batch of batch_size images take loss_and_gradients and adam_update (one Adam state for the whole training); append the mean loss, the validation accuracy of predict and the seconds the epoch took
    # SOLUTION
    state: dict = {}
    for epoch in range(epochs):
        start = time.perf_counter()
        order = np.random.default_rng(seed + epoch).permutation(len(images))
        losses = []
        for first in range(0, len(order), batch_size):
            batch = order[first : first + batch_size]
            loss, grads = loss_and_gradients(params, images[batch], labels[batch])
            params = adam_update(params, grads, state, lr)
            losses.append(loss)
        accuracy = float(np.mean(predict(params, val_images) == np.asarray(val_labels)))
        seconds = time.perf_counter() - start
        history.append({"loss": float(np.mean(losses)), "val_accuracy": accuracy, "seconds": seconds})
    # END SOLUTION
    return params, history
