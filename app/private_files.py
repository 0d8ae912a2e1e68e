"""Files the desk writes (database, backups, logs, bundles, credentials) are readable by the
user only: 0600 for files and 0700 for folders on POSIX. Windows keeps the user profile's
access rules (the data folder is under the user's ``%LOCALAPPDATA%``)."""

from __future__ import annotations

import os
from pathlib import Path

POSIX = os.name == "posix"
FILE_MODE = 0o600
DIR_MODE = 0o700
#: Umask of the desk's processes: whatever they create (SQLite's -wal and -shm files
#: included) is the user's only.
UMASK = 0o077


def restrict_process() -> None:
    """Every file the process creates from now on is the user's only."""
    if POSIX:
        os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """Creates ``path`` (and its parents) if needed; the folder itself is made 0700."""
    path.mkdir(parents=True, exist_ok=True)
    if POSIX:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Makes an existing file 0600."""
    if POSIX and path.exists():
        os.chmod(path, FILE_MODE)
    return path


def secure_tree(folder: Path) -> None:
    """The data folder and everything in it: folders 0700, files 0600 (files written by an
    earlier version, or copied in, are tightened at start)."""
    if not POSIX or not folder.is_dir():
        return
    os.chmod(folder, DIR_MODE)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(Path(root, name), DIR_MODE)
        for name in files:
            target = Path(root, name)
            if not target.is_symlink():
                os.chmod(target, FILE_MODE)


def create_private(path: Path) -> int:
    """Opens a new (or truncated) file readable by the user only from its first byte; returns
    the descriptor (``os.fdopen`` it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0),
                 FILE_MODE)
    if POSIX:
        os.fchmod(fd, FILE_MODE)
    return fd
