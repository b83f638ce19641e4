"""Exercise 8: your own model.

You have rebuilt the reference CNN piece by piece; now design a model of your own and choose how
it trains. Any function that returns a Keras model taking (28, 28, 1) images and giving 10
probabilities can join the model registry: `@register_model` records it under a name, with a
description and a recipe (epochs, batch size, optimizer, learning rate and its schedule,
augmentation). From then on it is a model like the built-in ones: `mnist-lab list` shows it
(source: exercise), `mnist-lab train my-model` trains it, and `mnist-lab benchmark reference
my-model` compares the two on the same data.

The goal: at least 99.0% validation accuracy, within 10 epochs and 10 minutes of training on a
2-core laptop. The check trains your model as `mnist-lab train my-model` does, on the seeded,
stratified split of every run (54,000 images to train on, 6,000 held out, seed 0), and judges
it by the validation accuracy after its last epoch. The reference falls short (about 98.8%
after its 5 epochs), so the design and the recipe are choices for you to make and compare.
The test images wait until then: the check scores them once, after your model passes, and
only reports the result. Choose by validation accuracy, never by test accuracy, or the test
figure stops measuring anything.

What to write: a builder function registered as "my-model", shaped like this (the dots are
yours to fill):

    @register_model("my-model", description="...", recipe=Recipe(epochs=..., ...))
    def my_model() -> keras.Model:
        return keras.Sequential([keras.Input(shape=(28, 28, 1)), ..., keras.layers.Dense(10, activation="softmax")])

It may return the model uncompiled: the recipe compiles it (Recipe(optimizer=...)), or Adam at
1e-3 without one. The design must be your own: its sequence of layers (their kinds, and the
filters, kernel sizes, strides, units, activations and rates that shape them) must differ from
every model of the zoo, exercise 4's reference included. Renamed layers, another seed or other
initial weights are not a design, and the builder may not call the zoo or create_model. `mnist-lab exercises hint 8` suggests what to try. Then run `mnist-lab train
my-model` to watch it train epoch by epoch, and `mnist-lab exercises check 8` (it trains your
model once more: as long as your recipe takes).

Course page: docs/exercises/08-my-model.md
"""

# TODO: import keras, register_model (from mnist_lab) and Recipe (from mnist_lab.recipes), then register a builder of your model as 'my-model' with a description and a recipe of 10 epochs at most
raise NotImplementedError("Exercise 8: import keras, register_model (from mnist_lab) and Recipe (from mnist_lab.recipes), then register a builder of your model as 'my-model' with a description and a recipe of 10 epochs at most. Run 'mnist-lab exercises hint 8' for a hint.")
