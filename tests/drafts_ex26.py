"""Exercise 26's held-back drafts: plausible first drafts built from the reference solution by
substitution (np.roll, which wraps around, instead of zeros coming in; dy and dx swapped; the
border not left out; the argmax taken over the batch instead of each image's row, or of the
labels; an int shift applied to the rows; the maps' move rounded down instead of toward zero;
the course's confusion matrix called in the student's code). tests/test_exercise_variants_learn.py
checks that each fails, with a message that names the mistake.
"""

from __future__ import annotations

from exercise_runs import Draft

DRAFTS = {
    "ex26-np-roll-border-kept-and-the-courses-confusion-matrix": Draft(
        26,
        (
            (
                "    moved = np.zeros_like(images)\n",
                "    return np.roll(images, (dy, dx), axis=(1, 2))\n    moved = None\n",
            ),
            ("top, left = border + abs(my), border + abs(mx)", "top, left = 0, 0"),
            (
                "accuracies.append(float(np.mean(probabilities.argmax(axis=1) == labels)))\n",
                "predicted = probabilities.argmax(axis=1)\n"
                "        matrix = confusion_matrix(labels, predicted, probabilities.shape[1])\n"
                "        accuracies.append(float(np.trace(matrix) / matrix.sum()))\n",
            ),
            (
                "    labels = np.asarray(labels)\n",
                "    from mnist_lab.evaluation.metrics import confusion_matrix\n\n"
                "    labels = np.asarray(labels)\n",
            ),
        ),
        {
            "test_shift_of_a_hand_example": ("came back on the other side, as np.roll does",),
            "test_the_border_is_left_out": ("not 0: leave out border + |my| = 2 rows",),
            "test_the_three_functions_are_your_own_code": ("confusion_matrix was called",),
        },
    ),
    "ex26-dy-dx-swapped-and-argmax-over-the-batch": Draft(
        26,
        (
            (
                "    moved = np.zeros_like(images)\n",
                "    moved = np.zeros_like(images)\n    dy, dx = dx, dy\n",
            ),
            ("probabilities.argmax(axis=1) == labels", "probabilities.argmax(axis=0) == labels"),
        ),
        {
            "test_shift_of_a_hand_example": ("dy and dx are swapped",),
            "test_accuracy_under_shift_takes_the_largest_probability_of_each_row": (
                "the largest of its own row (argmax along axis 1)",
            ),
        },
    ),
    "ex26-argmax-of-the-labels": Draft(
        26,
        (
            (
                "probabilities.argmax(axis=1) == labels)",
                "probabilities.argmax(axis=1) == np.argmax(labels, axis=-1))",
            ),
        ),
        {
            "test_accuracy_under_shift_takes_the_largest_probability_of_each_row": (
                "the labels are the classes already",
                "not with an argmax of the labels",
            ),
        },
    ),
    "ex26-int-shift-moves-down-and-maps-moved-by-floor-division": Draft(
        26,
        (
            ("dy, dx = (0, move) if", "dy, dx = (move, 0) if"),
            (
                "my, mx = int(dy / stride_y), int(dx / stride_x)",
                "my, mx = dy // stride_y, dx // stride_x",
            ),
        ),
        {
            "test_accuracy_under_shift_of_a_fake_predict": (
                "an int d moves d pixels to the right",
            ),
            "test_the_maps_of_a_stride_move_by_the_shift_divided_rounding_toward_zero": (
                "rounded toward zero",
            ),
        },
    ),
}
