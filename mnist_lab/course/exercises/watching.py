"""Waiting for a student to save a file, for `mnist-lab exercises watch`.

File events do not arrive from every folder (WSL with a Windows editor, a network filesystem),
so watching says when it must poll instead, and why.
"""

from __future__ import annotations

import os
from pathlib import Path

NETWORK_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "drvfs", "fuse.sshfs", "v9fs"}


def _filesystem_type(path: Path) -> str | None:
    """The type of the filesystem holding `path`, from /proc/mounts (Linux), else None."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, kind = "", None
    resolved = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and resolved.startswith(parts[1]) and len(parts[1]) > len(best):
            best, kind = parts[1], parts[2]
    return kind


def polling_reason(folder: Path) -> str | None:
    """Why file events would not arrive from `folder` (so watching must poll), or None."""
    import platform

    if os.environ.get("MNIST_LAB_WATCH_POLLING"):
        return "MNIST_LAB_WATCH_POLLING is set"
    if "microsoft" in platform.uname().release.lower():
        return "this is WSL, where file events from Windows editors do not arrive"
    kind = _filesystem_type(folder)
    if kind in NETWORK_FILESYSTEMS:
        return f"{folder} is on a network filesystem ({kind})"
    return None


def wait_for_change(folder: Path, polling: bool) -> set[Path]:
    """Block until a .py file under `folder` is saved; return the changed files."""
    from watchfiles import watch

    for changes in watch(folder, force_polling=polling, poll_delay_ms=500, debounce=400):
        changed = {Path(path) for _, path in changes if path.endswith(".py")}
        if changed:
            return changed
    return set()
