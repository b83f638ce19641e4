"""The small trainings behind chapters 9 to 11 (chapter_figures.py turns them into facts).

Each function trains from `seed` and returns plain lists and floats, per epoch or per step, for
the figures and the facts. Sizes are small on purpose: the whole of chapter_figures.py takes a
few minutes on 2 cores, and the pages say it is one seed and one horizon.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SCHEDULE_POOL, SCHEDULE_EPOCHS, SCHEDULE_BATCH, SCHEDULE_PEAK = 6000, 5, 64, 1e-2
BN_EPOCHS, BN_RATE, BN_ADAM_RATE = 3, 0.5, 1e-2  # SGD (momentum 0.9) at 0.5; Adam at 1e-2
SCRIPT_STEPS, SCRIPT_BATCH = 100, 128  # exercise 15's script: its first 100 steps
OVERFIT_IMAGES, OVERFIT_STEPS = 100, 60


def pool_split(
    mnist: Any, pool: int, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`pool` training digits drawn at random (seeded), split by the seeded stratified split:
    (x, y, x_val, y_val), images normalized, labels one-hot, as exercises 13 and 14 draw them."""
    from mnist_lab.preprocess import normalize, one_hot, stratified_split

    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(len(mnist.train.labels))[:pool])
    labels = mnist.train.labels[chosen]
    train_idx, val_idx = stratified_split(labels, fraction, seed)
    x, y = normalize(mnist.train.images[chosen]), one_hot(labels)
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _step_losses() -> Any:
    """A callback that records the loss of every batch, as computed in that batch's step.
    Keras reports the epoch's running mean after each batch: resetting the metrics before
    each batch makes it the batch's own loss (and the History's `loss` the last batch's)."""
    import keras

    class StepLosses(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.model.reset_metrics()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.losses.append(float(logs["loss"]))

    return StepLosses()


def _fit(model: Any, x: Any, y: Any, data: tuple, epochs: int, batch: int) -> dict[str, Any]:
    """Fit, recording each step's loss; `loss` is each epoch's mean of its steps' losses."""
    recorder = _step_losses()
    history = model.fit(
        x, y, validation_data=data, epochs=epochs, batch_size=batch, verbose=0,
        callbacks=[recorder],
    ).history  # fmt: skip
    run = {key: [float(v) for v in values] for key, values in history.items()}
    per_epoch = math.ceil(len(x) / batch)
    steps = np.array(recorder.losses).reshape(epochs, per_epoch)
    return run | {"step_loss": recorder.losses, "loss": [float(v) for v in steps.mean(axis=1)]}


# --- chapter 9 --------------------------------------------------------------------------------


def reference(augment: bool = False, l2: float | None = None) -> Any:
    """The reference's layers, with random moves in front or an L2 penalty on Dense 128."""
    import keras
    from keras import layers

    moves = [
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        layers.RandomRotation(10 / 360, fill_mode="constant"),
    ]
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *(moves if augment else []),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu", kernel_regularizer=regularizer),
            layers.Dense(10, activation="softmax"),
        ]
    )


def _crossentropy(model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(loss, accuracy) on the digits given: the plain crossentropy, no L2 penalty in it."""
    probabilities = np.clip(model.predict(x, batch_size=500, verbose=0), 1e-7, 1 - 1e-7)
    loss = float(-np.mean(np.log(np.sum(probabilities * y, axis=1))))
    return loss, float(np.mean(probabilities.argmax(axis=1) == y.argmax(axis=1)))


def regularization_runs(
    solution: Any, data: tuple, held: tuple, seed: int
) -> dict[str, dict[str, Any]]:
    """Exercise 12's plain network and three regularized ones, trained as the exercise trains
    them (its data, its compile, its epochs and batch); each History with its held-out loss."""
    import keras

    x, y, x_val, y_val = data
    builders = {
        "plain": reference,
        "dropout": solution.build_regularized_model,  # the exercise's solution
        "augmentation": lambda: reference(augment=True),
        "l2": lambda: reference(l2=1e-3),
    }

    class Crossentropy(keras.callbacks.Callback):
        """The validation digits' crossentropy after each epoch: Keras's `val_loss` adds the
        L2 penalty, which would make the L2 network look worse than it predicts."""

        def __init__(self) -> None:
            super().__init__()
            self.losses: list[float] = []

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.losses.append(_crossentropy(self.model, x_val, y_val)[0])

    histories = {}
    for name, build in builders.items():
        keras.utils.set_random_seed(seed)
        model = solution.compile_for_experiment(build())
        recorder = Crossentropy()
        history = model.fit(
            x, y, validation_data=(x_val, y_val), epochs=solution.EPOCHS,
            batch_size=solution.BATCH_SIZE, verbose=0, callbacks=[recorder],
        ).history  # fmt: skip
        record = {key: [float(v) for v in values] for key, values in history.items()}
        record["val_crossentropy"] = recorder.losses
        record["held_out_loss"], record["held_out_accuracy"] = _crossentropy(model, *held)
        histories[name] = record
    return histories


# --- chapter 10 -------------------------------------------------------------------------------


def schedule_runs(data: tuple, seed: int) -> dict[str, dict[str, Any]]:
    """The reference at Adam's peak rate SCHEDULE_PEAK: constant, and warmed up linearly over
    the first epoch then decayed to 0 along a cosine; each step's rate and loss."""
    import keras

    from mnist_lab.models import registry

    x, y, x_val, y_val = data
    per_epoch = math.ceil(len(x) / SCHEDULE_BATCH)
    total = per_epoch * SCHEDULE_EPOCHS
    warmup = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total - per_epoch, warmup_target=SCHEDULE_PEAK, warmup_steps=per_epoch
    )
    runs = {}
    for name, rate in (("constant", SCHEDULE_PEAK), ("warmup", warmup)):
        keras.utils.set_random_seed(seed)
        model = registry.create_model("reference")
        model.compile(
            optimizer=keras.optimizers.Adam(rate),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        run = _fit(model, x, y, (x_val, y_val), SCHEDULE_EPOCHS, SCHEDULE_BATCH)
        steps = range(total)
        run["rates"] = [float(rate(step)) if callable(rate) else rate for step in steps]
        run["warmup_steps"] = per_epoch if callable(rate) else 0
        runs[name] = run
    return runs


def _small_cnn(normalize: bool, momentum: float = 0.99) -> Any:
    """Two convolutions and a dense layer; with batch normalization before each ReLU."""
    import keras
    from keras import layers

    def block(layer: Any) -> list[Any]:
        norm = [layers.BatchNormalization(momentum=momentum)] if normalize else []
        return [layer, *norm, layers.Activation("relu")]

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *block(layers.Conv2D(16, 3, padding="same", use_bias=not normalize)),
            layers.MaxPooling2D(2),
            *block(layers.Conv2D(32, 3, padding="same", use_bias=not normalize)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            *block(layers.Dense(64, use_bias=not normalize)),
            layers.Dense(10, activation="softmax"),
        ]
    )


