"""The quote editor: who the quote is for (an account number checked as it is typed, or a
prospect), its terms, its lines typed at the keyboard, live totals, and the workflow's buttons."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.enums import ApprovalMethod, Civility, QuoteStatus
from app.services.account_check import account_id_for, check_account
from app.services.customer_edit import communes, streets
from app.services.works.catalogue import CatalogueItem, find_items
from app.services.works.documents import quote_pdf
from app.services.works.invoicing import InvoiceChoice, IssuedInvoice, invoice_quote
from app.services.works.quotes import (
    Prospect,
    QuoteInput,
    QuoteView,
    SavedQuote,
    approve_quote,
    create_quote,
    load_quote,
    order_works,
    refuse_quote,
    revise_quote,
    send_quote,
    update_quote,
)
from app.services.works.totals import PricedQuote, parse_percent, percent_text
from app.views import messages
from app.views.customers.file_tabs import deliver_document
from app.views.errors import show_error
from app.views.forms import FormDialog, ValueCombo, combo, date_edit, read_date
from app.views.works import run
from app.views.works.lines import CODE, LinesView, QuoteLinesModel
from kernel.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from app.views.shell import Shell


TIPS = {
    "approve": "Enregistrer l'accord du client (qui a signé, quand, comment)",
    "refuse": "Enregistrer le refus du client et son motif",
    "revise": "Nouvelle révision (DV…-2) ; ce devis reste tel quel",
    "order": "Commander les travaux (demande d'intervention « travaux »)",
    "connect": "Travaux faits : créer le branchement, le compteur et l'abonnement",
}

#: The buttons that move the quote along its workflow (the others act on the document).
WORKFLOW = ("send", "approve", "refuse", "revise", "order", "invoice", "connect")


class QuoteEditor(QWidget):
    """One quote, new or opened. ``closed`` asks the page to go back to the list."""

    closed = Signal()
    #: A quote was saved or moved on (the list reloads).
    changed = Signal()

    def __init__(self, shell: Shell, catalogue: list[CatalogueItem]) -> None:
        super().__init__()
        self.setObjectName("quoteEditor")
        self.shell = shell
        self.quote: QuoteView | None = None
        #: The street of an opened prospect's quote, chosen once its commune's streets are read.
        self._wanted_street: uuid.UUID | None = None
        currency = shell.ctx.installation.currency

        self.title = QLabel("Nouveau devis")
        self.title.setObjectName("quoteTitle")
        self.steps = QLabel()
        self.steps.setObjectName("quoteSteps")
        self.steps.setWordWrap(True)

        # Who the quote is for.
        self.for_account = QRadioButton("&Client")
        self.for_prospect = QRadioButton("Pros&pect")
        self.for_account.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.for_account)
        group.addButton(self.for_prospect)
        self.party_stack = QStackedWidget()
        account_box = QWidget()
        account_row = QHBoxLayout(account_box)
        account_row.setContentsMargins(0, 0, 0, 0)
        self.account = QLineEdit()
        self.account.setObjectName("quoteAccount")
        self.account.setPlaceholderText("ex. 101 26 0000042 17")
        self.account.setMinimumWidth(190)
        self.account.setMaximumWidth(210)
        self.holder = QLabel()
        self.holder.setObjectName("accountHolder")
        account_label = QLabel("N° de c&ompte")
        account_label.setBuddy(self.account)
        account_row.addWidget(account_label)
        account_row.addWidget(self.account)
        account_row.addWidget(self.holder, 1)
        self.party_stack.addWidget(account_box)
        prospect_box = QWidget()
        grid = QGridLayout(prospect_box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.civility = combo([("M.", Civility.MR), ("Mme", Civility.MRS),
                               ("Mlle", Civility.MISS), ("Sté", Civility.COMPANY)])
        self.civility.setObjectName("prospectCivility")
        self.last_name = QLineEdit()
        self.last_name.setObjectName("prospectLastName")
        self.last_name.setPlaceholderText("Nom ou raison sociale")
        self.first_name = QLineEdit()
        self.first_name.setObjectName("prospectFirstName")
        self.first_name.setPlaceholderText("Prénom")
        self.phone = QLineEdit()
        self.phone.setObjectName("prospectPhone")
        self.phone.setPlaceholderText("Téléphone")
        self.commune = ValueCombo()
        self.commune.setObjectName("prospectCommune")
        self.street = ValueCombo()
        self.street.setObjectName("prospectStreet")
        self.house = QLineEdit()
        self.house.setPlaceholderText("N°")
        self.house.setMaximumWidth(60)
        self.complement = QLineEdit()
        self.complement.setPlaceholderText("Complément (lot, îlot, repère)")
        for column, widget in enumerate((self.civility, self.last_name, self.first_name,
                                         self.phone)):
            grid.addWidget(widget, 0, column)
        for column, widget in enumerate((self.commune, self.street, self.house,
                                         self.complement)):
            grid.addWidget(widget, 1, column)
        self.party_stack.addWidget(prospect_box)
        self.for_prospect.toggled.connect(
            lambda on: self.party_stack.setCurrentIndex(1 if on else 0))
        self.commune.currentIndexChanged.connect(self._load_streets)

        # Terms.
        self.subject = QLineEdit()
        self.subject.setObjectName("quoteSubject")
        self.subject.setPlaceholderText("ex. branchement neuf, extension")
        today = shell.ctx.installation.today()
        self.valid_until = date_edit(today + timedelta(days=30))
        self.valid_until.setObjectName("quoteValidUntil")
        self.discount = QLineEdit()
        self.discount.setObjectName("quoteDiscount")
        self.discount.setPlaceholderText("0 %")
        self.discount.setMaximumWidth(70)
        self.tariff = ValueCombo()
        self.tariff.setObjectName("quoteTariff")
        self.tariff.add("(pas de branchement)", None)
        self.tariff.setMaximumWidth(240)

        self.model = QuoteLinesModel(currency, catalogue)
        self.lines = LinesView(self.model)
        self.hint = QLabel()
        self.hint.setObjectName("lineHint")
        self.hint.setWordWrap(True)
        self.totals = QLabel()
        self.totals.setObjectName("quoteTotals")
        self.totals.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.totals.setTextFormat(Qt.TextFormat.RichText)

        self.buttons: dict[str, QPushButton] = {}
        # Two rows (one was wider than the page at 1366 px): the document's own buttons, then
        # the steps of its workflow.
        document_bar, workflow_bar = QHBoxLayout(), QHBoxLayout()
        for key, text, keys, slot in (
            ("save", "&Enregistrer", "Ctrl+S", self.save),
            ("send", "En&voyer", "", self.send),
            ("approve", "&Accord…", "", self.approve),
            ("refuse", "Ref&us…", "", self.refuse),
            ("revise", "&Réviser", "", self.revise),
            ("order", "Comman&der", "", self.order),
            ("invoice", "Fac&turer…", "", self.invoice),
            ("connect", "Mi&se en service…", "", self.connect_site),
            ("print", "&Imprimer", "", self.print_pdf),
            ("letter", "Courrier…", "Ctrl+Maj+E", self.letter),
            ("back", "Liste (Échap)", "", self.back),
        ):
            button = QPushButton(text)
            button.setObjectName(f"quote_{key}")
            button.setToolTip(TIPS.get(key, ""))
            button.clicked.connect(slot)
            if keys:
                button.setToolTip(f"{text.replace('&', '')} ({keys})")
                shortcut = QShortcut(QKeySequence(keys.replace("Maj+", "Shift+")), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
            self.buttons[key] = button
            if key in WORKFLOW:
                workflow_bar.addWidget(button)
            else:
                document_bar.addWidget(button)
                if key == "letter":
                    document_bar.addStretch(1)
        workflow_bar.addStretch(1)

        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        party_row = QHBoxLayout()
        party_row.addWidget(self.for_account)
        party_row.addWidget(self.for_prospect)
        party_row.addWidget(self.party_stack, 1)
        terms = QHBoxLayout()
        for caption, widget in (("O&bjet", self.subject), ("Valable &jusqu'au", self.valid_until),
                                ("Re&mise totale", self.discount), ("Tari&f", self.tariff)):
            label = QLabel(caption)
            label.setBuddy(widget)
            terms.addWidget(label)
            terms.addWidget(widget, 3 if widget is self.subject else 0)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.totals)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(head)
        layout.addWidget(self.steps)
        layout.addLayout(party_row)
        layout.addLayout(terms)
        layout.addWidget(self.lines, 1)
        layout.addLayout(bottom)
        layout.addLayout(workflow_bar)
        layout.addLayout(document_bar)
        # Tab follows the rows as they read: the workflow's, then the document's.
        QWidget.setTabOrder(self.buttons[WORKFLOW[-1]], self.buttons["save"])
        QWidget.setTabOrder(self.buttons["save"], self.buttons["print"])

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(250)
        self._check_timer.timeout.connect(self._check_account)
        self.account.textEdited.connect(lambda _t: self._check_timer.start())
        self.model.dataChanged.connect(lambda *_a: self._show_totals())
        self.model.rowsRemoved.connect(lambda *_a: self._show_totals())
        self.model.modelReset.connect(self._show_totals)
        self.model.problem.connect(self._problem)
        self.lines.delegate.typing.connect(self._typing)
        self.discount.textEdited.connect(lambda _t: self._show_totals())
        self._load_choices()
        self._show_totals()
        self._enable()

    # --- choices ---------------------------------------------------------------------------
    def _load_choices(self) -> None:
        from app.services.works.connection import connection_tariffs

        ctx = self.shell.ctx

        def fill(found: tuple[list[Any], list[tuple[uuid.UUID, str]]]) -> None:
            places, tariffs = found
            self.commune.clear()
            self.commune.add("(commune)", None)
            for choice in places:
                self.commune.add(choice.label, choice.value)
            for tariff_id, name in tariffs:
                self.tariff.add(name, tariff_id)

        run.read(self.shell, lambda: (communes(ctx), connection_tariffs(ctx)), fill, self)

    def _load_streets(self) -> None:
        commune_id = self.commune.value()
        self.street.clear()
        self.street.add("(sans rue)", None)
        if commune_id is None:
            return
        ctx = self.shell.ctx

        def fill(found: list[Any]) -> None:
            if self.commune.value() != commune_id:
                return
            for choice in found:
                self.street.add(choice.label, choice.value)
            if self._wanted_street is not None:
                self.street.set_value(self._wanted_street)
                self._wanted_street = None

        run.read(self.shell, lambda: streets(ctx, commune_id), fill, self)

    # --- opening ---------------------------------------------------------------------------
    def new_quote(self, account_number: str = "") -> None:
        self.quote = None
        self.title.setText("Nouveau devis")
        self.steps.setText("Brouillon : le numéro est donné à l'enregistrement.")
        self.for_account.setChecked(True)
        self.account.setText(account_number)
        self.holder.clear()
        for field in (self.last_name, self.first_name, self.phone, self.house, self.complement,
                      self.subject, self.discount):
            field.clear()
        until = self.shell.ctx.installation.today() + timedelta(days=30)
        self.valid_until.setDate(QDate(until.year, until.month, until.day))
        self.tariff.setCurrentIndex(0)
        self.model.read_only = False
        self.model.set_lines([])
        self._enable()
        if account_number:
            self._check_account()
            self.lines.start()
            self.lines.edit(self.model.index(0, CODE))
        else:
            self.account.setFocus()

    def open_quote(self, quote_id: uuid.UUID) -> None:
        ctx = self.shell.ctx
        run.read(self.shell, lambda: load_quote(ctx, quote_id), self._show_quote, self)

    def _show_quote(self, view: QuoteView) -> None:
        self.quote = view
        currency = self.shell.ctx.installation.currency
        self.title.setText(f"Devis {view.number} — {view.status_label}"
                           f" — {currency.format_minor(view.priced.total_minor)} TTC")
        steps = " · ".join(
            f"{s.what} le {s.at:%d/%m/%Y}" + (f" par {s.who}" if s.who else "")
            + (f" ({s.detail})" if s.detail else "") for s in view.steps)
        if view.previous_number:
            steps += f" · Remplace {view.previous_number}"
        if view.next_number:
            steps += f" · Remplacé par {view.next_number}"
        if view.invoices:
            steps += " · Factures : " + ", ".join(
                f"{number} ({currency.format_minor(total)})"
                for _i, number, _k, total in view.invoices)
        self.steps.setText(steps)
        if view.prospect is None:
            self.for_account.setChecked(True)
            self.account.setText(view.account_number)
            self.holder.setText(view.party)
        else:
            prospect = view.prospect
            self.for_prospect.setChecked(True)
            self.civility.set_value(prospect.civility)
            self.last_name.setText(prospect.last_name)
            self.first_name.setText(prospect.first_name)
            self.phone.setText(prospect.phone)
            self._wanted_street = prospect.street_id
            self.commune.set_value(prospect.commune_id)
            self.house.setText(prospect.house_number)
            self.complement.setText(prospect.complement)
        self.subject.setText(view.subject)
        self.valid_until.setDate(QDate(view.valid_until.year, view.valid_until.month,
                                       view.valid_until.day))
        self.discount.setText(percent_text(view.discount_rate) if view.discount_rate else "")
        self.tariff.set_value(view.tariff_id)
        self.model.read_only = not view.editable
        self.model.set_lines([line.as_input() for line in view.lines])
        self._enable()
        if view.editable:
            self.lines.start()

    # --- live feedback ---------------------------------------------------------------------
    def _discount_rate(self) -> Decimal:
        try:
            return parse_percent(self.discount.text(), "discount")
        except ValidationError:
            return Decimal(0)

    def _show_totals(self, priced: PricedQuote | None = None) -> None:
        priced = priced or self.model.priced(self._discount_rate())
        currency = self.shell.ctx.installation.currency
        rates = " · ".join(f"TVA {percent_text(r.vat_rate)} : {currency.format_minor(r.vat_minor)}"
                           for r in priced.by_rate())
        self.totals.setText(
            f"{len(priced.lines)} ligne(s) · Total HT <b>"
            f"{currency.format_minor(priced.total_excl_vat_minor)}</b>"
            + (f" (remise {currency.format_minor(-sum(d.amount_excl_vat_minor for d in priced.discounts))})"
               if priced.discounts else "")
            + f"<br/>{rates}<br/>Total TTC <b style='font-size:15px'>"
            f"{currency.format_minor(priced.total_minor)}</b>")

    def _typing(self, row: int, column: int, text: str) -> None:
        self._show_totals(self.model.preview(row, column, text, self._discount_rate()))
        if column == CODE:
            found = find_items(self.model.catalogue, text, limit=4)
            self.hint.setText("Entrée prend : " + " | ".join(
                f"{item.code} — {item.label}" for item in found) if found
                else ("Aucun article : laissez le code vide pour une ligne libre" if text
                      else ""))

    def _problem(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setStyleSheet("color: #b00020;" if text else "")

    def _check_account(self) -> None:
        typed = self.account.text()
        if len([c for c in typed if c.isdigit()]) < 14:
            self.holder.setText("")
            return
        ctx = self.shell.ctx

        def answered(found: Any) -> None:
            if self.account.text() == typed:
                self.holder.setText(f"{found.civility} {found.name} — {found.status.lower()}")

        def refused(error: BaseException) -> None:
            if self.account.text() != typed:
                return
            if isinstance(error, ValidationError | NotFoundError):
                self.holder.setText(error.message)
            else:
                show_error(self, error)

        run.read(self.shell, lambda: check_account(ctx, typed), answered, self, refused)

    def _enable(self) -> None:
        status = self.quote.status if self.quote else QuoteStatus.DRAFT
        editable = self.quote is None or self.quote.editable
        for widget in (self.for_account, self.for_prospect, self.account, self.last_name,
                       self.first_name, self.phone, self.commune, self.street, self.house,
                       self.complement, self.civility, self.subject, self.valid_until,
                       self.discount, self.tariff):
            widget.setEnabled(editable)
        states = {
            "save": editable,
            "send": self.quote is not None and status is QuoteStatus.DRAFT,
            "approve": status is QuoteStatus.SENT,
            "refuse": status is QuoteStatus.SENT,
            "revise": status in (QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.REFUSED,
                                 QuoteStatus.EXPIRED),
            "order": status is QuoteStatus.APPROVED,
            "invoice": status in (QuoteStatus.APPROVED, QuoteStatus.ORDERED),
            "connect": self.quote is not None and self.quote.tariff_id is not None
            and status in (QuoteStatus.ORDERED, QuoteStatus.INVOICED),
            "print": self.quote is not None,
            "letter": self.quote is not None and self.quote.customer_id is not None,
            "back": True,
        }
        for key, on in states.items():
            self.buttons[key].setEnabled(on)

    # --- actions ---------------------------------------------------------------------------
    def _input(self) -> tuple[QuoteInput, str]:
        """The form's content, and the account number typed (resolved in the job)."""
        incomplete = self.model.incomplete()
        if incomplete:
            raise ValidationError({"lines": "Ligne(s) " + ", ".join(map(str, incomplete))
                                   + " incomplète(s) : désignation, quantité et prix"})
        discount = parse_percent(self.discount.text(), "discount")
        prospect = None
        if self.for_prospect.isChecked():
            prospect = Prospect(self.civility.value(), self.last_name.text(),
                                self.first_name.text(), self.phone.text(), self.commune.value(),
                                self.street.value(), self.house.text(), self.complement.text())
        data = QuoteInput(self.model.inputs(), prospect=prospect, subject=self.subject.text(),
                          valid_until=read_date(self.valid_until), discount_rate=discount,
                          tariff_id=self.tariff.value())
        return data, "" if prospect else self.account.text()

    def save(self, then: Callable[[SavedQuote], None] | None = None) -> None:
        if self.quote is not None and not self.quote.editable:
            return
        try:
            data, typed = self._input()
        except ValidationError as error:
            self._problem(error.message)
            return
        ctx = self.shell.ctx
        opened = self.quote

        def job() -> SavedQuote:
            from dataclasses import replace

            given = replace(data, account_id=account_id_for(ctx, typed)) if typed else data
            if given.account_id is None and given.prospect is None:
                raise ValidationError({"account": "Saisissez le numéro de compte du client "
                                                  "ou choisissez « Prospect »"})
            if opened is None:
                return create_quote(ctx, given)
            return update_quote(ctx, opened.quote_id, opened.version, given)

        def saved(result: SavedQuote) -> None:
            self._problem("")
            self.changed.emit()
            if then is not None:
                then(result)
            else:
                self.open_quote(result.quote_id)

        run.write(self.shell, job, saved, self, self._refused)

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, ValidationError):
            self._problem(error.message)
            return
        show_error(self, error)

    def _step(self, fn: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
        quote_id = self.quote.quote_id if self.quote else None

        def moved(result: Any) -> None:
            self.changed.emit()
            if done is not None:
                done(result)
            if quote_id is not None:
                self.open_quote(quote_id)

        run.write(self.shell, fn, moved, self, self._refused)

    def send(self) -> None:
        if self.quote is None:
            return
        ctx, quote_id, number = self.shell.ctx, self.quote.quote_id, self.quote.number

        def deliver(pdf: bytes) -> None:
            deliver_document(self, self.shell.settings.data_dir, f"devis-{number}.pdf", pdf,
                             title="Devis envoyé", what=f"Devis {number} prêt à remettre.")

        self._step(lambda: send_quote(ctx, quote_id), deliver)

    def approve(self) -> None:
        if self.quote is None:
            return
        self._dialog(ApprovalDialog(self.shell, self.quote, self))

    def refuse(self) -> None:
        if self.quote is None:
            return
        reason = messages.ask_text(self, "Refus du devis", "Motif du refus du client :")
        if reason is None:
            return
        ctx, quote_id = self.shell.ctx, self.quote.quote_id
        self._step(lambda: refuse_quote(ctx, quote_id, reason))

    def revise(self) -> None:
        if self.quote is None:
            return
        if not messages.confirm(self, "Révision du devis",
                                f"Faire une révision du devis {self.quote.number} ? Il reste "
                                "tel qu'il est, marqué « remplacé », et la révision est un "
                                "nouveau brouillon.", default_yes=True):
            return
        ctx, quote_id = self.shell.ctx, self.quote.quote_id

        def opened(saved: SavedQuote) -> None:
            self.changed.emit()
            self.open_quote(saved.quote_id)

        run.write(self.shell, lambda: revise_quote(ctx, quote_id), opened, self, self._refused)

    def order(self) -> None:
        if self.quote is None:
            return
        ctx, quote_id = self.shell.ctx, self.quote.quote_id
        self._step(lambda: order_works(ctx, quote_id))

    def invoice(self) -> None:
        if self.quote is None:
            return
        self._dialog(InvoiceDialog(self.shell, self.quote, self))

    def connect_site(self) -> None:
        """The works are done: connection, meter and contract from the completion report."""
        if self.quote is None:
            return
        self._dialog(ConnectionDialog(self.shell, self.quote, self))

    def _dialog(self, dialog: FormDialog) -> None:
        assert self.quote is not None
        quote_id = self.quote.quote_id

        def accepted() -> None:
            self.changed.emit()
            self.open_quote(quote_id)

        dialog.accepted.connect(accepted)
        dialog.open()

    def print_pdf(self) -> None:
        if self.quote is None:
            return
        ctx, quote_id = self.shell.ctx, self.quote.quote_id

        def deliver(printed: Any) -> None:
            deliver_document(self, self.shell.settings.data_dir, printed.filename, printed.pdf,
                             title="Impression du devis",
                             what="Duplicata du devis." if printed.duplicate
                             else "Devis (brouillon).")

        run.write(self.shell, lambda: quote_pdf(ctx, quote_id), deliver, self)

    def letter(self) -> None:
        """A letter to the quote's customer (the "Envoi de devis" template chosen first)."""
        from app.services.letters.sources import target_for_quote
        from app.views.letters.letter_dialog import open_letter

        if self.quote is None:
            return
        ctx, quote_id = self.shell.ctx, self.quote.quote_id
        open_letter(self.shell, self, lambda: target_for_quote(ctx, quote_id))

    def back(self) -> None:
        self.closed.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        """Escape goes back to the list (a cell being typed takes it first: it cancels)."""
        if event.key() == Qt.Key.Key_Escape:
            self.back()
            return
        super().keyPressEvent(event)


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
        self.setMinimumWidth(440)

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
        self.setMinimumWidth(440)

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
