"""Chapter 12: the reference CNN's backward pass by track 3's solutions, against TensorFlow's.

`make docs-assets` runs `python docs/_tools/backprop_figures.py`, which writes into
docs/assets/generated/:

- ch12_backward_shapes.png: the reference CNN drawn twice, the forward pass (each layer's
  output shape) and the backward pass under it (the shape of each gradient handed back, and of
  each weight's gradient);
- backprop_facts.json: `backprop.*` facts: how far the gradients that exercises 11, 19, 21 and
  22's solutions chain together are from `tf.GradientTape`'s, in float64 and in float32, on
  real digits, with `backprop.date` and `backprop.command`.

The forward pass is TensorFlow's, recorded layer by layer, so both backward passes start from
the same numbers; only the backward passes differ. The weights are exercise 24's He normal
(a fixed seed), the digits are the first BATCH of MNIST's training set. It takes seconds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.solutions import ex11_softmax as softmax
from mnist_lab.course.solutions import ex18_gradient_check as check
from mnist_lab.course.solutions import ex19_dense_backward as dense
from mnist_lab.course.solutions import ex21_conv_backward as conv
from mnist_lab.course.solutions import ex22_pool_backward as pool
from mnist_lab.course.solutions import ex24_initialization as init

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
SHAPES_PNG, FACTS_JSON = "ch12_backward_shapes.png", "backprop_facts.json"
COMMAND = "python docs/_tools/backprop_figures.py"
BATCH, SEED = 8, 0

# The reference CNN's weights, by name, with their shapes (exercise 4's network).
SHAPES = {
    "k1": (3, 3, 1, 32),
    "b1": (32,),
    "k2": (3, 3, 32, 64),
    "b2": (64,),
    "w3": (1600, 128),
    "b3": (128,),
    "w4": (128, 10),
    "b4": (10,),
}


def he_weights(dtype: type = np.float64, seed: int = SEED) -> dict[str, np.ndarray]:
    """Exercise 24's He-normal kernels (as Keras draws them) and zero biases, in `dtype`. Any
    random start would do for a gradient check; He's keeps the gradients of a usual size."""
    rng = np.random.default_rng(seed)
    return {
        name: np.zeros(shape, dtype)
        if len(shape) == 1
        else init.he_normal(shape, rng).astype(dtype)
        for name, shape in SHAPES.items()
    }


def forward_and_tape(images: np.ndarray, labels: np.ndarray, weights: dict[str, np.ndarray]):
    """TensorFlow's forward pass (every layer's input, as numpy) and its tape's gradients."""
    import tensorflow as tf

    variables = {name: tf.Variable(value) for name, value in weights.items()}
    with tf.GradientTape() as tape:
        x = tf.constant(images)
        z1 = tf.nn.conv2d(x, variables["k1"], 1, "VALID") + variables["b1"]
        a1 = tf.nn.relu(z1)
        p1 = tf.nn.max_pool2d(a1, 2, 2, "VALID")
        z2 = tf.nn.conv2d(p1, variables["k2"], 1, "VALID") + variables["b2"]
        a2 = tf.nn.relu(z2)
        p2 = tf.nn.max_pool2d(a2, 2, 2, "VALID")
        flat = tf.reshape(p2, (len(images), -1))
        z3 = flat @ variables["w3"] + variables["b3"]
        a3 = tf.nn.relu(z3)
        logits = a3 @ variables["w4"] + variables["b4"]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
    gradients = tape.gradient(loss, variables)
    layers = dict(x=x, z1=z1, a1=a1, p1=p1, z2=z2, a2=a2, p2=p2, flat=flat, z3=z3, a3=a3)
    layers["logits"] = logits
    return (
        {name: value.numpy() for name, value in layers.items()},
        {name: value.numpy() for name, value in gradients.items()},
        float(loss),
    )


