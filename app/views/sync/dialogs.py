"""The small questions of the Synchronisation page, behind functions a test can patch."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget


def ask_value(parent: QWidget | None, title: str, label: str, suggested: str = "") -> str | None:
    """A value typed by the supervisor; None when cancelled."""
    text, accepted = QInputDialog.getText(
        parent, title, label, QLineEdit.EchoMode.Normal, suggested
    )
    return text if accepted else None
