"""« Historique »: the runs of this desk, newest first, and the phases of the one selected."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.services import sync_admin
from app.services.sync_admin import PhaseRecord, RunHistoryPage, RunRecord
from app.views import format as fmt
from app.views.errors import show_error
from app.views.shell import Shell
from app.views.sync.common import duration, size, table
from app.views.table_model import Column, ListTableModel
from kernel import vocabulary

HISTORY_PAGE = 50
RECENT_RUN = timedelta(hours=2)


class HistoryTab(QWidget):
    """``is_running()`` says whether the page is running a synchronisation right now."""

    def __init__(self, shell: Shell, is_running: Callable[[], bool]) -> None:
        super().__init__()
        self.shell = shell
        self.is_running = is_running
        #: The run to select when the history comes back (the one just made on the page).
        self.select_run_id: uuid.UUID | None = None
        local = shell.ctx.installation.local
        self.model: ListTableModel[RunRecord] = ListTableModel([
            Column("Date", lambda r: fmt.moment(local(r.started_at))),
            Column("Statut", self._status_text),
            Column("Type", lambda r: r.trigger_label + (" · simulation" if r.dry_run else "")),
            Column("Durée", lambda r: duration(r.seconds), align_right=True),
            Column("Envoyées", lambda r: fmt.count(r.rows_up), align_right=True),
            Column("Reçues", lambda r: fmt.count(r.rows_down), align_right=True),
            Column("Volume", lambda r: f"{size(r.bytes_up)} ↑ {size(r.bytes_down)} ↓",
                   align_right=True),
            Column("Reprises", lambda r: fmt.count(r.retries), align_right=True),
            Column("Conflits", lambda r: fmt.count(r.conflicts), align_right=True),
            Column("En attente", lambda r: fmt.count(r.parked), align_right=True),
            Column("Écarts", lambda r: ", ".join(map(vocabulary.table_label, r.mismatches))
                   or ("aucun" if r.status == "succeeded" else "")),
        ])
        self.table = table("syncHistory")
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.more_button = QPushButton("Synchronisations &plus anciennes")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(lambda: self.load(more=True))
        self.summary = QLabel("")
        self.summary.setObjectName("hint")

        self.phases_model: ListTableModel[PhaseRecord] = ListTableModel([
            Column("Étape", lambda p: p.label),
            Column("Statut", lambda p: p.status_label),
            Column("Durée", lambda p: duration(p.seconds), align_right=True),
            Column("Lignes", lambda p: fmt.count(p.rows), align_right=True),
            Column("Volume", lambda p: size(p.bytes), align_right=True),
            Column("Reprises", lambda p: fmt.count(p.retries), align_right=True),
            Column("Détail", lambda p: p.detail),
        ])
        self.phases_table = table("syncPhases")
        self.phases_table.setModel(self.phases_model)
        self.run_error = QLabel("")
        self.run_error.setObjectName("syncRunError")
        self.run_error.setWordWrap(True)
        self.run_error.setStyleSheet("#syncRunError { color: #b00020; }")
        self.run_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        phases_caption = QLabel("Étapes de la synchronisation choisie")
        phases_caption.setObjectName("hint")
        below_layout.addWidget(phases_caption)
        below_layout.addWidget(self.phases_table, 1)
        below_layout.addWidget(self.run_error)
        above = QWidget()
        above_layout = QVBoxLayout(above)
        above_layout.setContentsMargins(0, 0, 0, 0)
        above_layout.addWidget(self.table, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.summary, 1)
        footer.addWidget(self.more_button)
        above_layout.addLayout(footer)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(above)
        splitter.addWidget(below)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_run(current.row())

    def load(self, more: bool = False) -> None:
        ctx = self.shell.ctx
        offset = len(self.model.rows) if more else 0
        limit = HISTORY_PAGE if more else max(HISTORY_PAGE, len(self.model.rows))
        self.shell.runner.read(
            lambda: sync_admin.run_history(ctx, offset=offset, limit=limit),
            on_success=lambda page: self._show_history(page, more),
            on_failure=self._failed,
            parent=self,
        )

    def _failed(self, error: BaseException) -> None:
        show_error(self, error)

    def _show_history(self, page: RunHistoryPage, more: bool) -> None:
        selected = self._selected_run()
        wanted = self.select_run_id or (selected.id if selected else None)
        rows = list(self.model.rows) + list(page.runs) if more else list(page.runs)
        self.model.set_rows(rows)
        self.more_button.setEnabled(len(rows) < page.total)
        if page.total == 0:
            self.summary.setText("Aucune synchronisation n'a encore été faite sur ce poste.")
        else:
            self.summary.setText(
                fmt.plural(len(rows), "synchronisation affichée", "synchronisations affichées")
                + f" sur {fmt.count(page.total)}"
            )
        position = next((i for i, r in enumerate(rows) if r.id == wanted), 0)
        if any(r.id == self.select_run_id for r in rows):
            self.select_run_id = None
        if rows:
            self.table.selectRow(position)
            self._show_run(position)
        else:
            self._show_run(-1)

    def _selected_run(self) -> RunRecord | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.row(index.row())

    def _show_run(self, row: int) -> None:
        if not 0 <= row < len(self.model.rows):
            self.phases_model.set_rows([])
            self.run_error.setText("")
            return
        run = self.model.row(row)
        self.phases_model.set_rows(run.phases)
        self.run_error.setText(run.error)

    def _status_text(self, run: RunRecord) -> str:
        """A run still ``running`` that is not this page's: one of another desk or of the
        scheduler when recent, else a run that was killed."""
        if run.status != "running" or self.is_running():
            return run.status_label
        if datetime.now(UTC) - run.started_at < RECENT_RUN:
            return "En cours ailleurs"
        return "Interrompue"
