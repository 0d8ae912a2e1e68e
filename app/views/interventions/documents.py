"""Work orders and day sheets: kept in the data folder and opened to print (the customer file's
``deliver_document`` does the saving, the opening and the fallback)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from app.views.documents import deliver_document


def save_and_open(parent: QWidget, filename: str, pdf: bytes) -> None:
    shell = getattr(parent, "shell", None)
    assert shell is not None
    deliver_document(parent, shell.settings.data_dir, filename, pdf,
                     title="Impression", what=f"Document {filename} prêt.")
