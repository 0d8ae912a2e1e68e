"""The dialogs of a quote's workflow steps: the customer's agreement, the works invoice, the
connection put into service once the works are done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from app.models.enums import ApprovalMethod
from app.services.works.invoicing import InvoiceChoice, IssuedInvoice, invoice_quote
from app.services.works.quotes import QuoteView, approve_quote
from app.services.works.totals import parse_percent
from app.views import messages
from app.views.documents import deliver_document
from app.views.forms import FormDialog, combo, date_edit, read_date
from kernel.errors import ValidationError

if TYPE_CHECKING:
    from app.views.shell import Shell


class ApprovalDialog(FormDialog):
    """The customer's agreement: who signed, on which day, how (a signed paper is attached)."""

    def __init__(self, shell: Shell, quote: QuoteView, parent: QWidget | None = None) -> None:
        super().__init__(f"Accord du client — devis {quote.number}", shell.runner, parent,
                         ok_text="&Enregistrer l'accord")
        self.shell = shell
        self.quote = quote
        self.signer = QLineEdit(quote.party)
        self.signer.setObjectName("approvalSigner")
        self.day = date_edit(shell.ctx.installation.today())
        self.method = combo([("Signé au guichet", ApprovalMethod.IN_PERSON),
                             ("Papier signé (scanné)", ApprovalMethod.SIGNED_PAPER)])
        self.method.setObjectName("approvalMethod")
        self.scan = QLineEdit()
        self.scan.setObjectName("approvalScan")
        self.scan.setPlaceholderText("Fichier du papier signé (PDF, JPEG, PNG)")
        browse = QPushButton("Pa&rcourir…")
        browse.clicked.connect(self._browse)
        scan_row = QWidget()
        row = QHBoxLayout(scan_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.scan, 1)
        row.addWidget(browse)
        self.errors.add_row(self.form, "&Signé par", "signer", self.signer)
        self.errors.add_row(self.form, "&Date de l'accord", "approved_on", self.day)
        self.form.addRow("&Comment", self.method)
        self.errors.add_row(self.form, "Papier &scanné", "scan", scan_row)
        self.setMinimumWidth(520)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Papier signé", "",
                                              "Documents (*.pdf *.jpg *.jpeg *.png)")
        if path:
            self.scan.setText(path)

    def work(self) -> Callable[[], Any]:
        ctx, quote_id = self.shell.ctx, self.quote.quote_id
        signer, method, on = self.signer.text(), self.method.value(), read_date(self.day)
        path = self.scan.text().strip()
        scan = None
        if path:
            try:
                scan = Path(path).read_bytes()
            except OSError as error:
                raise ValidationError({"scan": f"Fichier illisible : {error.strerror}"}) from None
        return lambda: approve_quote(ctx, quote_id, signer, method, on, scan,
                                     Path(path).name if path else "")


class InvoiceDialog(FormDialog):
    """The deposit (a percentage), the balance, or one invoice for the whole quote."""

    def __init__(self, shell: Shell, quote: QuoteView, parent: QWidget | None = None) -> None:
        super().__init__(f"Facturer le devis {quote.number}", shell.runner, parent,
                         ok_text="&Facturer")
        self.shell = shell
        self.quote = quote
        has_deposit = any(kind for _i, number, kind, total in quote.invoices if total > 0)
        choices = [("Facture unique", InvoiceChoice.FULL),
                   ("Acompte", InvoiceChoice.DEPOSIT), ("Solde", InvoiceChoice.BALANCE)]
        self.choice = combo(choices, InvoiceChoice.BALANCE if has_deposit else InvoiceChoice.FULL)
        self.choice.setObjectName("invoiceChoice")
        self.percent = QLineEdit("30")
        self.percent.setObjectName("depositPercent")
        currency = shell.ctx.installation.currency
        self.form.addRow("Montant du devis", QLabel(
            f"{currency.format_minor(quote.priced.total_minor)} TTC"))
        self.form.addRow("&Type de facture", self.choice)
        self.errors.add_row(self.form, "&Acompte (%)", "deposit", self.percent)
        # The percentage counts for a deposit only: greyed for the others, not ignored unseen.
        self.choice.currentIndexChanged.connect(self._deposit_or_not)
        self._deposit_or_not()
        self.setMinimumWidth(440)

    def _deposit_or_not(self) -> None:
        self.percent.setEnabled(self.choice.value() is InvoiceChoice.DEPOSIT)

    def work(self) -> Callable[[], Any]:
        ctx, quote_id, choice = self.shell.ctx, self.quote.quote_id, self.choice.value()
        rate = parse_percent(self.percent.text(), "deposit") \
            if choice is InvoiceChoice.DEPOSIT else None
        return lambda: invoice_quote(ctx, quote_id, choice, rate)

    def succeeded(self, result: Any) -> None:
        assert isinstance(result, IssuedInvoice)
        deliver_document(self, self.shell.settings.data_dir, result.filename, result.pdf,
                         title="Facture de travaux",
                         what=f"Facture {result.number} émise et portée au compte du client.")
        self.accept()


class ConnectionDialog(FormDialog):
    """The completion report of a connection quote: the meter's serial, its first index and
    the day it was laid; the premise gets its connection, meter and contract."""

    def __init__(self, shell: Shell, quote: QuoteView, parent: QWidget | None = None) -> None:
        super().__init__(f"Mise en service — devis {quote.number}", shell.runner, parent,
                         ok_text="&Mettre en service")
        self.shell = shell
        self.quote = quote
        self.serial = QLineEdit()
        self.serial.setObjectName("connectionSerial")
        self.serial.setPlaceholderText("EA123456789")
        self.index = QLineEdit("0")
        self.index.setObjectName("connectionIndex")
        self.day = date_edit(shell.ctx.installation.today())
        self.errors.add_row(self.form, "N° du &compteur posé", "serial", self.serial)
        self.errors.add_row(self.form, "&Index de pose", "index", self.index)
        self.errors.add_row(self.form, "&Date de pose", "installed_on", self.day)
        self.sts_drn = QLineEdit()
        self.sts_drn.setObjectName("connectionDrn")
        self.sts_drn.setPlaceholderText("tarif prépayé : 11 ou 13 chiffres (plaque)")
        self.errors.add_row(self.form, "N° &STS (DRN)", "sts_drn", self.sts_drn)
        self.setMinimumWidth(480)  # the DRN's hint whole

    def work(self) -> Callable[[], Any]:
        from app.services.works.connection import connect_from_quote

        text = self.index.text().replace(" ", "")
        if not text.isdigit():
            raise ValidationError({"index": "L'index est un nombre entier"})
        ctx, quote_id = self.shell.ctx, self.quote.quote_id
        serial, index, on = self.serial.text(), int(text), read_date(self.day)
        drn = self.sts_drn.text()
        return lambda: connect_from_quote(ctx, quote_id, serial, index, on, sts_drn=drn)

    def refused(self, error: BaseException) -> None:
        if isinstance(error, ValidationError) and "first_index" in error.fields:
            error = ValidationError({"index" if k == "first_index" else k: v
                                     for k, v in error.fields.items()}, error.message)
        super().refused(error)

    def succeeded(self, result: Any) -> None:
        messages.inform(self, "Mise en service",
                        f"Branchement {result.connection_reference} et abonnement "
                        f"{result.contract_number} créés : le client peut être facturé.")
        self.accept()
