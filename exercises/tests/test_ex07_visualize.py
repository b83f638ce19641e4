"""Exercise 7, visualize: the figure's axes, lines, labels and titles, inspected in memory."""

import numpy as np
from matplotlib.figure import Figure

EXERCISE = "ex07_visualize.py"

HISTORY = {
    "accuracy": [0.91, 0.97, 0.98],
    "val_accuracy": [0.96, 0.975, 0.981],
    "loss": [0.31, 0.09, 0.06],
    "val_loss": [0.14, 0.08, 0.065],
}
EPOCHS = [1, 2, 3]


def drawn_metric(exercise, metric="accuracy", title="Accuracy"):
    """A fresh axes with `metric` drawn on it by the exercise's plot_metric."""
    axes = Figure().subplots()
    exercise.plot_metric(axes, HISTORY, metric, title)
    return axes


def lines_by_label(axes) -> dict:
    return {line.get_label(): line for line in axes.get_lines()}


def test_plot_metric_draws_a_training_and_a_validation_line(exercise):
    labels = sorted(lines_by_label(drawn_metric(exercise)))
    assert labels == ["training", "validation"], (
        "plot_metric should draw two lines labelled 'training' and 'validation' "
        f"(plot(..., label='training')), but the lines are labelled {labels}"
    )


def test_plot_metric_puts_epochs_1_2_3_on_the_x_axis(exercise):
    for label, line in lines_by_label(drawn_metric(exercise)).items():
        x = np.asarray(line.get_xdata()).tolist()
        assert x == EPOCHS, (
            f"the {label} line should be drawn at epochs {EPOCHS} (counting from 1), "
            f"but its x values are {x}"
        )


def test_plot_metric_draws_the_history_values(exercise):
    lines = lines_by_label(drawn_metric(exercise, "loss", "Loss"))
    for label, key in [("training", "loss"), ("validation", "val_loss")]:
        assert label in lines, f"no line labelled {label!r}; labels: {sorted(lines)}"
        y = np.asarray(lines[label].get_ydata(), dtype=float)
        assert np.allclose(y, HISTORY[key]), (
            f"the {label} line of the loss should show history[{key!r}] = {HISTORY[key]}, "
            f"but it shows {y.tolist()}"
        )


def test_plot_metric_labels_both_axes(exercise):
    axes = drawn_metric(exercise, "loss", "Loss")
    xlabel, ylabel = axes.get_xlabel(), axes.get_ylabel()
    assert xlabel.strip().lower() == "epoch", f"the x axis should read 'epoch', it reads {xlabel!r}"
    assert ylabel.strip().lower() == "loss", (
        f"the y axis should name the metric ('loss' here), it reads {ylabel!r}"
    )


def test_plot_metric_sets_the_title(exercise):
    title = drawn_metric(exercise, "loss", "Loss").get_title()
    assert title == "Loss", f"the axes should be titled 'Loss' as asked, but it is {title!r}"


def test_plot_metric_shows_a_legend(exercise):
    legend = drawn_metric(exercise).get_legend()
    assert legend is not None, "plot_metric should add a legend (axes.legend()) naming the lines"
    texts = sorted(text.get_text() for text in legend.get_texts())
    assert texts == ["training", "validation"], f"the legend should name both lines, got {texts}"


def test_plot_history_returns_a_matplotlib_figure(exercise):
    figure = exercise.plot_history(HISTORY)
    assert isinstance(figure, Figure), (
        f"plot_history should return a matplotlib.figure.Figure, got {type(figure).__name__}"
    )


def test_plot_history_does_not_use_pyplot(exercise):
    figure = exercise.plot_history(HISTORY)
    manager = getattr(getattr(figure, "canvas", None), "manager", None)
    assert manager is None, (
        "make the figure with matplotlib.figure.Figure(...), not pyplot: pyplot keeps every "
        "figure open in a global list (and may open a window)"
    )


def test_plot_history_has_accuracy_left_and_loss_right(exercise):
    figure = exercise.plot_history(HISTORY)
    axes = sorted(figure.axes, key=lambda ax: ax.get_position().x0)
    titles = [ax.get_title() for ax in axes]
    assert titles == ["Accuracy", "Loss"], (
        f"expected two axes side by side titled ['Accuracy', 'Loss'] from left to right, "
        f"got {titles}"
    )


def test_plot_history_draws_every_curve(exercise):
    figure = exercise.plot_history(HISTORY)
    drawn = {}
    for ax in figure.axes:
        for line in ax.get_lines():
            drawn[(ax.get_title(), line.get_label())] = np.asarray(line.get_ydata(), float)
    for title, metric in [("Accuracy", "accuracy"), ("Loss", "loss")]:
        for label, key in [("training", metric), ("validation", f"val_{metric}")]:
            y = drawn.get((title, label))
            assert y is not None, (
                f"no {label!r} line on the {title!r} axes; lines found: {sorted(drawn)}"
            )
            assert np.allclose(y, HISTORY[key]), (
                f"the {label} line on {title!r} should show history[{key!r}], shows {y.tolist()}"
            )


def test_plot_history_adds_the_title(exercise):
    with_title = exercise.plot_history(HISTORY, title="reference, 3 epochs")
    without = exercise.plot_history(HISTORY)
    assert with_title.get_suptitle() == "reference, 3 epochs", (
        "plot_history(history, title=...) should write the title above both axes "
        f"(figure.suptitle), but the figure's title is {with_title.get_suptitle()!r}"
    )
    assert without.get_suptitle() == "", (
        f"without a title there should be none, but it is {without.get_suptitle()!r}"
    )


def test_the_figure_is_your_own_code(exercise):
    # Both run under the own-code rule of the manifest, as in every test: this one fails
    # alone when they call mnist_lab.plots.
    exercise.plot_history(HISTORY)
