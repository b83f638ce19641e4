"""Importing the package and asking the CLI for help must stay fast: no TensorFlow."""

from __future__ import annotations

import subprocess
import sys
import time

HEAVY = ("tensorflow", "keras")


def modules_after(code: str) -> set[str]:
    """Run `code` in a fresh interpreter and return the top-level modules it imported."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_import_mnist_lab_does_not_import_tensorflow():
    loaded = modules_after("import mnist_lab")
    assert "mnist_lab" in loaded
    assert not loaded & set(HEAVY)


def test_public_api_is_exported_lazily():
    import mnist_lab

    assert {"register_model", "create_model", "list_models", "load_mnist", "normalize"} <= set(
        mnist_lab.__all__
    )
    assert mnist_lab.normalize.__module__ == "mnist_lab.data.preprocess"
    try:
        mnist_lab.no_such_name  # noqa: B018
    except AttributeError as error:
        assert str(error) == "module 'mnist_lab' has no attribute 'no_such_name'"
    else:
        raise AssertionError("unknown attributes must raise AttributeError")


def test_cli_help_does_not_import_tensorflow_and_answers_fast():
    code = (
        "import sys\nfrom mnist_lab.cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit as exit:\n    assert exit.code == 0"
    )
    started = time.perf_counter()
    loaded = modules_after(code)
    elapsed = time.perf_counter() - started
    assert "typer" in loaded
    assert not loaded & set(HEAVY)
    assert elapsed < 2.5, f"mnist-lab --help took {elapsed:.2f} s"
