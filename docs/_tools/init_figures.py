"""Exercise 24's experiment: the spread of activations and gradients through a deep ReLU stack.

`make docs-assets` runs `python docs/_tools/init_figures.py`, which writes into
docs/assets/generated/:

- ex24_init_spread.png: the standard deviation of each hidden layer's activations (after its
  ReLU) and of the gradient of the loss with respect to its pre-activations (what backpropagation
  passes down), for one forward and one backward pass, under four initializations: zeros, a normal
  of standard deviation 0.01, Glorot uniform and He normal (the last two from exercise 24's
  reference solution in mnist_lab/course/solutions/);
- init_facts.json: `init.*` facts the page quotes (those spreads at the first and the last
  hidden layer, how many gradients zeros leave nonzero, how far apart the units of a layer
  initialized to one constant are), with `init.date` and `init.command`.

The network: DEPTH Dense layers of WIDTH ReLU units and a Dense softmax output of 10, biases 0,
on BATCH real MNIST training images scaled to [0, 1] with their labels (softmax cross-entropy,
the batch mean). Forward and backward are written here in numpy, in float32 as the weights are;
no training, no TensorFlow. It takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.solutions import ex24_initialization as initializers

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
SPREAD_PNG, FACTS_JSON = "ex24_init_spread.png", "init_facts.json"
COMMAND = "python docs/_tools/init_figures.py"

DEPTH, WIDTH, BATCH, CLASSES = 20, 256, 1000, 10
SEED = 0  # the images drawn and every initial weight
SMALL_STD = 0.01  # "too small": a normal of this standard deviation, whatever the layer's width
CONSTANT = 0.01  # the symmetry demonstration: every weight this one number

Layers = list[tuple[np.ndarray, np.ndarray]]  # (kernel (D, M), bias (M,)) of each Dense layer
Initializer = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def _zeros(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return np.zeros(shape, np.float32)


def _small(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return (SMALL_STD * rng.standard_normal(shape)).astype(np.float32)


def _constant(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return np.full(shape, CONSTANT, np.float32)


# The figure's four initializations, by their key in the facts and their label.
SCHEMES: dict[str, tuple[str, Initializer]] = {
    "zeros": ("zeros", _zeros),
    "small": (f"normal, std {SMALL_STD:g}", _small),
    "glorot": ("Glorot uniform", initializers.glorot_uniform),
    "he": ("He normal", initializers.he_normal),
}


class Pass(NamedTuple):
    """One forward and backward pass: each hidden layer's activations (after ReLU) and the
    gradient with respect to its pre-activations, every layer's (dkernel, dbias), the loss."""

    activations: list[np.ndarray]
    gradients: list[np.ndarray]
    parameter_gradients: Layers
    loss: float


def build(sizes: Sequence[int], initializer: Initializer, rng: np.random.Generator) -> Layers:
    """Dense layers from sizes[0] inputs through sizes[1:], kernels from `initializer`, biases
    0 as Keras starts them."""
    return [
        (initializer((fan_in, fan_out), rng), np.zeros(fan_out, np.float32))
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def forward_backward(x: np.ndarray, labels: np.ndarray, layers: Layers) -> Pass:
    """ReLU after every layer but the last, softmax cross-entropy (the batch mean) after it."""
    inputs, pre = [x], []
    for kernel, bias in layers[:-1]:
        pre.append(inputs[-1] @ kernel + bias)
        inputs.append(np.maximum(pre[-1], 0))
    kernel, bias = layers[-1]
    logits = inputs[-1] @ kernel + bias
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(labels))
    loss = float(-np.mean(log_probabilities[rows, labels]))
    dz = np.exp(log_probabilities)
    dz[rows, labels] -= 1
    dz /= len(labels)
    parameter_gradients, gradients = [(inputs[-1].T @ dz, dz.sum(axis=0))], []
    for index in reversed(range(len(pre))):
        dz = (dz @ layers[index + 1][0].T) * (pre[index] > 0)  # ReLU's gradient is 0 at 0
        gradients.insert(0, dz)
        parameter_gradients.insert(0, (inputs[index].T @ dz, dz.sum(axis=0)))
    return Pass(inputs[1:], gradients, parameter_gradients, loss)


