"""The data dir holds the server secret, every email and contact: only its owner may read it.

The folder is made (or tightened to) 0700, and each database file is created 0600 before SQLite
or Huey opens it; SQLite gives a database's -wal and -shm files the database file's mode.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # a folder the operator owns and shares on purpose
        path.chmod(0o700)
    return path


def private_file(path: Path) -> Path:
    """`path`, existing, readable and writable by its owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(PermissionError):
        path.chmod(0o600)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():  # left by an earlier, looser release
            with contextlib.suppress(PermissionError):
                companion.chmod(0o600)
    return path
