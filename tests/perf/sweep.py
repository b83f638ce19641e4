"""Try one candidate architecture and recipe for the `fast` model, on validation accuracy.

Usage: .venv/bin/python tests/perf/sweep.py SPEC EPOCHS BATCH LR [--seeds 0,1,2]

SPEC is a comma-separated layer list, e.g. "c:24:5,p:2,c:48:3,p:2,f":
  c:F:K[:S[:PAD]]  Conv2D of F filters, K x K kernel, stride S, padding PAD, ReLU
  cb:F:K[:S[:PAD]] the same without bias, followed by BatchNormalization and ReLU
  p:N              MaxPooling2D(N)      d:N   Dense(N, ReLU)      f   Flatten
  n                pixels standardized to mean 0, deviation 1 (MNIST's 0.1307 and 0.3081)
  k:N              Cropping2D(N): drop N pixels of the (almost always empty) border on each side
  s:N              space to depth: each N x N block of pixels becomes N*N channels of one pixel
A softmax layer of 10 always ends the model. Each run prints one JSON line: training seconds
(as `mnist-lab train` measures them) and validation accuracy per epoch, on the seeded stratified
split. Candidates are compared on validation accuracy only: `train` scores the test set once at
the end of each run, but this script never reads it, so nothing here can select on it.
`choose_fast.py` runs the whole list of candidates that chose `fast`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from typing import Any

from mnist_lab.models.recipes import DEFAULT_BETA_1, DEFAULT_BETA_2, Recipe
from mnist_lab.models.registry import register_model
from mnist_lab.scale.scores import TARGET_ACCURACY, time_to_accuracy
from mnist_lab.training import TrainConfig, train

TARGET = TARGET_ACCURACY  # the validation accuracy whose first epoch and seconds are reported


def build(spec: str):
    """A Sequential model from the SPEC mini-language above."""
    import keras
    from keras import layers

    stack = [keras.Input((28, 28, 1))]
    for item in spec.split(","):
        kind, *args = item.split(":")
        if kind in ("c", "cb"):
            filters, kernel = int(args[0]), int(args[1])
            stride = int(args[2]) if len(args) > 2 else 1
            padding = args[3] if len(args) > 3 else "valid"
            if kind == "c":
                stack.append(layers.Conv2D(filters, kernel, stride, padding, activation="relu"))
            else:
                stack += [
                    layers.Conv2D(filters, kernel, stride, padding, use_bias=False),
                    layers.BatchNormalization(),
                    layers.Activation("relu"),
                ]
        elif kind == "p":
            stack.append(layers.MaxPooling2D(int(args[0])))
        elif kind == "d":
            stack.append(layers.Dense(int(args[0]), activation="relu"))
        elif kind == "k":
            stack.append(layers.Cropping2D(int(args[0])))
        elif kind == "s":
            stack += space_to_depth(keras.Sequential(stack).output_shape[1:], int(args[0]))
        elif kind == "f":
            stack.append(layers.Flatten())
        elif kind == "n":  # standardize with MNIST's pixel mean and deviation
            stack.append(layers.Rescaling(1 / 0.3081, offset=-0.1307 / 0.3081))
        else:
            raise SystemExit(f"unknown layer {item!r} in SPEC")
    stack.append(layers.Dense(10, activation="softmax"))
    return keras.Sequential(stack)


def space_to_depth(shape: tuple[int, int, int], block: int) -> list:
    """Layers that turn (H, W, C) into (H/block, W/block, block*block*C): a first convolution
    then sees several input channels, which CPUs compute far better than one."""
    from keras import layers

    height, width, channels = shape
    rows, cols = height // block, width // block
    return [
        layers.Reshape((rows, block, cols, block, channels)),
        layers.Permute((1, 3, 2, 4, 5)),
        layers.Reshape((rows, cols, block * block * channels)),
    ]


def run_candidate(
    spec: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    dataset: Any,
    *,
    warmup: float = 0.2,
    label_smoothing: float = 0.0,
    ema_momentum: float = 0.0,
    betas: tuple[float, float] = (DEFAULT_BETA_1, DEFAULT_BETA_2),
) -> dict[str, Any]:
    """Train one candidate with a one-cycle Adam recipe; its validation figures and seconds."""
    recipe = Recipe(
        epochs=epochs,
        batch_size=batch_size,
        optimizer="adam",
        learning_rate=learning_rate,
        schedule="cosine",
        warmup=warmup,
        label_smoothing=label_smoothing,
        ema_momentum=ema_momentum,
        beta_1=betas[0],
        beta_2=betas[1],
    )
    register_model("sweep-candidate", recipe=recipe)(lambda: build(spec))
    config = TrainConfig(model="sweep-candidate", seed=seed, out=tempfile.mkdtemp())
    run = train(config, dataset=dataset, verbose=0)
    reached = time_to_accuracy(run.history, TARGET)
    return {
        "spec": spec,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "warmup": warmup,
        "label_smoothing": label_smoothing,
        "seed": seed,
        "params": run.metrics["params"],
        "train_seconds": run.metrics["train_seconds"],
        "ema_momentum": ema_momentum,
        "betas": list(betas),
        # the final model's: with averaged weights, that is after they were put in place
        "val_accuracy_final": round(run.metrics["val_accuracy"], 4),
        "val_accuracy": [round(row["val_accuracy"], 4) for row in run.history],
        "epoch_seconds": [row["seconds"] for row in run.history],
        "epoch_to_99_val": reached[0] if reached else None,
        "seconds_to_99_val": reached[1] if reached else None,
    }


def main() -> None:
    from mnist_lab.data import load_mnist

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("epochs", type=int)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("learning_rate", type=float)
    parser.add_argument("--warmup", type=float, default=0.2)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--betas", default="0.9,0.999", help="Adam's beta_1,beta_2")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    dataset = load_mnist()
    for seed in (int(s) for s in args.seeds.split(",")):
        result = run_candidate(
            args.spec,
            args.epochs,
            args.batch_size,
            args.learning_rate,
            seed,
            dataset,
            warmup=args.warmup,
            label_smoothing=args.label_smoothing,
            betas=tuple(float(b) for b in args.betas.split(",")),
        )
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
