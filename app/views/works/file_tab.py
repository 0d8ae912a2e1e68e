"""The customer file's "Devis" tab: the customer's quotes and works invoices; Enter opens a quote
in the Devis page, a button starts a new quote for the customer's account."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.services.customer_file import CustomerFile
from app.services.works.lists import CustomerWorks, QuoteRow, WorksInvoiceRow, customer_works
from app.views.format import day
from app.views.table_model import Column, ListTableModel
from app.views.tables import table
from app.views.works import run

if TYPE_CHECKING:
    from app.views.customers.file_view import CustomerFileView
    from app.views.works.page import QuotesPage


class WorksTab(QWidget):
    def __init__(self, file_view: CustomerFileView) -> None:
        super().__init__()
        self.setObjectName("worksTab")
        self.file_view = file_view
        self.shell = file_view.shell
        self.file: CustomerFile | None = None
        currency = self.shell.ctx.installation.currency
        self.quotes_model: ListTableModel[QuoteRow] = ListTableModel([
            Column("Devis", lambda r: r.number),
            Column("Date", lambda r: day(r.issued_on)),
            Column("Statut", lambda r: r.status_label),
            Column("Valable jusqu'au", lambda r: day(r.valid_until)),
            Column("Montant TTC", lambda r: currency.format_minor(r.total_minor), True),
        ])
        self.invoices_model: ListTableModel[WorksInvoiceRow] = ListTableModel([
            Column("Facture", lambda r: r.number),
            Column("Type", lambda r: r.kind + (" (annulée)" if r.credited else "")),
            Column("Date", lambda r: day(r.issued_on)),
            Column("Devis", lambda r: r.quote_number),
            Column("Montant TTC", lambda r: currency.format_minor(r.total_minor), True),
        ])
        self.quotes = table(self.quotes_model, "customerQuotes", stretch=2)
        self.quotes.activated.connect(lambda index: self.open_quote(index.row()))
        self.invoices = table(self.invoices_model, "customerWorksInvoices", stretch=1)
        self.new_button = QPushButton("Nou&veau devis pour ce client")
        self.new_button.setObjectName("customerNewQuote")
        self.new_button.clicked.connect(self.new_quote)
        self.summary = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.new_button)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.quotes)
        split.addWidget(self.invoices)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    def show_file(self, file: CustomerFile) -> None:
        self.file = file
        ctx, customer_id = self.shell.ctx, file.identity.customer_id

        def shown(found: CustomerWorks) -> None:
            self.quotes_model.set_rows(found.quotes)
            self.invoices_model.set_rows(found.invoices)
            self.summary.setText(f"{len(found.quotes)} devis, {len(found.invoices)} facture(s) "
                                 "de travaux")

        run.read(self.shell, lambda: customer_works(ctx, customer_id), shown, self)

    def as_widget(self) -> QWidget:
        return self

    def _page(self) -> QuotesPage:
        from app.views.main_window import MainWindow
        from app.views.works.page import QuotesPage

        window = self.window()
        assert isinstance(window, MainWindow)
        return window.show_page(QuotesPage)

    def open_quote(self, row: int) -> None:
        if 0 <= row < self.quotes_model.rowCount():
            quote_id: uuid.UUID = self.quotes_model.row(row).quote_id
            self._page().open_quote(quote_id)

    def new_quote(self) -> None:
        if self.file is None or not self.file.accounts:
            return
        self._page().new_quote(self.file.accounts[0].formatted_number)
