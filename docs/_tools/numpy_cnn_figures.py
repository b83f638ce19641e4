"""Exercise 25's figure and numbers: the solution's numpy CNN against the same network in Keras.

`make docs-assets` runs `python docs/_tools/numpy_cnn_figures.py`, which trains exercise 25's
reference solution (mnist_lab/course/solutions/, importing the solutions of exercises 9, 10, 11,
19, 21, 22 and 23) for 3 epochs on the 54,000 training images of stratified_split(labels, 0.1,
0), then the same architecture in Keras from a copy of the same initial weights, on the same
batches in the same order, with Adam at the same settings; and writes into
docs/assets/generated/:

- ex25_numpy_vs_keras.png: the two training losses (per batch, smoothed) and the two
  validation accuracies (per epoch), side by side;
- numpy_cnn_facts.json: `numpy_cnn.*` facts (each run's validation accuracy by epoch and its
  seconds per epoch, the machine, numpy's BLAS threads, the im2col matrix's size), with
  `numpy_cnn.date` and `numpy_cnn.command`.

`--limit N` trains on the first N training images only (the tests use it). It takes minutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from mnist_lab.core.fileio import write_json_atomic
from mnist_lab.course.exercises.catalog import SOLUTIONS

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "docs" / "assets" / "generated"
FIGURE_PNG, FACTS_JSON = "ex25_numpy_vs_keras.png", "numpy_cnn_facts.json"
COMMAND = "python docs/_tools/numpy_cnn_figures.py"
EPOCHS, BATCH_SIZE, LR, SEED = 3, 32, 1e-3, 0
SMOOTH = 100  # batches per point of the loss curves
USED = ("ex09_convolution", "ex10_pooling", "ex11_softmax", "ex19_dense_backward")
USED += ("ex21_conv_backward", "ex22_pool_backward", "ex23_optimizers")


def solution() -> Any:
    """Exercise 25's solution, imported as its check imports it: its folder on sys.path."""
    from mnist_lab.models.registry import import_path

    if str(SOLUTIONS) not in sys.path:
        sys.path.insert(0, str(SOLUTIONS))
    return import_path(SOLUTIONS / "ex25_numpy_cnn.py", "numpy_cnn_figures_ex25")


def data(limit: int | None = None):
    """(train images, train labels, validation images, validation labels): the seeded split of
    MNIST's training set, pixels in [0, 1], (N, 28, 28, 1) float32."""
    from mnist_lab import load_mnist
    from mnist_lab.data.preprocess import stratified_split

    (x_train, y_train), _ = load_mnist()
    train_idx, val_idx = stratified_split(y_train, 0.1, 0)
    train_idx = train_idx[:limit] if limit else train_idx
    images = (x_train.astype(np.float32) / 255)[..., None]
    labels = y_train.astype(np.int64)
    return images[train_idx], labels[train_idx], images[val_idx], labels[val_idx]


def numpy_run(cnn: Any, params: dict, split, epochs: int = EPOCHS) -> dict[str, list[float]]:
    """Train with the solution's own `train`, recording the loss of every batch on the way."""
    losses: list[float] = []
    step = cnn.loss_and_gradients

    def recorded(*args):
        loss, grads = step(*args)
        losses.append(loss)
        return loss, grads

    cnn.loss_and_gradients = recorded  # `train` looks it up in its module at each batch
    try:
        _, history = cnn.train(dict(params), *split, epochs=epochs, batch_size=BATCH_SIZE, lr=LR)
    finally:
        cnn.loss_and_gradients = step
    return {
        "losses": losses,
        "val_accuracy": [entry["val_accuracy"] for entry in history],
        "seconds": [entry["seconds"] for entry in history],
    }


