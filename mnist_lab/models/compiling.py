"""Compile settings: the classic defaults, and a recipe turned into an optimizer and a loss."""

from __future__ import annotations

from typing import Any

from mnist_lab.core import keras_internals
from mnist_lab.models.recipes import Recipe

LOSS = "categorical_crossentropy"
METRICS = ("accuracy",)


def compile_with_defaults(model: Any, learning_rate: float = 1e-3) -> Any:
    """Compile with Adam, categorical crossentropy and accuracy, as the classic project does."""
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=LOSS,
        metrics=list(METRICS),
    )
    return model


def compile_if_needed(model: Any) -> Any:
    """Leave a compiled model as its builder chose; compile an uncompiled one with the defaults."""
    return model if model.compiled else compile_with_defaults(model)


def learning_rate(recipe: Recipe, total_steps: int) -> Any:
    """The recipe's learning rate: a constant, or a warm-up then cosine decay over all steps."""
    import keras

    if recipe.schedule == "constant":
        return recipe.learning_rate
    warmup_steps = int(recipe.warmup * total_steps)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=recipe.learning_rate / 10 if warmup_steps else recipe.learning_rate,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=recipe.learning_rate if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def compile_with_recipe(model: Any, recipe: Recipe, total_steps: int) -> Any:
    """Compile `model` as its recipe says; a recipe that sets nothing keeps the model's own.

    A recipe that sets only a learning rate or a weight decay gets Adam with them: the rate a
    listing shows is the rate training uses.
    """
    import keras

    if not recipe.compiles:
        return compile_if_needed(model)
    rate = learning_rate(recipe, total_steps)
    decay = recipe.weight_decay or None  # Keras applies a decoupled decay when it is set
    # Keras keeps the average in the optimizer and puts it in the model when fit ends.
    ema = {"use_ema": True, "ema_momentum": recipe.ema_momentum} if recipe.ema_momentum else {}
    betas = {"beta_1": recipe.beta_1, "beta_2": recipe.beta_2}
    optimizers = {
        "adam": lambda: keras.optimizers.Adam(rate, weight_decay=decay, **betas, **ema),
        "adamw": lambda: keras.optimizers.AdamW(
            rate, weight_decay=recipe.weight_decay, **betas, **ema
        ),
        "sgd": lambda: keras.optimizers.SGD(
            rate, momentum=0.9, nesterov=True, weight_decay=decay, **ema
        ),
    }
    model.compile(
        optimizer=optimizers[recipe.optimizer or "adam"](),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=list(METRICS),
    )
    return model


def build_training_state(model: Any, images: Any, labels: Any) -> None:
    """Create the optimizer's and the metrics' variables now, before `fit` traces its step.

    Without a distribution strategy, Keras 3 creates them inside the first trace of the training
    step, and TensorFlow then traces that step twice (a function that creates variables is
    traced once to create them and once more to run): about 0.4 s of every training on 2
    cores, a tenth of `fast`'s. Under a strategy Keras builds this state itself, the same way.
    `images` and `labels` are training arrays; one example of each gives the shapes. A model
    Keras cannot build this way is left as it is: `fit` builds its state while tracing.
    """
    keras_internals.build_training_state(model, images, labels)
