"""A fresh name for a folder or a file: `name`, else `name-2`, `name-3`... never one in use.

Nothing a user made is ever overwritten: runs, benchmarks, reset backups, the pictures a run
saves and the names the lab and inspection give all take the first free name of this sequence.
On disk the name is claimed by an exclusive create, so two processes starting in the same
second still get two names.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from pathlib import Path

MAX_ATTEMPTS = 999


def numbered(stem: str, suffix: str = "") -> Iterator[str]:
    """`stem + suffix`, then `stem-2 + suffix`, `stem-3 + suffix`... up to MAX_ATTEMPTS."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        yield f"{stem}{f'-{attempt}' if attempt > 1 else ''}{suffix}"


def unused_name(stem: str, taken: Container[str], suffix: str = "") -> str:
    """The first name of `numbered(stem, suffix)` that is not in `taken` (names in memory)."""
    for name in numbered(stem, suffix):
        if name not in taken:
            return name
    raise FileExistsError(f"Too many names like {stem}{suffix}.")


def claim_folder(parent: Path, stem: str) -> Path:
    """Create and return a new, empty folder `parent/stem` (or `stem-2`...); `parent` must exist.

    Raises FileExistsError when every numbered name is taken, OSError when none can be made.
    """
    for name in numbered(stem):
        path = parent / name
        try:
            path.mkdir()  # exclusive: fails if it exists
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"Too many folders named {stem} in {parent}.")


def claim_file(folder: Path, stem: str, suffix: str) -> Path:
    """Create and return a new, empty file `folder/stem + suffix` (or `stem-2 + suffix`...).

    The empty file holds the name until its content replaces it (with an atomic write).
    """
    for name in numbered(stem, suffix):
        path = folder / name
        try:
            path.touch(exist_ok=False)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"Too many files named {stem}{suffix} in {folder}.")
