"""`mnist_lab.plots` is `mnist_lab.evaluation.plots`: a stable path for students and the pages.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.plots.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.evaluation import plots

sys.modules[__name__] = plots
