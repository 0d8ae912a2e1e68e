"""Factures fournisseurs: the agency's electricity and telephone invoices (EDF, France Telecom…)
as central integrated them from EDIFACT and the night's synchronisation brought them — read-only
(docs/edifact.md)."""

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
from app.services.supplier_invoices import SupplierInvoiceRow, supplier_invoices
from app.views.format import day
from app.views.shell import Shell
from kernel.money import Currency

HEADERS = ("Fournisseur", "Document", "Émis le", "Période", "Site", "HT", "TVA", "TTC")
_AMOUNTS = frozenset({5, 6, 7})


class SupplierInvoicesPage(QWidget):
    """Implements ``Page``; ``refresh`` reads the list again (F5)."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.rows: list[SupplierInvoiceRow] = []
        title = QLabel("Factures fournisseurs")
        title.setObjectName("pageTitle")
        hint = QLabel("Factures et avoirs des fournisseurs pour les sites de l'agence, intégrés "
                      "au siège et reçus par la synchronisation de nuit (consultation seule).")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.empty = QLabel("Aucune facture fournisseur reçue.")
        self.refresh_button = QPushButton("&Actualiser")
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
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
        if changes.touches("supplier_invoice"):
            self.refresh()

    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.table.setFocus()

    def closing(self) -> None:
        pass

    def refresh(self) -> None:
        self.refresh_button.setEnabled(False)
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: supplier_invoices(ctx), on_success=self._show,
                               on_failure=self._failed, parent=self)

    def _failed(self, error: BaseException) -> None:
        from app.views.errors import show_error

        self.refresh_button.setEnabled(True)
        show_error(self, error)

    def _show(self, rows: list[SupplierInvoiceRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for row, item in enumerate(rows):
            money = Currency.of(item.currency)
            period = (f"{day(item.period_start)} – {day(item.period_end)}"
                      if item.period_start and item.period_end else "")
            kind = "Avoir" if item.is_credit_note else "Facture"
            texts = (item.supplier, f"{kind} {item.number}", day(item.issued_on), period,
                     item.site, money.format_minor(item.amount_excl_vat_minor),
                     money.format_minor(item.vat_minor), money.format_minor(item.total_minor))
            for column, text in enumerate(texts):
                cell = QTableWidgetItem(text)
                if column in _AMOUNTS:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.empty.setVisible(not rows)
        self.refresh_button.setEnabled(True)
