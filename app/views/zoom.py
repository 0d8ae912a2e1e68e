"""Text size for the whole program (Ctrl++ / Ctrl+- / Ctrl+0), remembered on this machine.

The house style sheet sets every font size in points; zooming rewrites those sizes by a factor,
so titles, tables and forms grow together."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QApplication

from resources import RESOURCES

MIN_LEVEL, MAX_LEVEL = -3, 8
STEP = 0.1
_POINTS = re.compile(r"(\d+(?:\.\d+)?)pt")


def stored_level(stored: object) -> int:
    """The zoom level kept in the interface settings (an int, or its text in the INI file)."""
    try:
        return int(str(stored))
    except ValueError:
        return 0


def factor(level: int) -> float:
    return 1 + STEP * level


def clamp(level: int) -> int:
    return max(MIN_LEVEL, min(MAX_LEVEL, level))


def styled(level: int) -> str:
    base = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    if clamp(level) == 0:
        return base
    scale = factor(clamp(level))
    return _POINTS.sub(lambda m: f"{round(float(m.group(1)) * scale, 1)}pt", base)


def apply(level: int) -> int:
    """Sets the program's text size; returns the level applied.

    The style sheet is replaced only when it changes: replacing it re-polishes every widget,
    and doing so while a closing window is being torn down (a sign-in that opens the main
    window) crashed Qt."""
    level = clamp(level)
    app = QApplication.instance()
    if isinstance(app, QApplication):
        sheet = styled(level)
        if app.styleSheet() != sheet:
            app.setStyleSheet(sheet)
    return level
