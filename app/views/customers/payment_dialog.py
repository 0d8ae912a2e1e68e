"""A payment at the counter: the amount proposed from what is owed, the receipt printed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.models.enums import PaymentMethod
from app.services.customer_file import CustomerFile
from app.services.payments import (
    IssuedReceipt,
    PaymentNeedsConfirmation,
    PaymentProposal,
    payment_proposal,
    record_payment,
)
from app.views import messages
from app.views.documents import deliver_document
from app.views.forms import FormDialog, combo
from app.views.shell import Shell
from kernel.errors import ValidationError
from kernel.vocabulary import label


def _plain(formatted: str, symbol: str) -> str:
    """"12 500 F CFA" as typed in the amount field: "12 500"."""
    return formatted.replace("\u202f", " ").replace("\xa0", " ").replace(symbol, "").strip()



class PaymentDialog(FormDialog):
    """Amount owed and oldest unpaid invoice proposed; for cash, the amount handed over and the
    change to give back; an amount above what is owed or above the ceiling is confirmed."""

    def __init__(self, shell: Shell, file: CustomerFile, parent: QWidget | None = None) -> None:
        super().__init__(
            f"Encaissement — {file.identity.display_name}",
            shell.runner,
            parent,
            ok_text="&Encaisser et imprimer le reçu",
        )
        self.shell = shell
        self.confirmed = False
        self.proposal: PaymentProposal | None = None
        currency = shell.ctx.installation.currency
        self.account = combo(
            [
                (
                    f"{a.formatted_number} (solde à jour {currency.format_minor(a.balance_minor)})",
                    a.account_id,
                )
                for a in file.accounts
            ]
        )
        self.owed = QLabel()
        self.owed.setObjectName("owed")
        self.owed.setWordWrap(True)
        self.amount = QLineEdit()
        self.amount.setObjectName("amount")
        self.amount.setPlaceholderText(f"montant en {currency.symbol}, ex. 12 500")
        self.method = combo([(label(m), m) for m in PaymentMethod], PaymentMethod.CASH)
        self.handed = QLineEdit()
        self.handed.setObjectName("handed")
        self.handed.setPlaceholderText(f"somme remise par le client, en {currency.symbol}")
        self.change = QLabel()
        self.change.setObjectName("change")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("n° de chèque, référence mobile money ou virement")
        self.invoice = combo([("(acompte, sans facture précise)", None)])
        for caption, field, widget in (
            ("&Compte", "account", self.account),
            ("", "owed", self.owed),
            ("&Facture réglée", "invoice", self.invoice),
            ("&Montant", "amount", self.amount),
            ("M&ode", "method", self.method),
            ("Montant &remis", "handed", self.handed),
            ("Monnaie à rendre", "change", self.change),
            ("Ré&férence", "reference", self.reference),
        ):
            self.errors.add_row(self.form, caption, field, widget)
        self.account.currentIndexChanged.connect(self._load_proposal)
        self.invoice.currentIndexChanged.connect(self._invoice_chosen)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.amount.textChanged.connect(lambda _t: self._show_change())
        self.handed.textChanged.connect(lambda _t: self._show_change())
        self.amount.textEdited.connect(lambda _t: setattr(self, "confirmed", False))
        self._method_changed()
        self._load_proposal()
        self.amount.setFocus()
        self.setMinimumWidth(600)

    def _load_proposal(self) -> None:
        account_id, ctx = self.account.value(), self.shell.ctx
        if account_id is None:
            return
        self.shell.runner.read(
            lambda: payment_proposal(ctx, account_id), on_success=self._fill, parent=self
        )

    def _fill(self, proposal: PaymentProposal) -> None:
        currency = self.shell.ctx.installation.currency
        self.proposal = proposal
        self.invoice.blockSignals(True)
        self.invoice.clear()
        self.invoice.add("(acompte, sans facture précise)", None)
        for invoice_id, number, total in proposal.invoices:
            self.invoice.add(f"{number} — {currency.format_minor(total)}", (invoice_id, total))
        if proposal.oldest_invoice is not None and proposal.owed_minor > 0:
            self.invoice.setCurrentIndex(1)
        self.invoice.blockSignals(False)
        owed = proposal.owed_minor
        self.owed.setText(
            f"Solde à jour : {currency.format_minor(owed)} dû"
            if owed > 0
            else "Solde à jour : rien à payer"
            if owed == 0
            else f"Solde à jour : avance de {currency.format_minor(-owed)} en faveur du client"
        )
        if owed > 0 and not self.amount.text().strip():
            self.amount.setText(_plain(currency.format_minor(owed), currency.symbol))
            self.amount.selectAll()

    def _invoice_chosen(self) -> None:
        chosen = self.invoice.value()
        if chosen and not self.amount.isModified():
            currency = self.shell.ctx.installation.currency
            self.amount.setText(_plain(currency.format_minor(chosen[1]), currency.symbol))

    def _method_changed(self) -> None:
        cash = self.method.value() is PaymentMethod.CASH
        for widget in (self.handed, self.change):
            widget.setEnabled(cash)
        self.reference.setEnabled(not cash)
        if not cash:
            self.handed.clear()
        self._show_change()

    def _show_change(self) -> None:
        currency = self.shell.ctx.installation.currency
        self.change.setProperty("kind", "")
        if not self.handed.text().strip() or not self.amount.text().strip():
            self.change.setText("—")
            return
        try:
            handed = currency.parse(self.handed.text())
            amount = currency.parse(self.amount.text())
        except ValidationError:
            self.change.setText("montant illisible")
            return
        back = handed - amount
        self.change.setText(
            currency.format(back)
            if back >= 0
            else f"il manque {currency.format(-back)} : le client n'a pas remis assez"
        )

    def work(self) -> Callable[[], Any]:
        ctx = self.shell.ctx
        currency = ctx.installation.currency
        text = self.amount.text()
        if not text.strip():
            raise ValidationError({"amount": "Saisissez le montant"})
        amount: Decimal = currency.parse(text)
        if self.handed.isEnabled() and self.handed.text().strip():
            try:
                handed = currency.parse(self.handed.text())
            except ValidationError as error:
                raise ValidationError({"handed": error.fields["amount"]}) from error
            if handed < amount:
                raise ValidationError(
                    {"handed": "Le client a remis moins que le montant encaissé"}
                )
        account_id, method, reference = (
            self.account.value(),
            self.method.value(),
            self.reference.text(),
        )
        chosen = self.invoice.value()
        invoice_id = chosen[0] if chosen else None
        confirmed = self.confirmed
        return lambda: record_payment(
            ctx, account_id, amount, method, reference, invoice_id, confirmed=confirmed
        )

    def refused(self, error: BaseException) -> None:
        if isinstance(error, PaymentNeedsConfirmation):
            self.ready()
            if messages.confirm(self, "Vérifier le montant", error.message):
                self.confirmed = True
                self.attempt()
            else:
                self.amount.setFocus()
                self.amount.selectAll()
            return
        super().refused(error)

    def succeeded(self, result: Any) -> None:
        assert isinstance(result, IssuedReceipt)
        deliver_document(
            self,
            self.shell.settings.data_dir,
            result.filename,
            result.pdf,
            title="Encaissement enregistré",
            what=f"Reçu {result.receipt_number} enregistré.",
        )
        self.accept()
