"""« Lignes en attente » (supervisors): the changes that could not be applied, with their error,
retried or discarded (with the rows they block) after confirmation.

Signals: ``count_changed(int)`` with the number of rows still waiting after each load;
``failed(object)`` when a decision could not be recorded (the page says why and reloads).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.models.sync import ParkedStatus
from app.services import sync_admin
from app.services.sync_admin import ParkedRecord
from app.views import format as fmt
from app.views import messages
from app.views.errors import show_error
from app.views.shell import Shell
from app.views.sync.common import fit_columns, table
from app.views.table_model import Column, ListTableModel


class ParkedTab(QWidget):
    count_changed = Signal(int)
    failed = Signal(object)

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        local = shell.ctx.installation.local
        self.model: ListTableModel[ParkedRecord] = ListTableModel([
            Column("Date", lambda p: fmt.moment(local(p.parked_at))),
            Column("Où", lambda p: p.side_label),
            Column("Lot", lambda p: str(p.batch_number or ""), align_right=True),
            Column("Élément", lambda p: f"{p.table_label} {p.row_caption}".strip()),
            Column("Opération", lambda p: p.operation_label),
            Column("Statut", lambda p: p.status_label),
            Column("Erreur", lambda p: p.error),
            Column("Contenu", lambda p: p.changes_text),
        ])
        self.table = table("syncParked")
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._enable_actions())
        self.show_settled = QCheckBox("Afficher aussi les lignes &traitées")
        self.show_settled.toggled.connect(lambda _on: self.load())
        self.retry_button = QPushButton("&Réessayer")
        self.retry_button.setToolTip(
            "Appliquer de nouveau la ligne (et celles qu'elle bloque) à la prochaine synchronisation"
        )
        self.discard_button = QPushButton("A&bandonner")
        self.discard_button.setToolTip("Ne jamais appliquer la ligne ni celles qu'elle bloque")
        self.retry_button.clicked.connect(lambda: self.settle(retry=True))
        self.discard_button.clicked.connect(lambda: self.settle(retry=False))
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setObjectName("parkedDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QHBoxLayout()
        heading.addWidget(self.summary, 1)
        heading.addWidget(self.show_settled, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self._enable_actions()

    def load(self) -> None:
        ctx = self.shell.ctx
        statuses = None if self.show_settled.isChecked() else (ParkedStatus.PARKED,)

        def load() -> tuple[list[ParkedRecord], int]:
            return sync_admin.list_parked(ctx, statuses), sync_admin.count_parked(ctx)

        self.shell.runner.read(
            load, on_success=self._show, on_failure=lambda e: show_error(self, e), parent=self
        )

    def _show(self, loaded: tuple[list[ParkedRecord], int]) -> None:
        parked, waiting = loaded
        self.model.set_rows(parked)
        fit_columns(self.table, 240)
        self.count_changed.emit(waiting)
        if waiting:
            self.summary.setText(
                ("1 ligne n'a pas pu être appliquée. Elle ne bloque" if waiting == 1 else
                 f"{fmt.count(waiting)} lignes n'ont pas pu être appliquées. Elles ne bloquent")
                + " rien d'autre. Corrigez la cause (par exemple la fiche manquante) puis "
                "« Réessayer », ou « Abandonner »."
            )
        else:
            self.summary.setText("Aucune ligne en attente.")
        if parked:
            self.table.selectRow(0)
        self._enable_actions()

    def _current(self) -> ParkedRecord | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.row(index.row())

    def _enable_actions(self) -> None:
        parked = self._current()
        self.detail.setText(
            f"{parked.operation_label} de « {parked.table_label} {parked.row_caption} » "
            f"(lot {parked.batch_number or '—'}) : {parked.error or 'sans erreur enregistrée'}. "
            f"{parked.changes_text}".strip()
            if parked else ""
        )
        waiting = parked is not None and parked.status is ParkedStatus.PARKED
        self.retry_button.setEnabled(waiting)
        self.discard_button.setEnabled(waiting)

    def settle(self, retry: bool) -> None:
        parked = self._current()
        if parked is None or parked.status is not ParkedStatus.PARKED:
            return
        what = f"{parked.operation_label.lower()} de « {parked.table_label} »"
        if retry:
            question = (
                f"Réessayer la {what} (et les lignes qu'elle bloque) à la prochaine "
                "synchronisation ?"
            )
        else:
            question = (
                f"Abandonner définitivement la {what} et les lignes qu'elle bloque ?\n\n"
                "Ces modifications ne seront jamais appliquées."
            )
        if not messages.confirm(
            self, "Réessayer" if retry else "Abandonner", question, default_yes=retry
        ):
            return
        ctx = self.shell.ctx
        settle = sync_admin.retry_parked if retry else sync_admin.discard_parked
        self.shell.runner.write(
            lambda: settle(ctx, parked.id, parked.version),
            on_success=lambda _count: self.load(),
            on_failure=self.failed.emit,
            parent=self,
        )
