"""The site's tables computed from the code: receptive fields, checked against gradients."""

from __future__ import annotations

import numpy as np
import pytest
import site_tables


def test_receptive_fields_of_the_reference():
    from mnist_lab.models.registry import create_model

    rows = site_tables.receptive_fields(create_model("reference"))
    assert [(row["kind"], row["output"], row["field"], row["jump"]) for row in rows] == [
        ("Conv2D", (26, 26, 32), 3, 1),
        ("MaxPooling2D", (13, 13, 32), 4, 2),
        ("Conv2D", (11, 11, 64), 8, 2),
        ("MaxPooling2D", (5, 5, 64), 10, 4),
    ]


@pytest.mark.parametrize(
    ("kernels", "strides", "dilation"),
    [((3, 2, 3, 2), (1, 2, 1, 2), 1), ((5, 3, 3), (2, 1, 2), 1), ((3, 3), (1, 1), 2)],
)
def test_receptive_field_is_where_the_gradient_of_one_unit_reaches(kernels, strides, dilation):
    """Averaging kernels of ones let every input pixel in the field change the corner unit."""
    import keras
    import tensorflow as tf

    layers = [keras.Input((28, 28, 1))]
    for index, (kernel, stride) in enumerate(zip(kernels, strides, strict=True)):
        if index % 2 or dilation > 1:
            layers.append(
                keras.layers.Conv2D(
                    1, kernel, strides=stride, dilation_rate=dilation,
                    kernel_initializer="ones", bias_initializer="zeros",
                )
            )  # fmt: skip
        else:
            layers.append(keras.layers.AveragePooling2D(kernel, strides=stride))
    model = keras.Sequential(layers)
    image = tf.Variable(np.ones((1, 28, 28, 1), dtype="float32"))
    with tf.GradientTape() as tape:
        corner = model(image)[0, 0, 0, 0]
    reached = np.argwhere(tape.gradient(corner, image).numpy()[0, :, :, 0] != 0)
    field = site_tables.receptive_fields(model)[-1]["field"]
    assert reached.max(axis=0).tolist() == [field - 1, field - 1]
    assert reached.min(axis=0).tolist() == [0, 0]


def test_receptive_field_table_is_markdown():
    from mnist_lab.models.registry import create_model

    table = site_tables.receptive_field_table(create_model("reference"))
    assert table.splitlines()[0] == "| layer | output shape | one unit sees | step between units |"
    assert "| MaxPooling2D 2x2, stride 2 | (5, 5, 64) | 10x10 | 4 |" in table
