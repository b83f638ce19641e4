"""One-line reports of third-party exceptions."""

from __future__ import annotations

import pytest

from mnist_lab.core.errors import first_line


@pytest.mark.parametrize(
    ("error", "plain", "typed"),
    [
        (ValueError("bad value\nmore detail"), "bad value", "ValueError: bad value"),
        (KeyError("model_config"), "model_config", "KeyError: model_config"),
        (
            ModuleNotFoundError("No module named 'x'"),
            "No module named 'x'",
            "ModuleNotFoundError: No module named 'x'",
        ),
        (RuntimeError(), "RuntimeError", "RuntimeError"),
    ],
)
def test_first_line(error, plain, typed):
    assert first_line(error) == plain
    assert first_line(error, with_type=True) == typed
