"""Exercise 8: your own model.

You have rebuilt the reference CNN piece by piece; now design your own. Any function that returns
a Keras model taking (28, 28, 1) images and giving 10 probabilities can join the model registry:
`@register_model` records it under a name with a description and a recipe (how many epochs, the
batch size, the optimizer and its learning-rate schedule). From then on it is a model like the
built-in ones: `mnist-lab list` shows it (source: exercise), `mnist-lab train my-model` trains
it, and `mnist-lab benchmark reference my-model` compares the two on the same data.

The goal: at least 98.5% test accuracy within your recipe's epochs (10 at most, so that checking
stays quick). Ideas: wider or more convolutions, a 5x5 first kernel, dropout, batch
normalization, a one-cycle learning rate (schedule="cosine" with a warm-up). Change the name,
the description and the recipe as you like; the test trains the model registered as "my-model".

Write the builder below, then run `mnist-lab exercises check 8` (it trains your model on the
full training set: about a minute on a laptop).

Course page: docs/exercises/08-my-model.md
"""

import keras

from mnist_lab import register_model
from mnist_lab.recipes import Recipe


@register_model(
    "my-model",
    description="My CNN: conv 32 5x5, pool, conv 64 3x3, pool, dropout, softmax.",
    tags=("mine", "cnn"),
    recipe=Recipe(
        epochs=3,
        batch_size=128,
        optimizer="adam",
        learning_rate=3e-3,
        schedule="cosine",
        warmup=0.1,
    ),
)
def my_model() -> keras.Model:
    """A wider first convolution that sees whole strokes, no dense hidden layer, a one-cycle LR."""
    # TODO: return a keras.Model that takes (28, 28, 1) images and ends in Dense(10, activation='softmax')
    raise NotImplementedError("Exercise 8: return a keras.Model that takes (28, 28, 1) images and ends in Dense(10, activation='softmax'). Run 'mnist-lab exercises hint 8' for a hint.")
