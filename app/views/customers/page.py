"""The Clients page: the search tab, then one tab per open customer file."""

from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.export import export_search_csv
from app.services.search import SearchPage
from app.views import messages
from app.views.customers.results_model import SearchResultsModel
from app.views.errors import show_error
from app.views.format import plural
from app.views.shell import Shell

TYPING_PAUSE_MS = 120


class ResultsTable(QTableView):
    """Enter opens the selected customer (Qt would otherwise start editing)."""

    open_requested = Signal(int)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit(self.currentIndex().row())
            return
        super().keyPressEvent(event)


class SearchBox(QLineEdit):
    """Down arrow goes to the results."""

    down_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Down:
            self.down_pressed.emit()
            return
        super().keyPressEvent(event)


#: The results' address column (see ``results_model.COLUMNS``).
ADDRESS_COLUMN = 3


class SearchTab(QWidget):
    """Signals: ``open_requested(uuid)`` to open a file; ``new_requested()``."""

    open_requested = Signal(object)
    new_requested = Signal()
    check_requested = Signal()

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.box = SearchBox()
        self.box.setObjectName("customerSearch")
        self.box.setPlaceholderText("Nom, n° de compte, compteur, téléphone, adresse, n° de reçu…")
        self.box.setClearButtonEnabled(True)
        self.new_button = QPushButton("&Nouveau client")
        self.new_button.setToolTip("Créer un client avec son compte et sa propriété (Ctrl+N)")
        self.check_button = QPushButton("&Vérifier un n° de compte")
        self.export_button = QPushButton("E&xporter (CSV)")
        self.export_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.box, 1)
        top.addWidget(self.new_button)
        top.addWidget(self.check_button)
        top.addWidget(self.export_button)

        self.summary = QLabel(
            "Tapez quelques lettres ou chiffres : les clients s'affichent au fil de la frappe."
        )
        self.summary.setObjectName("searchSummary")
        self.model = SearchResultsModel(shell.ctx, shell.runner)
        self.table = ResultsTable()
        self.table.setObjectName("searchResults")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        # Columns fit what they hold; the address, the longest, takes the spare width.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(ADDRESS_COLUMN, QHeaderView.ResizeMode.Stretch)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(TYPING_PAUSE_MS)
        self.timer.timeout.connect(self.run_search)
        self.box.textEdited.connect(lambda _text: self.timer.start())
        self.box.returnPressed.connect(self._open_current_or_first)
        self.box.down_pressed.connect(self._focus_results)
        self.table.open_requested.connect(self._open_row)
        self.table.doubleClicked.connect(lambda index: self._open_row(index.row()))
        self.model.searched.connect(self._searched)
        self.model.refreshed.connect(self._keep_selection)
        shell.runner.changed.connect(self._changed)
        self._kept: uuid.UUID | None = None
        self.model.failed.connect(lambda error: show_error(self, error))
        self.new_button.clicked.connect(self.new_requested.emit)
        self.check_button.clicked.connect(self.check_requested.emit)
        self.export_button.clicked.connect(self.export)
        self.setTabOrder(self.box, self.table)

    def search(self, text: str) -> None:
        self.box.setText(text)
        self.run_search()
        self.box.setFocus()

    def run_search(self) -> None:
        self.timer.stop()
        query = self.box.text().strip()
        if not query:
            self.model.search("")
            return
        self.summary.setText("Recherche…")
        self.model.search(query)

    def _searched(self, page: SearchPage) -> None:
        self.export_button.setEnabled(bool(page.hits))
        self.summary.setText(
            page.summary.capitalize()
            if self.model.query
            else "Tapez quelques lettres ou chiffres : les clients s'affichent au fil de la frappe."
        )
        if page.hits:
            self.table.selectRow(0)

    def _changed(self, changes: Changes) -> None:
        if self.model.concerned(changes):
            index = self.table.currentIndex()
            self._kept = self.model.hit(index.row()).customer_id if index.isValid() else None
            self.model.refresh()

    def _keep_selection(self) -> None:
        """After a reload that changed the rows, the customer selected stays selected."""
        if self.table.currentIndex().isValid() or self._kept is None:
            return
        for row in range(self.model.rowCount()):
            if self.model.hit(row).customer_id == self._kept:
                self.table.selectRow(row)
                break

    def _focus_results(self) -> None:
        if self.model.rowCount():
            self.table.setFocus()
            if not self.table.currentIndex().isValid():
                self.table.selectRow(0)

    def _open_current_or_first(self) -> None:
        if self.timer.isActive():
            self.run_search()
            return
        if self.model.rowCount():
            row = self.table.currentIndex().row() if self.table.currentIndex().isValid() else 0
            self._open_row(row)

    def _open_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.open_requested.emit(self.model.hit(row).customer_id)

    def export(self) -> None:
        query = self.model.query
        path = messages.save_path(
            self, "Exporter les résultats", str(Path.home() / "clients.csv"), "Fichiers CSV (*.csv)"
        )
        if not path:
            return
        ctx = self.shell.ctx
        self.shell.runner.read(
            lambda: export_search_csv(ctx, query, Path(path)),
            on_success=lambda n: messages.inform(
                self, "Export terminé", f"{plural(n, 'client exporté', 'clients exportés')} dans {path}"
            ),
            parent=self,
        )


