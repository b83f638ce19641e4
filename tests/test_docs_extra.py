"""Without the `docs` extra the course-site tests skip with one line naming it; in CI they fail.

The extra is taken away by a `sitecustomize` that makes its packages unimportable, in a pytest
run of its own, so this works whether or not the extra is installed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from docs_extra import DOCS_EXTRA

ROOT = Path(__file__).resolve().parent.parent
# The docs extra's packages (pyproject.toml), as they are imported.
BLOCKED = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers", "playwright")
BLOCKED += ("setuptools",)
HIDE_THE_EXTRA = f"""
import sys

class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _NotInstalled())
"""


def pytest_without_the_docs_extra(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(HIDE_THE_EXTRA)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    env |= {"PYTHONPATH": str(tmp_path), **({"CI": "true"} if ci else {})}
    return subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rsfE", "-q"),
            "tests/test_site.py",
            "tests/test_docs_examples.py::test_the_plugin_package_installs_and_registers_through_its_entry_point",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_the_docs_extra_the_site_tests_skip_with_one_line(tmp_path):
    result = pytest_without_the_docs_extra(tmp_path, ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    skips = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) == 2, result.stdout  # the whole of test_site.py, and the plugin install
    assert all(DOCS_EXTRA in line for line in skips), skips
    assert any("tests/test_site.py:" in line for line in skips), skips


def test_without_the_docs_extra_in_ci_the_site_tests_fail_with_the_same_line(tmp_path):
    result = pytest_without_the_docs_extra(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped" not in result.stdout.splitlines()[-1], result.stdout
    reported = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    assert reported and all(DOCS_EXTRA in line for line in reported), result.stdout
