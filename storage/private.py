"""Files and folders only this process's user may read, whatever the umask: the database, documents, keys
and backups hold people's data."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dirs(path: Path) -> None:
    """`path` and its missing parents, created 0700 whatever the umask (`mkdir(parents=True)` gives the
    parents the umask's default, 0755 under the usual 022)."""
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile: theirs stands
            folder.mkdir(mode=0o700)
            os.chmod(folder, 0o700)


def private_file(path: Path) -> None:
    """An empty file, 0600, unless it exists: SQLite then opens it (and gives its -wal and -shm files the
    database file's mode) instead of creating it world-readable under the umask."""
    private_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