def numpy_backward(
    layers: dict[str, np.ndarray], labels: np.ndarray, weights: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Every weight's gradient by the chain rule: the solutions' backward passes, last first."""
    grads = {}
    dlogits = softmax.softmax_cross_entropy_gradient(layers["logits"], labels)
    da3, grads["w4"], grads["b4"] = dense.dense_backward(dlogits, layers["a3"], weights["w4"])
    dz3 = dense.relu_backward(da3, layers["z3"])
    dflat, grads["w3"], grads["b3"] = dense.dense_backward(dz3, layers["flat"], weights["w3"])
    dp2 = dflat.reshape(layers["p2"].shape)
    da2 = pool.max_pool2d_backward(dp2, layers["a2"], 2)
    dz2 = dense.relu_backward(da2, layers["z2"])
    dp1, grads["k2"], grads["b2"] = conv.conv2d_backward(dz2, layers["p1"], weights["k2"])
    da1 = pool.max_pool2d_backward(dp1, layers["a1"], 2)
    dz1 = dense.relu_backward(da1, layers["z1"])
    _, grads["k1"], grads["b1"] = conv.conv2d_backward(dz1, layers["x"], weights["k1"])
    return grads


def first_digits(count: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` training digits, as the network takes them: (N, 28, 28, 1) in [0, 1]."""
    from mnist_lab.data.loading import load_mnist

    train = load_mnist().train
    images = train.images[:count].astype(np.float64)[..., None] / 255.0
    return images, train.labels[:count].astype(np.int64)


def agreement(images: np.ndarray, labels: np.ndarray, dtype: type) -> dict[str, float]:
    """For each weight, exercise 18's relative error between the two backward passes, plus
    the largest difference relative to the largest gradient ("scale") and the loss."""
    weights = he_weights(dtype)
    layers, tape, loss = forward_and_tape(images.astype(dtype), labels, weights)
    ours = numpy_backward(layers, labels, weights)
    errors = {name: check.relative_error(ours[name], tape[name]) for name in SHAPES}
    errors["scale"] = max(
        float(np.max(np.abs(ours[name] - tape[name])) / np.max(np.abs(tape[name])))
        for name in SHAPES
    )
    errors["loss"] = loss
    return errors


def backprop_facts(float64: dict[str, float], float32: dict[str, float]) -> dict[str, str]:
    """The `backprop.*` facts the chapter quotes."""
    facts = {"backprop.batch": str(BATCH), "backprop.loss": f"{float64['loss']:.3f}"}
    for kind, errors in (("float64", float64), ("float32", float32)):
        worst = max(SHAPES, key=lambda name: errors[name])
        facts[f"backprop.{kind}.worst"] = f"{errors[worst]:.1e}"
        facts[f"backprop.{kind}.worst_weight"] = worst
        facts[f"backprop.{kind}.scale"] = f"{errors['scale']:.1e}"
    return facts


# --- the figure ------------------------------------------------------------------------------

# (label of the step, shape after it, what computes its backward pass, its weights' gradients)
STEPS = [
    ("input", "(N, 28, 28, 1)", "", ""),
    ("conv 3x3, 32", "(N, 26, 26, 32)", "ex. 21", "dk1 (3, 3, 1, 32)\ndb1 (32,)"),
    ("ReLU", "(N, 26, 26, 32)", "ex. 19", ""),
    ("max pool 2x2", "(N, 13, 13, 32)", "ex. 22", ""),
    ("conv 3x3, 64", "(N, 11, 11, 64)", "ex. 21", "dk2 (3, 3, 32, 64)\ndb2 (64,)"),
    ("ReLU", "(N, 11, 11, 64)", "ex. 19", ""),
    ("max pool 2x2", "(N, 5, 5, 64)", "ex. 22", ""),
    ("flatten", "(N, 1600)", "reshape", ""),
    ("dense 128", "(N, 128)", "ex. 19", "dw3 (1600, 128)\ndb3 (128,)"),
    ("ReLU", "(N, 128)", "ex. 19", ""),
    ("dense 10", "(N, 10)", "ex. 19", "dw4 (128, 10)\ndb4 (10,)"),
    ("mean loss", "a number", "ex. 11", ""),
]


def shapes_figure():
    """The forward pass left to right on top, the backward pass right to left under it."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 4.6), layout="constrained")
    axes = figure.subplots()
    axes.set_xlim(-0.6, len(STEPS) - 0.4)
    axes.set_ylim(-2.2, 1.5)
    axes.axis("off")
    box = dict(boxstyle="round,pad=0.3", facecolor="#e8f0fa", edgecolor="#4a6fa5")
    back = dict(boxstyle="round,pad=0.3", facecolor="#fbeee6", edgecolor="#c0622f")
    for x, (label, shape, backward_by, weight_gradient) in enumerate(STEPS):
        axes.text(x, 1.0, label, ha="center", va="center", fontsize=8, weight="bold")
        axes.text(x, 0.55, shape, ha="center", va="center", fontsize=7.5, bbox=box)
        axes.text(x, 0.05, backward_by, ha="center", va="center", fontsize=7.5, style="italic")
        gradient = {0: "(not needed)", len(STEPS) - 1: "dloss = 1"}.get(x, f"d{shape}")
        axes.text(x, -0.45, gradient, ha="center", va="center", fontsize=7.5, bbox=back)
        if weight_gradient:
            axes.text(x, -1.35, weight_gradient, ha="center", va="center", fontsize=7.5, bbox=back)
            axes.annotate(
                "", (x, -1.05), (x, -0.7), arrowprops=dict(arrowstyle="->", color="#c0622f")
            )
        if x:
            axes.annotate("", (x - 0.42, 0.55), (x - 0.58, 0.55), arrowprops=dict(arrowstyle="->"))
            axes.annotate(
                "",
                (x - 0.58, -0.45),
                (x - 0.42, -0.45),
                arrowprops=dict(arrowstyle="->", color="#c0622f"),
            )
    axes.text(-0.55, 1.4, "forward: each layer's output", fontsize=9, color="#4a6fa5")
    axes.text(-0.55, 0.2, "backward pass by", fontsize=8, style="italic")
    axes.text(
        -0.55,
        -2.05,
        "backward: the gradient of the loss with respect to each output (it has that output's "
        "shape), and each weight's gradient (it has the weight's shape)",
        fontsize=9,
        color="#c0622f",
    )
    return figure


def main() -> None:
    from mnist_lab.evaluation.plots import save_figure

    images, labels = first_digits()
    facts = backprop_facts(
        agreement(images, labels, np.float64), agreement(images, labels, np.float32)
    )
    save_figure(shapes_figure(), OUT / SHAPES_PNG)
    stamp = {
        "backprop.date": datetime.now(timezone.utc).date().isoformat(),
        "backprop.command": COMMAND,
    }
    write_json_atomic(OUT / FACTS_JSON, stamp | facts)
    print(f"wrote {OUT / SHAPES_PNG} and {OUT / FACTS_JSON}")


if __name__ == "__main__":
    main()