def batch_norm_runs(data: tuple, seed: int) -> dict[str, dict[str, Any]]:
    """The small CNN without and with batch normalization under SGD at BN_RATE; then the one
    with batch normalization under Adam at BN_ADAM_RATE with moving averages of momentum 0.99
    (Keras's default) and 0.8, scored in inference mode and in training mode."""
    import keras

    x, y, x_val, y_val = data
    runs = {}
    for name, normalize, momentum, optimizer in (
        ("plain", False, 0.99, lambda: keras.optimizers.SGD(BN_RATE, momentum=0.9)),
        ("normalized", True, 0.99, lambda: keras.optimizers.SGD(BN_RATE, momentum=0.9)),
        ("momentum_0.99", True, 0.99, lambda: keras.optimizers.Adam(BN_ADAM_RATE)),
        ("momentum_0.8", True, 0.8, lambda: keras.optimizers.Adam(BN_ADAM_RATE)),
    ):
        keras.utils.set_random_seed(seed)
        model = _small_cnn(normalize, momentum)
        model.compile(optimizer=optimizer(), loss="categorical_crossentropy", metrics=["accuracy"])
        run = _fit(model, x, y, (x_val, y_val), BN_EPOCHS, SCHEDULE_BATCH)
        if name.startswith("momentum"):  # each batch's own statistics instead of the averages
            predicted = np.concatenate(
                [
                    np.asarray(model(x_val[start : start + 500], training=True)).argmax(axis=1)
                    for start in range(0, len(x_val), 500)
                ]
            )
            run["train_mode_val_accuracy"] = float(np.mean(predicted == y_val.argmax(axis=1)))
        runs[name] = run
    return runs


# --- chapter 11 -------------------------------------------------------------------------------


def script_run(module: Any, seed: int) -> dict[str, Any]:
    """Exercise 15's script (a variant of it): its data, model and compile, the loss before any
    step, the sum of one output row, then SCRIPT_STEPS steps and the validation accuracy."""
    import keras

    keras.utils.set_random_seed(seed)
    x_train, y_train, x_val, y_val = module.load_data()
    model = module.compile_model(module.build_model())
    step_0 = float(model.evaluate(x_train[:500], y_train[:500], verbose=0)[0])
    output_sum = float(np.sum(model.predict(x_val[:1], verbose=0)))
    images = SCRIPT_STEPS * SCRIPT_BATCH
    recorder = _step_losses()
    model.fit(
        x_train[:images], y_train[:images], epochs=1, batch_size=SCRIPT_BATCH, verbose=0,
        callbacks=[recorder],
    )  # fmt: skip
    accuracy = float(model.evaluate(x_val, y_val, batch_size=500, verbose=0)[1])
    return {
        "step_0_loss": step_0,
        "output_sum": output_sum,
        "step_loss": recorder.losses,
        "val_accuracy": accuracy,
    }


def overfit_batch(module: Any, seed: int) -> list[float]:
    """The script's model trained on its first OVERFIT_IMAGES training images, one batch,
    OVERFIT_STEPS times: the loss of each step."""
    import keras

    keras.utils.set_random_seed(seed)
    x_train, y_train, _, _ = module.load_data()
    model = module.compile_model(module.build_model())
    x, y = x_train[:OVERFIT_IMAGES], y_train[:OVERFIT_IMAGES]
    history = model.fit(x, y, epochs=OVERFIT_STEPS, batch_size=OVERFIT_IMAGES, verbose=0)
    return [float(value) for value in history.history["loss"]]


def update_sizes(module: Any, seed: int) -> dict[str, float]:
    """How far one step on SCRIPT_BATCH images moves each kernel, relative to its size: the
    norm of the change over the norm of the weights, by layer."""
    import keras

    keras.utils.set_random_seed(seed)
    x_train, y_train, _, _ = module.load_data()
    model = module.compile_model(module.build_model())
    kernels = [layer for layer in model.layers if hasattr(layer, "kernel")]
    before = [keras.ops.convert_to_numpy(layer.kernel) for layer in kernels]
    model.train_on_batch(x_train[:SCRIPT_BATCH], y_train[:SCRIPT_BATCH])
    sizes = {}
    for layer, old in zip(kernels, before, strict=True):
        name = f"{type(layer).__name__} {'x'.join(map(str, old.shape))}"
        sizes[name] = float(
            np.linalg.norm(keras.ops.convert_to_numpy(layer.kernel) - old) / np.linalg.norm(old)
        )
    return sizes
