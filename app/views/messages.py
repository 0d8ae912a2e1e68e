"""Every message box of the program opens through these functions, so tests can answer them."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def inform(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def warn(parent: QWidget | None, title: str, text: str, details: str = "") -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()


def confirm(parent: QWidget | None, title: str, text: str, *, default_yes: bool = False) -> bool:
    buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
    default = QMessageBox.StandardButton.Yes if default_yes else QMessageBox.StandardButton.No
    answer = QMessageBox.question(parent, title, text, buttons, default)
    return answer == QMessageBox.StandardButton.Yes


def retry(parent: QWidget | None, title: str, text: str) -> bool:
    buttons = QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Cancel
    answer = QMessageBox.warning(parent, title, text, buttons, QMessageBox.StandardButton.Retry)
    return answer == QMessageBox.StandardButton.Retry


def save_path(parent: QWidget | None, title: str, suggested: str, filter_: str) -> str:
    """Where to save a file; empty when the agent cancels."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filter_)
    return path


def open_paths(parent: QWidget | None, title: str, filter_: str) -> list[str]:
    """Files the agent picks to attach; empty when cancelled."""
    from PySide6.QtWidgets import QFileDialog

    paths, _ = QFileDialog.getOpenFileNames(parent, title, "", filter_)
    return list(paths)


def open_document(path: str) -> bool:
    """Open a saved document with the system's viewer (to read or print it); False when the
    machine has no program to open it."""
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(path)))


def ask_text(parent: QWidget | None, title: str, text: str) -> str | None:
    """A line of text typed by the agent (a reason); None when cancelled."""
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getText(parent, title, text)
    return value if ok else None


def open_path(parent: QWidget | None, title: str, filter_: str) -> str:
    """A file the agent picks to read (a Word template…); "" when cancelled."""
    from PySide6.QtWidgets import QFileDialog

    path, _ = QFileDialog.getOpenFileName(parent, title, "", filter_)
    return str(path)
