"""mnist_lab.core.lazy: a module imported by its first public attribute, not by pytest."""

from __future__ import annotations

import sys

import pytest

from mnist_lab.core.lazy import LazyModule


def test_a_lazy_module_imports_on_the_first_public_attribute_only(tmp_path, monkeypatch):
    (tmp_path / "probe_module_for_lazy.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "probe_module_for_lazy", raising=False)
    lazy = LazyModule("probe_module_for_lazy")
    # what pytest's collection asks of every name in a test module
    for private in ("__pytest_wrapped__", "_pytestfixturefunction", "__wrapped__"):
        with pytest.raises(AttributeError):
            getattr(lazy, private)
    assert "probe_module_for_lazy" not in sys.modules
    assert lazy.VALUE == 42
    assert "probe_module_for_lazy" in sys.modules
    assert repr(lazy) == "<lazy module 'probe_module_for_lazy'>"
