"""What a model gets right and wrong, and what happens inside it.

Metrics, figures, reports of a run and inspection of its layers.

`mnist_lab.evaluation` itself re-exports the metrics, the path the course has always used.
"""

from mnist_lab.evaluation.metrics import (
    confusion_matrix,
    crossentropy,
    per_class_metrics,
    worst_mistakes,
)

__all__ = ["confusion_matrix", "crossentropy", "per_class_metrics", "worst_mistakes"]
