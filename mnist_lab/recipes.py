"""`mnist_lab.recipes` is `mnist_lab.models.recipes`: a stable path for students and the pages.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.recipes.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.models import recipes

sys.modules[__name__] = recipes
