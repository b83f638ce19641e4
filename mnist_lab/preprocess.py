"""`mnist_lab.preprocess` is `mnist_lab.data.preprocess`: a stable path for students and the pages.

The module lives in its layer (ARCHITECTURE.md). This file puts that very module object under
the old name, so `mnist_lab.preprocess.X` and a monkeypatch of it reach the real functions.
"""

import sys

from mnist_lab.data import preprocess

sys.modules[__name__] = preprocess