class ClientsPage(QWidget):
    """Implements ``Page``: the search tab and one tab per open customer file."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.tabs = QTabWidget()
        self.tabs.setObjectName("clientTabs")
        self.tabs.setTabsClosable(True)
        self.tabs.setDocumentMode(True)
        self.search_tab = SearchTab(shell)
        self.tabs.addTab(self.search_tab, "Recherche")
        self.tabs.tabBar().setTabButton(0, self.tabs.tabBar().ButtonPosition.RightSide, None)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.files: dict[uuid.UUID, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.search_tab.open_requested.connect(self.open_file)
        self.search_tab.new_requested.connect(self.new_customer)
        self.search_tab.check_requested.connect(self.check_account)
        # Ctrl+F, Ctrl+N and Ctrl+W are the main window's (they work wherever the focus is).

    def as_widget(self) -> QWidget:
        return self

    def closing(self) -> None:
        pass

    def activated(self) -> None:
        """Shown by its module shortcut: the cursor goes to the search box."""
        if self.tabs.currentWidget() is self.search_tab:
            self.focus_search()

    def close_current(self) -> None:
        self.close_tab(self.tabs.currentIndex())

    def focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.search_tab)
        self.search_tab.box.setFocus()
        self.search_tab.box.selectAll()

    def search(self, text: str) -> None:
        self.tabs.setCurrentWidget(self.search_tab)
        self.search_tab.search(text)

    def open_file(self, customer_id: uuid.UUID) -> QWidget:
        from app.views.customers.file_view import CustomerFileView

        if customer_id in self.files:
            self.tabs.setCurrentWidget(self.files[customer_id])
            return self.files[customer_id]
        view = CustomerFileView(self.shell, customer_id)
        view.title_changed.connect(
            lambda title, v=view: self.tabs.setTabText(self.tabs.indexOf(v), title)
        )
        self.files[customer_id] = view
        self.tabs.addTab(view, "Chargement…")
        self.tabs.setCurrentWidget(view)
        return view

    def close_tab(self, index: int) -> None:
        if index <= 0:
            return
        widget = self.tabs.widget(index)
        if widget is None:
            return
        self.tabs.removeTab(index)
        self.files = {k: v for k, v in self.files.items() if v is not widget}
        widget.deleteLater()

    def new_customer(self) -> None:
        from app.views.customers.identity_dialogs import NewCustomerDialog

        dialog = NewCustomerDialog(self.shell, self)
        dialog.created.connect(self.open_file)
        dialog.open()

    def check_account(self) -> None:
        from app.views.customers.account_check_dialog import AccountCheckDialog

        AccountCheckDialog(self.shell, self).open()

    def refresh(self) -> None:
        current = self.tabs.currentWidget()
        refresh = getattr(current, "refresh", None)
        if callable(refresh):
            refresh()
        elif current is self.search_tab:
            self.search_tab.run_search()
