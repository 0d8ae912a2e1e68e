"""Comptes verrouillés: the user names locked after ten failed sign-ins, and the supervisor's
action that unlocks one (supervisors and administrators only; audited by the service)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.auth import LockedUser, locked_users, unlock
from app.views import messages
from app.views.shell import Shell

HEADERS = ("Identifiant", "Nom", "Échecs", "Verrouillé le")


class LockedUsersPage(QWidget):
    """Implements ``Page``; ``refresh`` reloads the list (F5)."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.locked: list[LockedUser] = []
        title = QLabel("Comptes verrouillés")
        title.setObjectName("pageTitle")
        hint = QLabel("Un compte est verrouillé après 10 tentatives de connexion "
                      "infructueuses. Vérifiez l'identité de l'agent avant de le déverrouiller.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.empty = QLabel("Aucun compte verrouillé.")
        self.unlock_button = QPushButton("&Déverrouiller")
        self.unlock_button.setEnabled(False)
        self.unlock_button.clicked.connect(self.unlock_selected)
        self.refresh_button = QPushButton("&Actualiser")
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.unlock_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addLayout(buttons)
        shell.runner.changed.connect(self._changed)
        self.refresh()

    def _changed(self, changes: Changes) -> None:
        if changes.touches("user"):
            self.refresh()

    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        pass

    def closing(self) -> None:
        pass

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        db = self.shell.ctx.db
        self.shell.runner.read(lambda: locked_users(db), on_success=self._show,
                                 on_failure=self._failed, parent=self)

    def _failed(self, error: BaseException) -> None:
        from app.views.errors import show_error

        self.refresh_button.setEnabled(True)
        show_error(self, error)

    def _show(self, locked: list[LockedUser]) -> None:
        rows = self.table.selectionModel().selectedRows()
        kept = self.locked[rows[0].row()].username if rows and self.locked else None
        self.locked = locked
        self.table.setRowCount(len(locked))
        zone = self.shell.ctx.installation
        for row, item in enumerate(locked):
            when = zone.local(item.locked_at).strftime("%d/%m/%Y %H:%M")
            for column, text in enumerate((item.username, item.full_name, str(item.failures),
                                           when)):
                cell = QTableWidgetItem(text)
                if column == 2:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        for row, item in enumerate(locked):
            if item.username == kept:
                self.table.selectRow(row)
        self.empty.setVisible(not locked)
        self.refresh_button.setEnabled(True)
        self._selection_changed()

    def _selection_changed(self) -> None:
        self.unlock_button.setEnabled(bool(self.table.selectionModel().selectedRows()))

    def unlock_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        chosen = self.locked[rows[0].row()]
        if not messages.confirm(self, "Déverrouiller",
                                f"Déverrouiller le compte {chosen.username} ?"):
            return
        user = self.shell.ctx.user
        db = self.shell.ctx.db
        if user is None:
            return
        self.unlock_button.setEnabled(False)
        self.shell.runner.write(lambda: unlock(db, user, chosen.username),
                                on_failure=self._failed, parent=self)
