"""Named points of a run where the fault-injection tests stop the process dead.

``GUICHET_SYNC_KILL_AT=upload.sent:3`` ends the process (``os._exit``, no cleanup, like a
power cut) the third time the run passes ``upload.sent``. Unset, a checkpoint costs one dict
lookup.
"""

from __future__ import annotations

import os

_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    target = os.environ.get("GUICHET_SYNC_KILL_AT")
    if not target:
        return
    point, _, count = target.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(count or 1):
        os._exit(137)
