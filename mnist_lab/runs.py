"""`mnist_lab.runs` is `mnist_lab.core.runs`: a stable path for students and the pages.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.runs.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.core import runs

sys.modules[__name__] = runs
