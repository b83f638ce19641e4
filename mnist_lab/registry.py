"""`mnist_lab.registry` is `mnist_lab.models.registry`: a stable path for students and the pages.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.registry.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.models import registry

sys.modules[__name__] = registry
