"""Documents printed at the counter: kept in the data folder's receipts, opened to print."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from app.views import messages


def deliver_document(
    parent: QWidget, data_dir: Path, filename: str, pdf: bytes, *, title: str, what: str
) -> Path:
    """Saves a document in the data folder and opens it to print; says plainly when it could
    not be opened, and offers to save a copy elsewhere."""
    path = save_receipt(data_dir, filename, pdf)
    if messages.open_document(str(path)):
        messages.inform(parent, title, f"{what}\nOuvert pour impression ; fichier : {path}")
        return path
    if messages.confirm(
        parent,
        title,
        f"{what}\nIl n'a pas pu être ouvert pour impression : aucun lecteur de PDF n'est "
        f"disponible sur ce poste.\nLe fichier est enregistré ici : {path}\n\n"
        "Voulez-vous en enregistrer une copie ailleurs (clé USB, dossier partagé) pour "
        "l'imprimer depuis un autre poste ?",
        default_yes=True,
    ):
        target = messages.save_path(parent, "Enregistrer le document", filename, "PDF (*.pdf)")
        if target:
            Path(target).write_bytes(pdf)
            messages.inform(parent, title, f"Copie enregistrée : {target}")
    return path


def save_receipt(data_dir: Path, filename: str, pdf: bytes) -> Path:
    folder = Path(data_dir) / "recus"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(pdf)
    return path
