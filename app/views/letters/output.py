"""Where letters are saved on this desk before they are opened to print."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.views import messages


def save_and_open(parent: QWidget, data_dir: Path, filename: str, data: bytes, *, title: str,
                  what: str) -> Path:
    """Saves the file in the data folder's ``courriers`` and opens it (word processor or PDF
    viewer); says where it is when nothing can open it."""
    folder = Path(data_dir) / "courriers"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(data)
    if messages.open_document(str(path)):
        messages.inform(parent, title, f"{what}\nOuvert pour impression ; fichier : {path}")
    else:
        messages.inform(parent, title, f"{what}\nAucun programme ne peut l'ouvrir sur ce poste ; "
                                       f"le fichier est enregistré ici : {path}")
    return path
