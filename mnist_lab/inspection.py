"""`mnist_lab.inspection` is `mnist_lab.evaluation.inspection`: a stable path for students.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.inspection.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.evaluation import inspection

sys.modules[__name__] = inspection
