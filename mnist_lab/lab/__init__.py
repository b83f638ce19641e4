"""`mnist-lab lab`: a local web app where a student draws a digit and watches their own runs think.

`create_app(run_folders)` builds the Starlette application (the JSON API and the page)
and `servable_runs(runs_dir, named)` lists the completed runs it may serve. Importing this package
imports Starlette, never TensorFlow: models are loaded on the first request that needs them.
"""

from __future__ import annotations

from mnist_lab.lab.app import create_app
from mnist_lab.lab.catalog import servable_runs

__all__ = ["create_app", "servable_runs"]
