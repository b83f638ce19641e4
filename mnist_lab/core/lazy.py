"""A module imported on first use, for code that may never need it.

The exercises' tests of track 3 compare the student's numpy with TensorFlow, but most of them
(the hand-computed cases, and every test of a stub that raises at once) never touch it: each
check is a fresh process, and importing TensorFlow costs it about 3 s of a 4.5 s run.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for the module `name`; the first attribute read imports it (once, by Python)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # pytest looks for its own marks (`__pytest_wrapped__`, `_pytestfixturefunction`) on
        # every name of a test module: a private name must not import the module.
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
