"""What every screen of a signed-in session shares: services context, worker threads, settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from app.settings import Settings
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext

if TYPE_CHECKING:
    from app.views.pages import Registry
    from app.views.sync.connection import CentralConnection


def interface_settings(settings: Settings) -> QSettings:
    """Window geometry, column widths and text size: per machine, next to the local data."""
    return QSettings(str(Path(settings.data_dir) / "interface.ini"), QSettings.Format.IniFormat)


@dataclass
class Shell:
    settings: Settings
    ctx: ServiceContext
    runner: TaskRunner
    #: The central server of the program's session (None: the configured one, resolved when used).
    central: CentralConnection | None = None
    #: The program's pages and customer-file tabs (None: the standard ones, ``app.views.modules``).
    registry: Registry | None = None

    def modules(self) -> Registry:
        if self.registry is None:
            from app.views.modules import standard_registry

            self.registry = standard_registry()
        return self.registry

    def ui_settings(self) -> QSettings:
        return interface_settings(self.settings)
