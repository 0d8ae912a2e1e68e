"""Find a token (the complaint desk): the sales of the agency's meters over every channel by
meter, phone, receipt, a few token digits or dates, with their SMS status; a DUPLICATA of the
receipt with a reason. The customer file's *Prépayé* tab shows the same list for its meters."""

from __future__ import annotations

import uuid
from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.customer_file import CustomerFile
from app.services.prepaid_desk import CentralUnreachable, VendRefused, grouped
from app.services.prepaid_sales import IssuedDocument, SaleRow, find_sales, reprint_receipt
from app.views import messages
from app.views.customers.file_view import CustomerFileView
from app.views.documents import deliver_document
from app.views.format import moment
from app.views.prepaid import central_of, named, vending_desk
from app.views.prepaid.refusal import RefusalPanel
from app.views.shell import Shell
from app.views.table_model import Column, ListTableModel
from app.views.tables import table
from kernel.numbering import VEND_RECEIPT_CODE, Series, format_number


def _tokens(row: SaleRow) -> str:
    return "  puis  ".join(grouped(t) for t in (*row.key_change_tokens, row.token))


class SalesList(QWidget):
    """The sales table and the duplicata button (shared by the page and the file tab)."""

    def __init__(self, shell: Shell, name: str) -> None:
        super().__init__()
        self.shell = shell
        currency = shell.ctx.installation.currency
        self.model: ListTableModel[SaleRow] = ListTableModel([
            Column("Date", lambda r: moment(r.sold_at)),
            Column("Reçu", lambda r: r.receipt),
            Column("Compteur", lambda r: r.meter),
            Column("Canal", lambda r: r.channel),
            Column("Montant", lambda r: currency.format_minor(r.amount_minor), align_right=True),
            Column("kWh", lambda r: r.energy_kwh.replace(".", ","), align_right=True),
            Column("Téléphone", lambda r: r.phone),
            Column("SMS", lambda r: r.sms_status),
            Column("Code(s)", _tokens),
        ])
        self.table = table(self.model, name)
        self.count = QLabel()
        self.count.setObjectName("hint")
        self.duplicate = QPushButton("Réimprimer le reçu (&duplicata)…")
        self.duplicate.setEnabled(False)
        self.duplicate.clicked.connect(self.reprint)
        self.resend = QPushButton("Renvoyer le &SMS…")
        self.resend.setEnabled(False)
        self.resend.clicked.connect(self.resend_sms)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        buttons = QHBoxLayout()
        buttons.addWidget(self.count)
        buttons.addStretch(1)
        buttons.addWidget(self.resend)
        buttons.addWidget(self.duplicate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def show_rows(self, rows: list[SaleRow]) -> None:
        self.model.set_rows(rows)
        self.count.setText("Aucune vente trouvée." if not rows else
                           f"{len(rows)} vente(s), la plus récente en premier.")
        self._selection()
        if rows:
            self.table.selectRow(0)

    def _selection(self) -> None:
        chosen = self.selected() is not None
        self.duplicate.setEnabled(chosen)
        self.resend.setEnabled(chosen)

    def resend_sms(self) -> None:
        row = self.selected()
        if row is None:
            return
        phone = messages.ask_text(
            self, "Renvoyer le SMS", f"Numéro qui recevra le code du reçu {row.receipt} "
            f"(vide : le même, {row.phone}) :")
        if phone is None:
            return
        reason = messages.ask_text(self, "Renvoyer le SMS", "Pourquoi le renvoyer ?")
        if reason is None:
            return
        shell, number = self.shell, phone.strip() or row.phone
        connection = central_of(shell, self)
        agent = shell.ctx.actor.username

        def resend() -> str:
            with vending_desk(shell, connection) as desk:
                return desk.resend_sms(row.receipt, number, agent, reason)

        shell.runner.write(resend, parent=self, on_failure=self._failed,
                           on_success=lambda _status: messages.inform(
                               self, "Renvoyer le SMS",
                               f"Le SMS du reçu {row.receipt} part au {number}."))

    def selected(self) -> SaleRow | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def reprint(self) -> None:
        row = self.selected()
        if row is None:
            return
        reason = messages.ask_text(self, "Duplicata du reçu",
                                   f"Pourquoi réimprimer le reçu {row.receipt} ?")
        if reason is None:
            return
        ctx, paper = self.shell.ctx, self.shell.settings.prepaid_receipt_paper
        self.shell.runner.write(lambda: reprint_receipt(ctx, row.receipt, reason, paper),
                                on_success=self._reprinted, on_failure=self._failed,
                                parent=self)

    def _reprinted(self, copy: IssuedDocument) -> None:
        deliver_document(self, self.shell.settings.data_dir, copy.filename, copy.pdf,
                         title="Duplicata du reçu", what="Duplicata enregistré.")

    def _failed(self, error: BaseException) -> None:
        from kernel.errors import BusinessError

        if isinstance(error, BusinessError | VendRefused | CentralUnreachable):
            messages.warn(self, "Opération impossible", str(error))
            return
        raise error


class TokenLookupPage(QWidget):
    """Implements ``Page``."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        title = QLabel("Jetons — retrouver une recharge")
        title.setObjectName("pageTitle")
        hint = QLabel("Ventes des compteurs de l'agence par tous les canaux (USSD, API, "
                      "guichet), telles que reçues à la dernière synchronisation. Remplissez "
                      "un ou plusieurs critères puis Entrée.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.meter = named(QLineEdit(), "lookupMeter")
        self.meter.setPlaceholderText("N° de série ou DRN")
        self.phone = named(QLineEdit(), "lookupPhone")
        self.receipt = named(QLineEdit(), "lookupReceipt")
        first_of_year = format_number(Series.VEND_RECEIPT, VEND_RECEIPT_CODE,
                                      shell.ctx.installation.today().year, 1)
        self.receipt.setPlaceholderText(f"n° complet, ex. {first_of_year}")
        self.digits = named(QLineEdit(), "lookupDigits")
        self.digits.setPlaceholderText("quelques chiffres du code, ex. 7134 7068")
        self.use_dates = QCheckBox("Entre le")
        today = QDate.currentDate()
        self.day_from = QDateEdit(today.addDays(-30))
        self.day_to = QDateEdit(today)
        for edit in (self.day_from, self.day_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd/MM/yyyy")
        dates = QHBoxLayout()
        dates.addWidget(self.use_dates)
        dates.addWidget(self.day_from)
        dates.addWidget(QLabel("et le"))
        dates.addWidget(self.day_to)
        dates.addStretch(1)
        self.search_button = QPushButton("&Chercher (Entrée)")
        self.search_button.clicked.connect(self.search)
        form = QFormLayout()
        form.addRow("&Compteur :", self.meter)
        form.addRow("&Téléphone :", self.phone)
        form.addRow("&Reçu :", self.receipt)
        form.addRow("Chiffres du &jeton :", self.digits)
        form.addRow("Période :", dates)
        for field in (self.meter, self.phone, self.receipt, self.digits):
            field.returnPressed.connect(self.search)
        form_box = QWidget()
        form_box.setMaximumWidth(760)
        column = QVBoxLayout(form_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addWidget(self.search_button)
        column.addStretch(1)
        self.results = SalesList(shell, "tokenLookup")
        self.refusal = RefusalPanel(shell)
        # Its minimum would add to the search form's and widen the whole window past a small
        # screen: it takes its share of what is left instead (its labels wrap).
        self.refusal.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        top = QHBoxLayout()
        # Half each: a wider panel wraps its explanation on fewer lines (the sales table below
        # keeps its rows at 1366×768); the search fields need no more than half.
        top.addWidget(form_box, 1)
        top.addWidget(self.refusal, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(top)
        layout.addWidget(self.results, 1)
        shell.runner.changed.connect(self._changed)

    def _changed(self, changes: Changes) -> None:
        if changes.touches("vend_transaction") and self.results.model.rows:
            self.search()

    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.meter.setFocus()
        self.meter.selectAll()

    def refresh(self) -> None:
        self.search()

    def explain_refusal(self) -> None:
        """The refusal panel, its meter taken from the chosen sale or the search."""
        row = self.results.selected()
        self.refusal.start(row.meter if row is not None else self.meter.text().strip())

    def closing(self) -> None:
        pass

    def search(self) -> None:
        ctx = self.shell.ctx
        day_from: date | None = None
        day_to: date | None = None
        if self.use_dates.isChecked():
            day_from = self.day_from.date().toPython()  # type: ignore[assignment]
            day_to = self.day_to.date().toPython()  # type: ignore[assignment]
        meter, phone = self.meter.text(), self.phone.text()
        receipt, digits = self.receipt.text(), self.digits.text()
        self.shell.runner.read(
            lambda: find_sales(ctx, meter=meter, phone=phone, receipt=receipt, digits=digits,
                               day_from=day_from, day_to=day_to),
            on_success=self.results.show_rows, parent=self)


class PrepaidTab(QWidget):
    """Implements ``FileTab``: the sales of this customer's meters, every channel."""

    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        shell = self.shell = view.shell
        self.customer_id: uuid.UUID | None = None
        self.sales = SalesList(shell, "customerPrepaid")
        layout = QVBoxLayout(self)
        layout.addWidget(self.sales)

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        ctx, customer_id = self.shell.ctx, file.identity.customer_id
        self.customer_id = customer_id
        self.shell.runner.read(lambda: find_sales(ctx, customer_id=customer_id),
                               on_success=self.sales.show_rows, parent=self)
