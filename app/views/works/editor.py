"""The quote editor: who the quote is for (``party``), its terms, its lines typed at the
keyboard, live totals, and the workflow's buttons (``quote_buttons``, ``quote_dialogs``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.services.account_check import account_id_for
from app.services.customer_edit import communes
from app.services.works.catalogue import CatalogueItem, find_items
from app.services.works.documents import quote_pdf
from app.services.works.quotes import (
    QuoteInput,
    QuoteView,
    SavedQuote,
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
from app.views.documents import deliver_document
from app.views.errors import show_error
from app.views.forms import FormDialog, ValueCombo, date_edit, read_date
from app.views.works import run
from app.views.works.lines import CODE, LinesView, QuoteLinesModel
from app.views.works.party import PartyForm
from app.views.works.quote_buttons import TIPS, WORKFLOW, button_states
from app.views.works.quote_dialogs import ApprovalDialog, ConnectionDialog, InvoiceDialog
from kernel.errors import ValidationError

if TYPE_CHECKING:
    from app.views.shell import Shell


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
        currency = shell.ctx.installation.currency

        self.title = QLabel("Nouveau devis")
        self.title.setObjectName("quoteTitle")
        self.steps = QLabel()
        self.steps.setObjectName("quoteSteps")
        self.steps.setWordWrap(True)

        self.party = PartyForm(shell)

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
        # Two rows (one was wider than the page at 1366 px): the steps of the workflow, then
        # the document's own buttons.
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
        layout.addWidget(self.party)
        layout.addLayout(terms)
        layout.addWidget(self.lines, 1)
        layout.addLayout(bottom)
        layout.addLayout(workflow_bar)
        layout.addLayout(document_bar)
        # Tab follows the rows as they read: the workflow's, then the document's.
        QWidget.setTabOrder(self.buttons[WORKFLOW[-1]], self.buttons["save"])
        QWidget.setTabOrder(self.buttons["save"], self.buttons["print"])

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
            self.party.set_communes(places)
            for tariff_id, name in tariffs:
                self.tariff.add(name, tariff_id)

        run.read(self.shell, lambda: (communes(ctx), connection_tariffs(ctx)), fill, self)

    # --- opening ---------------------------------------------------------------------------
    def new_quote(self, account_number: str = "") -> None:
        self.quote = None
        self.title.setText("Nouveau devis")
        self.steps.setText("Brouillon : le numéro est donné à l'enregistrement.")
        self.party.clear(account_number)
        for field in (self.subject, self.discount):
            field.clear()
        until = self.shell.ctx.installation.today() + timedelta(days=30)
        self.valid_until.setDate(QDate(until.year, until.month, until.day))
        self.tariff.setCurrentIndex(0)
        self.model.read_only = False
        self.model.set_lines([])
        self._enable()
        if account_number:
            self.party.check_account()
            self.lines.start()
            self.lines.edit(self.model.index(0, CODE))
        else:
            self.party.account.setFocus()

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
        self.party.show_quote(view)
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

    def _enable(self) -> None:
        editable = self.quote is None or self.quote.editable
        self.party.set_editable(editable)
        for widget in (self.subject, self.valid_until, self.discount, self.tariff):
            widget.setEnabled(editable)
        for key, on in button_states(self.quote).items():
            self.buttons[key].setEnabled(on)

    # --- actions ---------------------------------------------------------------------------
    def _input(self) -> tuple[QuoteInput, str]:
        """The form's content, and the account number typed (resolved in the job)."""
        incomplete = self.model.incomplete()
        if incomplete:
            raise ValidationError({"lines": "Ligne(s) " + ", ".join(map(str, incomplete))
                                   + " incomplète(s) : désignation, quantité et prix"})
        discount = parse_percent(self.discount.text(), "discount")
        prospect = self.party.prospect()
        data = QuoteInput(self.model.inputs(), prospect=prospect, subject=self.subject.text(),
                          valid_until=read_date(self.valid_until), discount_rate=discount,
                          tariff_id=self.tariff.value())
        return data, "" if prospect else self.party.account.text()

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
