"""The customer file's Courriers tab: the letters issued to the customer, a new letter, a
reprint from the stored bytes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.models.changes import Changes
from app.services.customer_file import CustomerFile
from app.services.letters.issue import IssuedLetter, LetterRow, letters_of_customer, reprint_letter
from app.views.errors import show_error
from app.views.format import moment
from app.views.letters.output import save_and_open
from app.views.table_model import Column, ListTableModel

if TYPE_CHECKING:
    from app.views.customers.file_view import CustomerFileView


class LettersTab(QWidget):
    def __init__(self, view: CustomerFileView) -> None:
        from app.views.tables import table

        super().__init__()
        self.view = view
        self.shell = view.shell
        self.file: CustomerFile | None = None
        self.model: ListTableModel[LetterRow] = ListTableModel([
            Column("N°", lambda r: r.number),
            Column("Émis le", lambda r: moment(r.issued_at)),
            Column("Modèle", lambda r: f"{r.template_name} (rév. {r.template_revision})"),
            Column("Objet", lambda r: r.subject),
            Column("Par", lambda r: r.issued_by),
            Column("Réimpressions", lambda r: str(r.reprints) if r.reprints else ""),
            Column("Lot", lambda r: r.batch_ref),
        ])
        self.table = table(self.model, "letters", stretch=3)
        self.empty = QLabel("Aucun courrier émis pour ce client.")
        self.empty.setObjectName("hint")
        self.new = QPushButton("&Nouveau courrier…")
        self.new.setObjectName("newLetter")
        self.new.setToolTip("Nouveau courrier pour ce client (Ctrl+Maj+C)")
        self.reprint = QPushButton("Réimpr&imer")
        self.reprint.setObjectName("reprintLetter")
        self.reprint.setEnabled(False)
        self.new.clicked.connect(self.new_letter)
        self.reprint.clicked.connect(self._reprint)
        self.table.selectionModel().selectionChanged.connect(
            lambda *_: self.reprint.setEnabled(self.table.currentIndex().isValid()))
        # As on the file's other tabs: "new" on top at the right, what acts on a row below.
        top = QHBoxLayout()
        top.addWidget(self.empty, 1)
        top.addStretch(1)
        top.addWidget(self.new)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reprint)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.shell.runner.changed.connect(self._changed)

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        self.file = file
        ctx, customer_id = self.shell.ctx, file.identity.customer_id
        self.shell.runner.read(lambda: letters_of_customer(ctx, customer_id),
                               on_success=self._show, parent=self)

    def _changed(self, changes: Changes) -> None:
        if self.file is not None and (changes.touches("letter") or changes.touches("document")):
            self.show_file(self.file)

    def _show(self, rows: list[LetterRow]) -> None:
        self.model.set_rows(rows)
        self.empty.setVisible(not rows)
        self.reprint.setEnabled(self.table.currentIndex().isValid())

    def new_letter(self) -> None:
        self.view.new_letter()

    def _reprint(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        row = self.model.row(index.row())
        ctx = self.shell.ctx
        self.shell.runner.write(lambda: reprint_letter(ctx, row.id), on_success=self._reprinted,
                                on_failure=lambda error: show_error(self, error), parent=self)

    def _reprinted(self, letter: IssuedLetter) -> None:
        save_and_open(self, Path(self.shell.settings.data_dir), letter.filename, letter.docx,
                      title="Réimpression", what=f"Réimpression du courrier {letter.number} "
                      "(copie conforme de l'original, marquée « RÉIMPRESSION »).")
