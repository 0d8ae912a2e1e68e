"""The operating system's exclusive lock on an open file, taken without waiting: ``flock`` on
Linux, ``msvcrt.locking`` on Windows. It goes away with the process that holds it, even a killed
one, so a crash never leaves a stale lock."""

from __future__ import annotations

import sys
from typing import IO


def try_lock(handle: IO[bytes]) -> bool:
    """True when this process now holds the lock on ``handle``'s file, False when another does."""
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
