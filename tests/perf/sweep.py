"""Try candidate architectures and recipes for the `fast` model, as the table in docs/zoo.md did.

Usage: .venv/bin/python tests/perf/sweep.py SPEC EPOCHS BATCH LR [--seeds 0,1,2]

SPEC is a comma-separated layer list, e.g. "c:24:5,p:2,c:48:3,p:2,f":
  c:F:K[:S[:PAD]]  Conv2D of F filters, K x K kernel, stride S, padding PAD, ReLU
  cb:F:K[:S[:PAD]] the same without bias, followed by BatchNormalization and ReLU
  p:N              MaxPooling2D(N)      d:N   Dense(N, ReLU)      f   Flatten
  n                pixels standardized to mean 0, deviation 1 (MNIST's 0.1307 and 0.3081)
A softmax layer of 10 always ends the model. Each run prints one JSON line: training seconds
(as `mnist-lab train` measures them), test accuracy and validation accuracy per epoch.
"""

from __future__ import annotations

import argparse
import json
import tempfile

from mnist_lab.data import load_mnist
from mnist_lab.recipes import Recipe
from mnist_lab.registry import register_model
from mnist_lab.training import TrainConfig, train


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
        elif kind == "f":
            stack.append(layers.Flatten())
        elif kind == "n":  # standardize with MNIST's pixel mean and deviation
            stack.append(layers.Rescaling(1 / 0.3081, offset=-0.1307 / 0.3081))
        else:
            raise SystemExit(f"unknown layer {item!r} in SPEC")
    stack.append(layers.Dense(10, activation="softmax"))
    return keras.Sequential(stack)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec")
    parser.add_argument("epochs", type=int)
    parser.add_argument("batch_size", type=int)
    parser.add_argument("learning_rate", type=float)
    parser.add_argument("--warmup", type=float, default=0.2)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()

    recipe = Recipe(
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="adam",
        learning_rate=args.learning_rate,
        schedule="cosine",
        warmup=args.warmup,
        label_smoothing=args.label_smoothing,
    )
    register_model("sweep-candidate", recipe=recipe)(lambda: build(args.spec))
    dataset = load_mnist()
    for seed in (int(s) for s in args.seeds.split(",")):
        config = TrainConfig(model="sweep-candidate", seed=seed, out=tempfile.mkdtemp())
        run = train(config, dataset=dataset, verbose=0)
        metrics = run.metrics
        print(
            json.dumps(
                {
                    "spec": args.spec,
                    "epochs": args.epochs,
                    "batch_size": args.batch_size,
                    "learning_rate": args.learning_rate,
                    "seed": seed,
                    "params": metrics["params"],
                    "train_seconds": metrics["train_seconds"],
                    "test_accuracy": round(metrics["test_accuracy"], 4),
                    "val_accuracy": [round(row["val_accuracy"], 4) for row in run.history],
                    "epoch_seconds": [row["seconds"] for row in run.history],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
