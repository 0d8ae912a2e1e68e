"""One program at a time on a data folder: the window, a scheduled synchronisation, a demo build.

The lock is the operating system's lock on ``guichet.lock`` in the data folder (``flock`` on
Linux, ``msvcrt.locking`` on Windows): it goes away with the process that holds it, even when
that process is killed, so a crash never leaves a stale lock behind. The holder writes who it is
(program, process id, user, machine, start time) after the first byte of that file, so the
second program can say who holds the folder.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from kernel.errors import GuichetError
from kernel.filelock import try_lock

LOCK_NAME = "guichet.lock"


class DataFolderBusy(GuichetError):
    """Another program of this machine works on the same data folder."""

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def _describe(holder: dict[str, Any]) -> str:
    what = holder.get("program", "un autre programme Guichet")
    since = holder.get("since", "")
    with contextlib.suppress(TypeError, ValueError):
        since = datetime.fromisoformat(since).strftime("%d/%m/%Y à %H:%M")
    parts = [f"{what} (processus {holder.get('pid', '?')}"]
    if holder.get("user"):
        parts.append(f", utilisateur {holder['user']}")
    if since:
        parts.append(f", depuis le {since}")
    return "".join(parts) + ")"


class DataFolderLock:
    """Held for the life of the program: ``acquire()`` or ``DataFolderBusy`` naming the holder."""

    def __init__(self, data_dir: Path, program: str) -> None:
        self.path = data_dir / LOCK_NAME
        self.program = program
        self._handle: IO[bytes] | None = None

    def acquire(self) -> DataFolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        if not try_lock(handle):
            holder = self.holder()
            handle.close()
            raise DataFolderBusy(
                f"Le dossier de données {self.path.parent} est déjà utilisé par "
                f"{_describe(holder)}. Fermez-le ou attendez qu'il se termine, puis recommencez.",
                holder)
        me = {"program": self.program, "pid": os.getpid(), "user": getpass.getuser(),
              "host": socket.gethostname(), "since": datetime.now().isoformat(timespec="seconds")}
        handle.seek(0)
        handle.truncate()
        handle.write(b" " + json.dumps(me, ensure_ascii=False).encode("utf-8"))
        handle.flush()
        self._handle = handle
        return self

    def holder(self) -> dict[str, Any]:
        """Who holds the folder, as its holder wrote it (empty when it cannot be read)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(1)
                found = json.loads(handle.read().decode("utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> DataFolderLock:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()
