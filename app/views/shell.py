"""What every screen of a signed-in session shares: services context, worker threads, settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from app.services.context import ServiceContext
from app.settings import Settings
from app.views.tasks import TaskRunner


@dataclass
class Shell:
    settings: Settings
    ctx: ServiceContext
    runner: TaskRunner

    def ui_settings(self) -> QSettings:
        """Window geometry and column widths: per machine, next to the local data."""
        path = Path(self.settings.data_dir) / "interface.ini"
        return QSettings(str(path), QSettings.Format.IniFormat)
