"""The prepaid module: recharges at the counter (*Prépayé*) and the token look-up (*Jetons*)."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QWidget

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str) -> W:
    """The widget with its object name (tests and the style sheet find it by that name)."""
    widget.setObjectName(name)
    return widget
