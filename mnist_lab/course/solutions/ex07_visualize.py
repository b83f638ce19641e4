"""Exercise 7: visualize.

The numbers of a History are easier to read as curves. Plotted per epoch, training and validation
accuracy side by side tell the story of a run: both rising means the model still learns; training
rising while validation stalls or falls means it starts to memorize its training images
(overfitting). Validation above training in the first epochs is normal, even without dropout:
an epoch's training accuracy is averaged over all its batches while the weights still improve,
whereas validation is measured once, with the weights of the epoch's end. The loss tells the
same story from below.

The figure is drawn with matplotlib's object-oriented API, `matplotlib.figure.Figure`, not
`pyplot`: no window opens, nothing global changes, and the same code works in a test, on a
server and in a notebook.

Write the two functions below, then run `mnist-lab exercises check 7`.

Course page: docs/exercises/07-visualize.md
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

# A History's `.history` is a dict like this, one value per epoch:
# {"accuracy": [0.93, 0.98], "val_accuracy": [0.97, 0.98], "loss": [...], "val_loss": [...]}
History = dict[str, list[float]]


def plot_metric(axes: Axes, history: History, metric: str, title: str) -> None:
    """Draw `metric` per epoch on `axes`: a "training" line, a "validation" line and a legend."""
    # TODO: plot history[metric] and history['val_' + metric] against epochs 1, 2, ...; add the axis labels, the title and a legend
    # SOLUTION
    epochs = list(range(1, len(history[metric]) + 1))
    axes.plot(epochs, history[metric], "o-", label="training")
    axes.plot(epochs, history[f"val_{metric}"], "s--", label="validation")
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.legend()
    # END SOLUTION


def plot_history(history: History, title: str = "") -> Figure:
    """A Figure with accuracy (left) and loss (right) per epoch, and `title` above them if given."""
    # TODO: make a Figure with two axes side by side, draw Accuracy and Loss on them with plot_metric, and return it
    # SOLUTION
    figure = Figure(figsize=(10, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    plot_metric(left, history, "accuracy", "Accuracy")
    plot_metric(right, history, "loss", "Loss")
    if title:
        figure.suptitle(title)
    return figure
    # END SOLUTION
