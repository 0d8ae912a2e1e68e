"""The Devis page: the quotes list (filters, search, counts and totals, CSV export, quotes
about to expire highlighted), the works invoices list, the monthly report, and the quote editor
in the same page (Escape goes back to the list)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.models.enums import QuoteStatus
from app.services.customer_edit import communes
from app.services.works.catalogue import CatalogueItem, load_catalogue
from app.services.works.documents import invoice_pdf
from app.services.works.invoicing import CREDITING_ROLES, credit_invoice
from app.services.works.lists import (
    InvoiceFilter,
    InvoiceList,
    QuoteFilter,
    QuoteList,
    QuoteRow,
    WorksInvoiceRow,
    invoices_csv,
    list_quotes,
    list_works_invoices,
    monthly_report,
    monthly_report_csv,
    monthly_report_pdf,
    quotes_csv,
)
from app.services.works.quotes import expire_overdue
from app.views import messages
from app.views.documents import deliver_document
from app.views.format import day, plural
from app.views.forms import ValueCombo, combo
from app.views.shell import Shell
from app.views.table_model import Column, ListTableModel
from app.views.tables import table
from app.views.works import run
from app.views.works.editor import QuoteEditor
from kernel.errors import ValidationError

Index = QModelIndex | QPersistentModelIndex
#: What the lists show: a write touching these reloads them.
WORKS_KINDS = ("works_quote", "works_quote_line", "invoice")
EXPIRING = QColor("#fff1d6")


class QuotesModel(ListTableModel[QuoteRow]):
    """The quotes list; a sent quote whose validity ends within a week is highlighted."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.BackgroundRole and index.isValid() \
                and 0 <= index.row() < len(self.rows) and self.rows[index.row()].expiring_soon:
            return QBrush(EXPIRING)
        return super().data(index, role)


def _periods(today: date) -> list[tuple[str, tuple[date | None, date | None]]]:
    month = today.replace(day=1)
    return [
        ("Toutes dates", (None, None)),
        ("Ce mois-ci", (month, None)),
        ("Mois dernier", ((month - timedelta(days=1)).replace(day=1),
                          month - timedelta(days=1))),
        ("3 derniers mois", (today - timedelta(days=92), None)),
        ("Cette année", (today.replace(month=1, day=1), None)),
    ]


def _amount(text: str, shell: Shell) -> int | None:
    text = text.strip()
    if not text:
        return None
    currency = shell.ctx.installation.currency
    return currency.to_minor(currency.parse(text))