def keras_model(params: dict):
    """The same network in Keras, holding a copy of `params`."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(params["conv_kernel"].shape[-1], 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(params["dense1_kernel"].shape[-1], activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    order = ("conv_kernel", "conv_bias", "dense1_kernel", "dense1_bias")
    model.set_weights([params[name] for name in (*order, "dense2_kernel", "dense2_bias")])
    return model


def keras_run(params: dict, split, epochs: int = EPOCHS) -> dict[str, list[float]]:
    """Train the Keras copy on the batches the numpy run saw, in the same order, with Adam."""
    import keras
    import tensorflow as tf

    images, labels, val_images, val_labels = split
    model = keras_model(params)
    optimizer = keras.optimizers.Adam(LR, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    loss_of = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_of(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    run: dict[str, list[float]] = {"losses": [], "val_accuracy": [], "seconds": []}
    for epoch in range(epochs):
        start = time.perf_counter()
        order = np.random.default_rng(SEED + epoch).permutation(len(images))
        for first in range(0, len(order), BATCH_SIZE):
            batch = order[first : first + BATCH_SIZE]
            run["losses"].append(float(step(images[batch], labels[batch])))
        logits = model.predict(val_images, batch_size=1000, verbose=0)
        run["val_accuracy"].append(float(np.mean(logits.argmax(axis=1) == val_labels)))
        run["seconds"].append(time.perf_counter() - start)
    return run


def smoothed(losses: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """(batch numbers, mean loss) of each run of SMOOTH batches (fewer when there are few)."""
    width = max(1, min(SMOOTH, len(losses) // 20))
    count = len(losses) // width
    means = np.asarray(losses[: count * width]).reshape(count, width).mean(axis=1)
    return (np.arange(count) + 0.5) * width, means


def figure_of(runs: dict[str, dict[str, list[float]]], batches_per_epoch: int):
    """Training loss (left) and validation accuracy (right) of each run, without pyplot."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    for (name, run), style in zip(runs.items(), ["-", "--"], strict=True):
        steps, means = smoothed(run["losses"])
        left.plot(steps / batches_per_epoch, means, style, label=name)
        epochs = np.arange(1, len(run["val_accuracy"]) + 1)
        right.plot(epochs, 100 * np.asarray(run["val_accuracy"]), style + "o", label=name)
    left.set(xlabel="epoch", ylabel="training loss (mean of batches)", yscale="log")
    left.set_title("training loss, same batches in the same order")
    right.set(xlabel="epoch", ylabel="validation accuracy (%)")
    right.set_xticks(np.arange(1, len(next(iter(runs.values()))["val_accuracy"]) + 1))
    right.set_title("validation accuracy after each epoch")
    for axes in (left, right):
        axes.legend()
    return figure


def facts_of(runs: dict[str, dict[str, list[float]]], train_size: int) -> dict[str, str]:
    """The `numpy_cnn.*` facts of the two runs and of the machine."""
    facts = {"numpy_cnn.train_images": f"{train_size:,}", "numpy_cnn.epochs": str(EPOCHS)}
    for key, run in zip(("numpy", "keras"), runs.values(), strict=True):
        for epoch, accuracy in enumerate(run["val_accuracy"], start=1):
            facts[f"numpy_cnn.{key}.val_accuracy.{epoch}"] = f"{accuracy:.2%}"
        facts[f"numpy_cnn.{key}.val_accuracy"] = f"{run['val_accuracy'][-1]:.2%}"
        facts[f"numpy_cnn.{key}.seconds_per_epoch"] = f"{np.mean(run['seconds']):.0f}"
    facts["numpy_cnn.machine"] = f"{platform.machine()}, {os.cpu_count()} cores"
    facts["numpy_cnn.blas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "numpy's default")
    # im2col for the first convolution: one row per output pixel, 3 x 3 x 1 numbers each.
    rows, columns = BATCH_SIZE * 26 * 26, 3 * 3 * 1
    facts["numpy_cnn.im2col.shape"] = f"{rows:,} x {columns}"
    facts["numpy_cnn.im2col.times_input"] = f"{rows * columns / (BATCH_SIZE * 28 * 28):.1f}"
    return facts


def main(argv: list[str] | None = None) -> None:
    from mnist_lab.evaluation.plots import save_figure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="training images (tests)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write")
    options = parser.parse_args(argv)
    split = data(options.limit)
    cnn = solution()
    params = cnn.init_params(SEED)
    runs = {"numpy (exercise 25)": numpy_run(cnn, params, split)}
    runs["Keras, same weights"] = keras_run(params, split)
    batches = -(-len(split[0]) // BATCH_SIZE)
    options.out.mkdir(parents=True, exist_ok=True)
    save_figure(figure_of(runs, batches), options.out / FIGURE_PNG)
    facts = {
        "numpy_cnn.date": datetime.now(timezone.utc).date().isoformat(),
        "numpy_cnn.command": COMMAND,
    }
    write_json_atomic(options.out / FACTS_JSON, facts | facts_of(runs, len(split[0])))
    print(f"wrote {options.out / FIGURE_PNG} and {options.out / FACTS_JSON}")


if __name__ == "__main__":
    main()
