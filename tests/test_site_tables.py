"""The site's tables computed from the code: receptive fields, checked against gradients."""

from __future__ import annotations

from pathlib import Path

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


# --- the exercises' hints on their pages ------------------------------------------------------


def test_the_hints_of_a_page_are_the_question_and_the_idea_folded():
    from mnist_lab.course.exercises import find, load_catalog

    root = Path(__file__).resolve().parents[1]
    question, idea, code = find(load_catalog(root), 5).hints

    def literal(text: str) -> str:  # brackets escaped, or markdown reads them as links
        return text.replace("[", "\\[").replace("]", "\\]")

    markdown = site_tables.hints_markdown(5, root)
    assert markdown == (
        f'??? tip "Hint 1 of 3: a question"\n\n    {literal(question.text)}\n\n'
        f'??? tip "Hint 2 of 3: the idea"\n\n    {literal(idea.text)}\n\n'
        "The last hint, near-code, is not on this page: `mnist-lab exercises hint 5` shows it "
        "once the check has failed twice on the same test.\n"
    )
    assert code.text[:40] not in markdown