def mnist_batch(mnist, size: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """`size` training images drawn with SEED, flattened and scaled to [0, 1], and labels."""
    images, labels = mnist.train
    chosen = np.random.default_rng(SEED).choice(len(images), size, replace=False)
    x = images[chosen].reshape(size, -1).astype(np.float32) / np.float32(255)
    return x, labels[chosen].astype(np.int64)


def spreads(
    x: np.ndarray, labels: np.ndarray, depth: int = DEPTH, width: int = WIDTH
) -> dict[str, Pass]:
    """One pass under each scheme of SCHEMES, from weights drawn with SEED."""
    sizes = [x.shape[1], *[width] * depth, CLASSES]
    return {
        key: forward_backward(x, labels, build(sizes, initializer, np.random.default_rng(SEED)))
        for key, (_, initializer) in SCHEMES.items()
    }


def stds(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([float(np.std(array, dtype=np.float64)) for array in arrays])


def spread_figure(passes: dict[str, Pass]):
    """Two panels on a log scale, activations and gradients, one line per scheme but zeros
    (whose spreads are all exactly 0: said in a note instead), without pyplot."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(10, 4.2), layout="constrained")
    panels = figure.subplots(1, 2, sharex=True)
    depth = len(next(iter(passes.values())).activations)
    layers = np.arange(1, depth + 1)
    for key, one in passes.items():
        label = SCHEMES[key][0]
        for axes, arrays in zip(panels, (one.activations, one.gradients), strict=True):
            spread = stds(arrays)
            if np.all(spread == 0):
                continue
            axes.plot(layers, spread, "o-", markersize=3, label=label)
    for axes, what in zip(
        panels,
        ("activations (after ReLU)", "gradient of the loss w.r.t. the pre-activations"),
        strict=True,
    ):
        axes.set_yscale("log")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("hidden layer")
        axes.set_title(f"std of the {what}", fontsize=10)
        axes.text(
            0.02, 0.02, "zeros: every value exactly 0 (below any log axis)",
            transform=axes.transAxes, fontsize=8,
        )  # fmt: skip
    width = next(iter(passes.values())).activations[0].shape[1]
    figure.suptitle(
        f"One forward and one backward pass through {depth} Dense ReLU layers of {width} units",
        fontsize=11,
    )
    panels[0].set_ylabel("standard deviation (log scale)")
    panels[0].legend(fontsize=8)
    return figure


def _g(value: float) -> str:
    return f"{value:.2g}"


def spread_facts(passes: dict[str, Pass]) -> dict[str, str]:
    """The `init.*` facts of the four passes: the spreads at the first and last hidden layer,
    the ratio of where each pass ends to where it starts, and what zeros leave nonzero."""
    facts: dict[str, str] = {}
    for key, one in passes.items():
        for what, arrays in (("activation", one.activations), ("gradient", one.gradients)):
            spread = stds(arrays)
            facts[f"init.{key}.{what}.first"] = _g(spread[0])
            facts[f"init.{key}.{what}.last"] = _g(spread[-1])
            # How much of the spread is left where each pass ends: the activations at the last
            # layer against the first, the gradient at the first against the last.
            start, end = (
                (spread[0], spread[-1]) if what == "activation" else (spread[-1], spread[0])
            )
            if start > 0:
                facts[f"init.{key}.{what}.ratio"] = _g(end / start)
    zeros = passes["zeros"]
    hidden = [*zeros.activations, *zeros.gradients]
    hidden += [gradient for pair in zeros.parameter_gradients[:-1] for gradient in pair]
    facts["init.zeros.nonzero_hidden"] = str(sum(int(np.count_nonzero(a)) for a in hidden))
    kernel_gradient, bias_gradient = zeros.parameter_gradients[-1]
    facts["init.zeros.nonzero_output_kernel"] = str(int(np.count_nonzero(kernel_gradient)))
    facts["init.zeros.nonzero_output_bias"] = str(int(np.count_nonzero(bias_gradient)))
    return facts


def symmetry_facts(x: np.ndarray, labels: np.ndarray, depth: int = DEPTH) -> dict[str, str]:
    """Every weight CONSTANT: how far apart the columns (units) of each hidden layer's kernel
    gradient are, at most, relative to the largest entry, and the same under He normal."""
    sizes = [x.shape[1], *[WIDTH] * depth, CLASSES]
    facts = {"init.symmetry.constant": f"{CONSTANT:g}"}
    for key, initializer in (("constant", _constant), ("he", initializers.he_normal)):
        one = forward_backward(x, labels, build(sizes, initializer, np.random.default_rng(SEED)))
        worst = 0.0
        for kernel_gradient, _ in one.parameter_gradients[:-1]:
            largest = float(np.abs(kernel_gradient).max())
            apart = float(np.abs(kernel_gradient - kernel_gradient[:, :1]).max())
            worst = max(worst, apart / largest if largest else 0.0)
        facts[f"init.symmetry.{key}.apart"] = _g(worst)
    return facts


def all_facts(mnist) -> dict[str, str]:
    x, labels = mnist_batch(mnist)
    passes = spreads(x, labels)
    return {
        "init.depth": str(DEPTH),
        "init.width": str(WIDTH),
        "init.batch": f"{BATCH:,}",
        "init.small_std": f"{SMALL_STD:g}",
        **spread_facts(passes),
        **symmetry_facts(x, labels),
    }


def main() -> None:
    from mnist_lab.data import load_mnist
    from mnist_lab.evaluation.plots import save_figure

    mnist = load_mnist()
    x, labels = mnist_batch(mnist)
    save_figure(spread_figure(spreads(x, labels)), OUT / SPREAD_PNG)
    facts = {  # the command as code on the page (a marker inside backticks is not filled)
        "init.date": datetime.now(timezone.utc).date().isoformat(),
        "init.command": f"`{COMMAND}`",
    }
    write_json_atomic(OUT / FACTS_JSON, facts | all_facts(mnist))
    print(f"wrote {OUT / SPREAD_PNG} and {OUT / FACTS_JSON}")


if __name__ == "__main__":
    main()