class QuotesPage(QWidget):
    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.setObjectName("quotesPage")
        self.shell = shell
        self.catalogue: list[CatalogueItem] = []
        currency = shell.ctx.installation.currency
        today = shell.ctx.installation.today()

        self.search = QLineEdit()
        self.search.setObjectName("quoteSearch")
        self.search.setPlaceholderText("N° de devis (DV…) ou nom du client / prospect")
        self.status = combo([("Tous statuts", None)] + [
            (text, status) for text, status in (
                ("Brouillons", QuoteStatus.DRAFT), ("Envoyés", QuoteStatus.SENT),
                ("Acceptés", QuoteStatus.APPROVED), ("Refusés", QuoteStatus.REFUSED),
                ("Expirés", QuoteStatus.EXPIRED), ("Travaux commandés", QuoteStatus.ORDERED),
                ("Facturés", QuoteStatus.INVOICED), ("Remplacés", QuoteStatus.REVISED),
                ("Annulés", QuoteStatus.CANCELLED))])
        self.status.setObjectName("quoteStatusFilter")
        self.period = combo(_periods(today))
        self.period.setObjectName("quotePeriod")
        self.agent = QLineEdit()
        self.agent.setPlaceholderText("nom de l'agent")
        self.agent.setMaximumWidth(160)
        self.commune = ValueCombo()
        self.commune.add("Toutes communes", None)
        self.minimum = QLineEdit()
        self.minimum.setPlaceholderText("minimum")
        self.minimum.setMaximumWidth(110)
        self.maximum = QLineEdit()
        self.maximum.setPlaceholderText("maximum")
        self.maximum.setMaximumWidth(110)
        # Two rows: on one, the filters were wider than a 1366 px screen (« max. » cut off).
        search_row = QHBoxLayout()
        search_label = QLabel("&Rechercher")
        search_label.setBuddy(self.search)
        search_row.addWidget(search_label)
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.status)
        search_row.addWidget(self.period)
        narrow_row = QHBoxLayout()
        for caption, widget in (("Établi &par", self.agent), ("Comm&une", self.commune),
                                ("Montant TT&C de", self.minimum), ("à", self.maximum)):
            label = QLabel(caption)
            label.setBuddy(widget)
            narrow_row.addWidget(label)
            narrow_row.addWidget(widget)
        narrow_row.addStretch(1)
        filters = QVBoxLayout()
        filters.addLayout(search_row)
        filters.addLayout(narrow_row)

        self.quotes_model = QuotesModel([
            Column("N°", lambda r: r.number),
            Column("Date", lambda r: day(r.issued_on)),
            Column("Client / prospect", lambda r: r.party),
            Column("Commune", lambda r: r.commune),
            Column("Statut", lambda r: r.status_label + (" — expire bientôt"
                                                         if r.expiring_soon else "")),
            Column("Valable jusqu'au", lambda r: day(r.valid_until)),
            Column("Montant TTC", lambda r: currency.format_minor(r.total_minor), True),
            Column("Établi par", lambda r: r.prepared_by),
        ])
        self.quotes = table(self.quotes_model, "quotesTable", stretch=2)
        self.quotes.activated.connect(lambda index: self._open(index.row()))
        self.summary = QLabel()
        self.summary.setObjectName("quotesSummary")

        self.invoices_model: ListTableModel[WorksInvoiceRow] = ListTableModel([
            Column("N°", lambda r: r.number),
            Column("Type", lambda r: r.kind + (" (annulée par avoir)" if r.credited else "")),
            Column("Date", lambda r: day(r.issued_on)),
            Column("Client", lambda r: r.party),
            Column("Compte", lambda r: r.account_number),
            Column("Devis", lambda r: r.quote_number),
            Column("Commune", lambda r: r.commune),
            Column("Montant TTC", lambda r: currency.format_minor(r.total_minor), True),
            Column("Facturée par", lambda r: r.invoiced_by),
        ])
        self.invoices = table(self.invoices_model, "worksInvoicesTable", stretch=3)
        self.invoices_summary = QLabel()
        self.invoices_summary.setObjectName("invoicesSummary")

        actions = QHBoxLayout()
        self.action_buttons: dict[str, QPushButton] = {}
        for key, text, slot in (
            ("new", "&Nouveau devis", lambda: self.new_quote()),
            ("open", "&Ouvrir", lambda: self._open(self.quotes.currentIndex().row())),
            ("csv", "E&xporter (CSV)", self.export_csv),
            ("report", "Rapport du &mois", self.month_report),
            ("reprint", "Réimprimer la facture", self.reprint_invoice),
            ("credit", "&Avoir…", self.credit_note),
        ):
            button = QPushButton(text)
            button.setObjectName(f"works_{key}")
            button.clicked.connect(slot)
            self.action_buttons[key] = button
            actions.addWidget(button)
        actions.addStretch(1)
        user = shell.ctx.user
        self.action_buttons["credit"].setVisible(user is not None
                                                 and user.role in CREDITING_ROLES)

        self.lists = QTabWidget()
        self.lists.setObjectName("worksLists")
        quotes_tab = QWidget()
        column = QVBoxLayout(quotes_tab)
        column.addWidget(self.quotes, 1)
        column.addWidget(self.summary)
        invoices_tab = QWidget()
        column = QVBoxLayout(invoices_tab)
        column.addWidget(self.invoices, 1)
        column.addWidget(self.invoices_summary)
        self.lists.addTab(quotes_tab, "&Devis")
        self.lists.addTab(invoices_tab, "&Factures de travaux")
        self.lists.currentChanged.connect(lambda _i: self._enable())

        list_page = QWidget()
        list_layout = QVBoxLayout(list_page)
        list_layout.setContentsMargins(12, 8, 12, 8)
        list_layout.addLayout(filters)
        list_layout.addLayout(actions)
        list_layout.addWidget(self.lists, 1)

        self.editor = QuoteEditor(shell, self.catalogue)
        self.editor.closed.connect(self.show_list)
        self.editor.changed.connect(self._schedule)
        shell.runner.changed.connect(self._changed)
        self.stack = QStackedWidget()
        self.stack.addWidget(list_page)
        self.stack.addWidget(self.editor)
        # At 1366×768 everything shows; a smaller window scrolls rather than growing.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.stack)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.reload)
        self.search.textEdited.connect(lambda _t: self._schedule())
        for widget in (self.agent, self.minimum, self.maximum):
            widget.textEdited.connect(lambda _t: self._schedule())
        for box in (self.status, self.period, self.commune):
            box.currentIndexChanged.connect(lambda _i: self._schedule())
        self.action_buttons["new"].setToolTip("Nouveau devis (Ctrl+Maj+N)")
        self._load_reference()
        self.refresh()

    # --- Page -----------------------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        if self.stack.currentWidget() is self.editor:
            return
        self.refresh()
        self.search.setFocus()
        self.search.selectAll()

    def refresh(self) -> None:
        """Sent quotes past their validity become expired, then the lists are read again."""
        ctx = self.shell.ctx
        run.write(self.shell, lambda: expire_overdue(ctx), lambda _n: self.reload(), self)

    def closing(self) -> None:
        self._timer.stop()

    # --- loading --------------------------------------------------------------------------
    def _load_reference(self) -> None:
        ctx = self.shell.ctx

        def fill(found: tuple[list[CatalogueItem], list[Any]]) -> None:
            items, places = found
            self.catalogue[:] = items
            self.editor.model.catalogue = self.catalogue
            for choice in places:
                self.commune.add(choice.label, choice.value)

        run.read(self.shell, lambda: (load_catalogue(ctx), communes(ctx)), fill, self)

    def _schedule(self) -> None:
        self._timer.start()

    def _changed(self, changes: Changes) -> None:
        """A write touched quotes or invoices (here, in a customer file, a synchronisation):
        the lists are read again."""
        if changes.touches_any(WORKS_KINDS):
            self._schedule()

    def quote_filter(self) -> QuoteFilter:
        start, end = self.period.value()
        return QuoteFilter(status=self.status.value(), date_from=start, date_to=end,
                           agent=self.agent.text(), commune_id=self.commune.value(),
                           min_total_minor=_amount(self.minimum.text(), self.shell),
                           max_total_minor=_amount(self.maximum.text(), self.shell),
                           text=self.search.text())

    def invoice_filter(self) -> InvoiceFilter:
        start, end = self.period.value()
        return InvoiceFilter(date_from=start, date_to=end, text=self.search.text(),
                             min_total_minor=_amount(self.minimum.text(), self.shell),
                             max_total_minor=_amount(self.maximum.text(), self.shell),
                             agent=self.agent.text(), commune_id=self.commune.value())

    def reload(self) -> None:
        try:
            quotes, invoices = self.quote_filter(), self.invoice_filter()
        except ValidationError as error:
            self.summary.setText(error.message)
            return
        ctx = self.shell.ctx
        currency = ctx.installation.currency

        def shown(found: tuple[QuoteList, InvoiceList]) -> None:
            listed, billed = found
            self.quotes_model.set_rows(listed.rows)
            more = f" ({len(listed.rows)} affichés)" if len(listed.rows) < listed.count else ""
            expiring = sum(1 for row in listed.rows if row.expiring_soon)
            self.summary.setText(
                f"{plural(listed.count, 'devis', 'devis')}{more} — total "
                f"{currency.format_minor(listed.total_minor)} TTC"
                + (f" — {plural(expiring, 'devis expire', 'devis expirent')} dans la semaine"
                   if expiring else ""))
            self.invoices_model.set_rows(billed.rows)
            self.invoices_summary.setText(
                f"{plural(billed.count, 'facture ou avoir', 'factures et avoirs')} — total "
                f"{currency.format_minor(billed.total_minor)} TTC")
            if self.quotes_model.rowCount() and not self.quotes.currentIndex().isValid():
                self.quotes.setCurrentIndex(self.quotes_model.index(0, 0))
            self._enable()

        run.read(self.shell, lambda: (list_quotes(ctx, quotes),
                                      list_works_invoices(ctx, invoices)), shown, self)

    def _enable(self) -> None:
        on_invoices = self.lists.currentIndex() == 1
        self.action_buttons["open"].setEnabled(not on_invoices)
        self.action_buttons["reprint"].setEnabled(on_invoices)
        self.action_buttons["credit"].setEnabled(on_invoices)

    # --- actions --------------------------------------------------------------------------
    def new_quote(self, account_number: str = "") -> None:
        self.stack.setCurrentWidget(self.editor)
        self.editor.new_quote(account_number)

    def open_quote(self, quote_id: uuid.UUID) -> None:
        self.stack.setCurrentWidget(self.editor)
        self.editor.open_quote(quote_id)

    def _open(self, row: int) -> None:
        if 0 <= row < self.quotes_model.rowCount():
            self.open_quote(self.quotes_model.row(row).quote_id)

    def show_list(self) -> None:
        self.stack.setCurrentIndex(0)
        self.reload()
        self.quotes.setFocus()

    def export_csv(self) -> None:
        on_invoices = self.lists.currentIndex() == 1
        name = "factures-travaux.csv" if on_invoices else "devis.csv"
        target = messages.save_path(self, "Exporter la liste", name, "CSV (*.csv)")
        if not target:
            return
        ctx = self.shell.ctx
        try:
            quotes, invoices = self.quote_filter(), self.invoice_filter()
        except ValidationError as error:
            messages.warn(self, "Export", error.message)
            return

        def job() -> int:
            text = invoices_csv(ctx, invoices) if on_invoices else quotes_csv(ctx, quotes)
            Path(target).write_text(text, encoding="utf-8-sig")
            return text.count("\n") - 1

        run.read(self.shell, job, lambda n: messages.inform(
            self, "Export", f"{plural(n, 'ligne exportée', 'lignes exportées')} : {target}"), self)

    def month_report(self) -> None:
        ctx = self.shell.ctx
        today = ctx.installation.today()
        folder = Path(self.shell.settings.data_dir) / "rapports"

        def job() -> tuple[Path, bytes]:
            report = monthly_report(ctx, today.year, today.month)
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"rapport-travaux-{today:%Y-%m}"
            (folder / f"{stem}.csv").write_text(monthly_report_csv(ctx, report),
                                                encoding="utf-8-sig")
            return folder / f"{stem}.pdf", monthly_report_pdf(ctx, report)

        def deliver(found: tuple[Path, bytes]) -> None:
            path, pdf = found
            deliver_document(self, self.shell.settings.data_dir, path.name, pdf,
                             title="Rapport mensuel des travaux",
                             what=f"Rapport du mois (et son CSV dans {folder}).")

        run.read(self.shell, job, deliver, self)

    def _current_invoice(self) -> WorksInvoiceRow | None:
        row = self.invoices.currentIndex().row()
        return self.invoices_model.row(row) if 0 <= row < self.invoices_model.rowCount() \
            else None

    def reprint_invoice(self) -> None:
        chosen = self._current_invoice()
        if chosen is None:
            return
        ctx = self.shell.ctx

        def deliver(printed: Any) -> None:
            deliver_document(self, self.shell.settings.data_dir, printed.filename, printed.pdf,
                             title="Réimpression", what=f"Duplicata de {chosen.number}.")

        run.write(self.shell, lambda: invoice_pdf(ctx, chosen.invoice_id), deliver, self)

    def credit_note(self) -> None:
        chosen = self._current_invoice()
        if chosen is None:
            return
        reason = messages.ask_text(self, "Avoir", f"Motif de l'avoir sur {chosen.number} :")
        if reason is None:
            return
        ctx = self.shell.ctx

        def done(issued: Any) -> None:
            deliver_document(self, self.shell.settings.data_dir, issued.filename, issued.pdf,
                             title="Avoir", what=f"Avoir {issued.number} émis.")
            self.reload()

        run.write(self.shell, lambda: credit_invoice(ctx, chosen.invoice_id, reason), done,
                  self)

    @property
    def quotes_view(self) -> QTableView:
        return self.quotes
