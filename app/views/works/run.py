"""How the works screens hand their service calls to the shell's runner (reads in the pool,
writes on the one writer thread)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from app.views.shell import Shell


def read(shell: Shell, fn: Callable[[], Any], on_success: Callable[[Any], None],
         parent: QWidget, on_failure: Callable[[BaseException], None] | None = None) -> None:
    shell.runner.read(fn, on_success=on_success, on_failure=on_failure, parent=parent)


def write(shell: Shell, fn: Callable[[], Any], on_success: Callable[[Any], None],
          parent: QWidget, on_failure: Callable[[BaseException], None] | None = None,
          label: str | None = None) -> None:
    """On the one writer thread; what it wrote is announced (``runner.changed``) before
    ``on_success`` runs, and every screen showing it reloads itself."""
    shell.runner.write(fn, on_success=on_success, on_failure=on_failure, parent=parent,
                       label=label)
