"""The guide docs/your-own-model.md works as written: its files register the models it promises.

The code blocks are read from the page itself (by their `title="..."`), so the page cannot drift
from what works: the exercise-file example is loaded as a student file, and the plugin package is
pip-installed (no index, no build isolation) into a temporary folder and found through its entry
point, as `pip install ./mnist-lab-tiny` would make it.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_extra import require

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "your-own-model.md"
BLOCK = re.compile(r'^```\w+ title="(?P<title>[^"]+)"\n(?P<code>.*?)^```$', re.M | re.S)


def guide_files() -> dict[str, str]:
    """The guide's titled code blocks: file path -> content."""
    return {m["title"]: m["code"] for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}


def test_the_guide_has_the_files_it_describes():
    assert set(guide_files()) == {
        "exercises/tiny_cnn.py",
        "pyproject.toml",
        "mnist_lab_tiny/__init__.py",
    }


def test_the_exercise_file_example_registers_tiny_cnn(clean_registry, tmp_path, monkeypatch):
    (tmp_path / "tiny_cnn.py").write_text(guide_files()["exercises/tiny_cnn.py"])
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path))
    clean_registry.discover(force=True)

    assert clean_registry.broken_plugins() == {}
    spec = clean_registry.model_info("tiny-cnn")
    assert (spec.source, spec.recipe.epochs) == ("exercise", 3)
    assert clean_registry.create_model("tiny-cnn").count_params() == 27_210


def test_the_plugin_package_installs_and_registers_through_its_entry_point(
    clean_registry, tmp_path, monkeypatch
):
    require("setuptools")  # pip builds the package with it (no build isolation, no index)
    project = tmp_path / "mnist-lab-tiny"
    for name, code in guide_files().items():
        if not name.startswith("exercises/"):
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(code)
    target = tmp_path / "installed"
    install = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--no-index", "--no-deps", "--no-build-isolation", "--target", str(target)),
            str(project),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    assert (target / "mnist_lab_tiny" / "__init__.py").is_file()

    monkeypatch.syspath_prepend(str(target))
    (tmp_path / "no-student-files").mkdir()
    monkeypatch.setenv("MNIST_LAB_PLUGINS", str(tmp_path / "no-student-files"))
    monkeypatch.delitem(sys.modules, "mnist_lab_tiny", raising=False)
    importlib.invalidate_caches()
    clean_registry.discover(force=True)

    assert clean_registry.broken_plugins() == {}
    spec = clean_registry.model_info("tiny-plugin")
    assert (spec.source, spec.tags) == ("plugin", ("plugin", "cnn"))
    assert clean_registry.create_model("tiny-plugin").count_params() == 27_210


@pytest.mark.parametrize("name", ["tiny-cnn", "tiny-plugin"])
def test_the_guides_models_are_not_built_in(clean_registry, name):
    """The examples must not shadow or collide with a model of the zoo."""
    assert name not in clean_registry.list_models()
