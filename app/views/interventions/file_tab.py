"""The customer file's "Interventions" tab: the customer's requests and their state (overdue in
red), a new request taken for this customer (its accounts, premises and meters offered)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.customer_file import CustomerFile
from app.services.interventions.lists import RequestRow, customer_requests
from app.views.errors import show_error
from app.views.format import plural
from app.views.interventions.common import bind
from app.views.interventions.editor import RequestEditor
from app.views.interventions.page import RequestsModel

if TYPE_CHECKING:
    from app.views.customers.file_view import CustomerFileView


class InterventionsTab(QWidget):
    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        self.setObjectName("interventionsTab")
        self.view = view
        self.shell = view.shell
        self.file: CustomerFile | None = None
        self.model = RequestsModel(self.shell.ctx.installation.zone)
        self.table = QTableView()
        self.table.setObjectName("customerRequests")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count = QLabel()
        self.new_button = QPushButton("Nouvelle demande d'in&tervention…")
        self.new_button.setObjectName("action_new_request")
        self.new_button.clicked.connect(self.new_request)
        self.new_button.setEnabled(False)
        self.new_button.setToolTip("Nouvelle demande d'intervention pour ce client (Ins)")
        bind(self, "Ins", self.new_request)
        row = QHBoxLayout()
        row.addWidget(self.count, 1)
        row.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.shell.runner.changed.connect(self._changed)

    def _changed(self, changes: Changes) -> None:
        if changes.touches("intervention"):
            self.reload()

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        self.file = file
        self.new_button.setEnabled(True)
        self.reload()

    def reload(self) -> None:
        if self.file is None:
            return
        ctx, customer_id = self.shell.ctx, self.file.identity.customer_id
        self.shell.runner.read(lambda: customer_requests(ctx, customer_id),
                                 on_success=self._show, on_failure=lambda e: show_error(self, e),
                                 parent=self)

    def _show(self, rows: list[RequestRow]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        late = sum(1 for r in rows if r.overdue)
        text = plural(len(rows), "demande d'intervention", "demandes d'intervention")
        if late:
            text += f" — <span style='color:#b3261e'><b>{plural(late, 'en retard', 'en retard')}</b></span>"
        self.count.setText(text)

    def new_request(self) -> None:
        if self.file is None:
            return
        editor = RequestEditor(self.shell, self, file=self.file)
        self._editor = editor  # an open() dialog lives on after this method: keep its wrapper
        editor.open()  # the tab reloads itself: the write announced the request
