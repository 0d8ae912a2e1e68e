"""Prépayé: a recharge sold at the counter, keyboard only — meter (Enter: check), amount or kWh
(Enter: quote with every part), cash taken and the SMS phone (Enter: confirm), then the token
shown large. Escape goes back one step."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.cash_days import DayClosed, ensure_counter_open
from app.services.prepaid_desk import (
    CentralUnreachable,
    DeskSale,
    MeterCheck,
    MeterSearch,
    PendingStore,
    VendingDesk,
    VendQuote,
    VendRefused,
    grouped,
    order_sentence,
)
from app.services.prepaid_sales import IssuedDocument, issue_receipt, sell_at_counter
from app.views.documents import deliver_document
from app.views.prepaid import PENDING_FILE, central_of, named, vending_desk
from app.views.prepaid.management import ManagementDialog
from app.views.shell import Shell
from app.views.sync.connection import CentralConnection
from kernel.context import ServiceContext
from kernel.errors import EnvironmentProblem, ValidationError

_ENERGY = re.compile(r"^\s*(\d+(?:[.,]\d)?)\s*kwh\s*$", re.IGNORECASE)


class Step(IntEnum):
    METER = 0
    AMOUNT = 1
    PAYMENT = 2
    DONE = 3


class PrepaidPage(QWidget):
    """Implements ``Page``."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.management: ManagementDialog | None = None
        self.currency = shell.ctx.installation.currency
        self.connection: CentralConnection = central_of(shell, self)
        self.pending = PendingStore(shell.ctx.db, shell.settings.data_dir / PENDING_FILE)
        self.step = Step.METER
        self.checked: MeterCheck | None = None
        self.quoted: VendQuote | None = None
        self.sale: DeskSale | None = None
        self.busy = False

        title = QLabel("Prépayé — vente de crédit au guichet")
        title.setObjectName("pageTitle")
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)

        self.meter = named(QLineEdit(), "prepaidMeter")
        self.meter.setPlaceholderText("N° de série ou DRN (saisi ou scanné)")
        self.meter.returnPressed.connect(self.check_meter)
        self.meter_result = named(QLabel(), "prepaidMeterResult")
        self.meter_result.setWordWrap(True)
        # central's live answer for a meter this desk does not know (installed today…)
        self.found = named(QListWidget(), "prepaidFound")
        self.found.setMaximumHeight(150)
        self.found.itemActivated.connect(self._picked)
        self.found.setVisible(False)

        self.amount = named(QLineEdit(), "prepaidAmount")
        self.amount.setPlaceholderText("Montant (5000) ou énergie (25 kWh)")
        self.amount.returnPressed.connect(self.ask_quote)

        self.quote_box = named(QFrame(), "prepaidQuote")
        self.quote_box.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self.quote_box)
        self.quote_labels: dict[str, QLabel] = {}
        for row, (key, text) in enumerate((
                ("energy_kwh", "Énergie achetée"), ("energy", "Énergie"),
                ("fixed_charge", "Prime fixe du mois"), ("arrears", "Arriérés récupérés"),
                ("vat", "TVA"), ("total", "Total à payer"))):
            grid.addWidget(QLabel(text), row, 0)
            value = named(QLabel(), f"prepaidQuote_{key}")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            if key == "total":
                bold = value.font()
                bold.setBold(True)
                value.setFont(bold)
            grid.addWidget(value, row, 1)
            self.quote_labels[key] = value

        self.cash = named(QLineEdit(), "prepaidCash")
        self.cash.setPlaceholderText("Espèces remises par le client")
        self.cash.textChanged.connect(self._cash_changed)
        self.cash.returnPressed.connect(self._cash_entered)
        self.change_due = named(QLabel(), "prepaidChange")
        self.phone = named(QLineEdit(), "prepaidPhone")
        self.phone.setPlaceholderText("Téléphone pour l'envoi du code par SMS")
        self.phone.returnPressed.connect(self.confirm)
        self.confirm_button = QPushButton("&Confirmer la vente (Entrée)")
        self.confirm_button.clicked.connect(self.confirm)

        self.token = named(QLabel(), "prepaidToken")
        self.token.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.token_note = named(QLabel(), "prepaidTokenNote")
        self.token_note.setWordWrap(True)
        self.new_button = QPushButton("&Nouvelle vente (Entrée)")
        self.new_button.clicked.connect(self.new_sale)
        self.print_button = QPushButton("&Imprimer le reçu")
        self.print_button.clicked.connect(self.print_receipt)
        self.receipt: IssuedDocument | None = None
        self.message = named(QLabel(), "prepaidMessage")
        self.message.setWordWrap(True)
        self.resume_button = QPushButton("&Redemander la vente en attente")
        self.resume_button.clicked.connect(self.resume_pending)

        form = self.form = QFormLayout()
        form.addRow("&Compteur :", self.meter)
        form.addRow("", self.meter_result)
        form.addRow("", self.found)
        form.addRow("&Montant ou kWh :", self.amount)
        form.addRow("Devis :", self.quote_box)
        form.addRow("&Espèces reçues :", self.cash)
        form.addRow("Monnaie à rendre :", self.change_due)
        form.addRow("&Téléphone (SMS) :", self.phone)
        for field_label in (form.labelForField(w) for w in (self.meter, self.amount, self.cash,
                                                             self.phone)):
            if isinstance(field_label, QLabel):
                field_label.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QHBoxLayout()
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)

        result = QVBoxLayout()
        result.addWidget(self.token)
        result.addWidget(self.token_note)
        after = QHBoxLayout()
        after.addWidget(self.new_button)
        after.addWidget(self.print_button)
        after.addStretch(1)
        result.addLayout(after)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addWidget(title)
        layout.addWidget(self.hint)
        body = QWidget()
        body.setMaximumWidth(760)
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(form)
        column.addLayout(buttons)
        layout.addWidget(body)
        layout.addWidget(self.message)
        layout.addLayout(result)
        layout.addStretch(1)
        self.setTabOrder(self.meter, self.amount)
        self.setTabOrder(self.amount, self.cash)
        self.setTabOrder(self.cash, self.phone)
        self.setTabOrder(self.phone, self.confirm_button)
        self.setTabOrder(self.new_button, self.print_button)
        self._show_step(Step.METER)

    # --- Page protocol ----------------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self._focus_step()

    def refresh(self) -> None:
        self._show_pending()

    def closing(self) -> None:
        pass

    # --- steps ------------------------------------------------------------------------------
    def _show_step(self, step: Step) -> None:
        self.step = step
        self.meter.setReadOnly(step != Step.METER)
        self.amount.setEnabled(step >= Step.AMOUNT)
        self.amount.setReadOnly(step != Step.AMOUNT)
        self.form.setRowVisible(self.quote_box, step >= Step.PAYMENT)
        for widget in (self.cash, self.phone, self.confirm_button):
            widget.setEnabled(step == Step.PAYMENT)
        self.token.setVisible(step == Step.DONE)
        self.token_note.setVisible(step == Step.DONE)
        self.new_button.setVisible(step == Step.DONE)
        self.print_button.setVisible(step == Step.DONE)
        self.hint.setText({
            Step.METER: "Tapez ou scannez le numéro du compteur puis Entrée.",
            Step.AMOUNT: "Tapez le montant (ex. 5000) ou l'énergie (ex. 25 kWh) puis Entrée. "
                         "Échap : revenir au compteur.",
            Step.PAYMENT: "Tapez les espèces reçues, Entrée, vérifiez le téléphone, Entrée "
                          "pour vendre. Échap : revenir au montant.",
            Step.DONE: "Donnez le code au client. Entrée : nouvelle vente.",
        }[step])
        self._show_pending()
        self._focus_step()

    def _focus_step(self) -> None:
        target = {Step.METER: self.meter, Step.AMOUNT: self.amount, Step.PAYMENT: self.cash,
                  Step.DONE: self.new_button}[self.step]
        target.setFocus()
        if isinstance(target, QLineEdit):
            target.selectAll()

    def _show_pending(self) -> None:
        self.resume_button.setVisible(bool(self.pending.all()) and self.step != Step.PAYMENT)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() == Qt.Key.Key_Escape and self.found.isVisible() and not self.busy:
            self._hide_found()
            self._focus_step()
            return
        if event.key() == Qt.Key.Key_Escape and not self.busy:
            self.back()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.step == Step.DONE:
            if self.print_button.hasFocus():
                self.print_receipt()
            else:
                self.new_sale()
            return
        super().keyPressEvent(event)

    def sale_for(self, meter: str) -> None:
        """A sale of this meter (from the customer file): the meter typed and checked, the
        amount next. A sale waiting for its confirmation is kept (Échap to drop it first)."""
        if self.busy or self.step == Step.PAYMENT:
            self._say("Une vente est en cours sur cette page : terminez-la ou Échap pour "
                      "l'abandonner, puis recommencez depuis le dossier.", problem=True)
            self._focus_step()
            return
        self.new_sale()
        self.meter.setText(meter)
        self.check_meter()

    def management_token(self) -> None:
        """The supervisor's management token dialog, for the meter typed here (if any)."""
        self.management = ManagementDialog(self.shell, self, self.meter.text().strip())
        self.management.open()

    def cashup(self) -> None:
        """The agent's end-of-day count (*arrêté de caisse*), submitted to the supervisor."""
        from app.views.prepaid.cashup import CashupDialog

        self.cashup_dialog = CashupDialog(self.shell, self)
        self.cashup_dialog.open()

    def close_tills(self) -> None:
        """The supervisor's closing of the agency's tills (an agent is told it is theirs)."""
        from app.services.prepaid_sales import MANAGING_ROLES
        from app.views.prepaid.closing import ClosingDialog

        user = self.shell.ctx.user
        if user is None or user.role not in MANAGING_ROLES:
            self._say("La clôture des caisses est réservée aux superviseurs : comptez votre "
                      "tiroir et soumettez le comptage (Ctrl+Maj+K), le superviseur clôture.",
                      problem=True)
            return
        self.closing_dialog = ClosingDialog(self.shell, self)
        self.closing_dialog.open()

    def back(self) -> None:
        self._say("")
        if self.step == Step.PAYMENT:
            self.quoted = None
            self._show_step(Step.AMOUNT)
        elif self.step in (Step.AMOUNT, Step.DONE):
            if self.step == Step.DONE:
                self.meter.clear()
            self.checked = None
            self.meter_result.clear()
            self.amount.clear()
            self._show_step(Step.METER)

    def new_sale(self) -> None:
        self.sale = None
        self.checked = self.quoted = None
        for field in (self.meter, self.amount, self.cash, self.phone):
            field.clear()
        self.meter_result.clear()
        self._hide_found()
        self.change_due.clear()
        self._say("")
        self._show_step(Step.METER)

    def _say(self, text: str, problem: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("problem", problem)
        self.message.setStyleSheet("color: #b00020; font-weight: bold;" if problem else "")

    # --- central ----------------------------------------------------------------------------
    def _desk(self) -> VendingDesk:
        return vending_desk(self.shell, self.connection)

    def _failed(self, error: BaseException) -> None:
        self.busy = False
        if isinstance(error, VendRefused | CentralUnreachable | DayClosed):
            self._say(str(error), problem=True)
            self._show_pending()
            self._focus_step()
            return
        raise error

    def check_meter(self) -> None:
        number = self.meter.text().strip()
        if not number or self.busy or self.step != Step.METER:
            return
        db = self.shell.ctx.db

        def check() -> MeterCheck:
            with self._desk() as desk, db.session() as session:
                return desk.check(number, session)

        self.busy = True
        self._say("Vérification du compteur…")
        self.shell.runner.read(check, on_success=self._checked, on_failure=self._refused_meter)

    def _refused_meter(self, error: BaseException) -> None:
        self.meter_result.setText("")
        typed = self.meter.text().strip()
        if isinstance(error, VendRefused) and error.code == "meter_unknown" and typed:
            self.search_central(typed, error)
            return
        self._failed(error)

    def search_central(self, typed: str, unknown: VendRefused) -> None:
        """The meter is unknown by its exact number: central is asked live for the agency's
        meters starting with what was typed (number or holder's name)."""

        def search() -> MeterSearch:
            with self._desk() as desk:
                return desk.search(typed)

        self.busy = True
        self._say(f"« {typed} » n'est pas un numéro de compteur connu : recherche sur le "
                  "serveur central…")
        self.shell.runner.read(search, on_success=lambda found: self._found(typed, found),
                               on_failure=lambda error: self._search_failed(error, unknown))

    def _search_failed(self, error: BaseException, unknown: VendRefused) -> None:
        self._hide_found()
        if isinstance(error, VendRefused) and error.code == "search_too_short":
            error = unknown
        if isinstance(error, CentralUnreachable):
            error = CentralUnreachable("Le serveur central ne répond pas : la recherche du "
                                       "compteur n'a pas pu être faite. Vérifiez le numéro ou "
                                       "réessayez dans un instant.")
        self._failed(error)

    def _found(self, typed: str, found: MeterSearch) -> None:
        self.busy = False
        self.found.clear()
        if not found.meters:
            self._hide_found()
            self._say(f"Aucun compteur prépayé de l'agence ne commence par « {typed} », ni "
                      "sur ce poste ni sur le serveur central : vérifiez le numéro sur la "
                      "carte ou sur le compteur.", problem=True)
            self._focus_step()
            return
        for meter in found.meters:
            item = QListWidgetItem(f"{meter.meter} — titulaire {meter.owner} — {meter.tariff}")
            item.setData(Qt.ItemDataRole.UserRole, meter.meter)
            self.found.addItem(item)
        self.found.setVisible(True)
        self.found.setCurrentRow(0)
        more = " (les premiers seulement : précisez)" if found.capped else ""
        self._say(f"Le serveur central connaît {len(found.meters)} compteur(s) de l'agence pour "
                  f"« {typed} »{more}. Flèches pour choisir, Entrée pour vendre, Échap pour "
                  "corriger.")
        self.found.setFocus()

    def _picked(self, item: QListWidgetItem) -> None:
        if self.busy or self.step != Step.METER:
            return
        self.meter.setText(str(item.data(Qt.ItemDataRole.UserRole)))
        self._hide_found()
        self.check_meter()

    def _hide_found(self) -> None:
        self.found.clear()
        self.found.setVisible(False)

    def _checked(self, checked: MeterCheck) -> None:
        self.busy = False
        self.checked = checked
        self._hide_found()
        self.meter_result.setText(f"Compteur {checked.meter} — titulaire {checked.owner} — "
                                  f"{checked.tariff}")
        self._say("")
        if not self.phone.text():
            self.phone.setText(checked.mobile)
        self._show_step(Step.AMOUNT)

    def ask_quote(self) -> None:
        if self.busy or self.checked is None or self.step != Step.AMOUNT:
            return
        text = self.amount.text()
        kwargs: dict[str, Any] = {}
        energy = _ENERGY.match(text)
        try:
            if energy:
                kwargs["energy_kwh"] = str(Decimal(energy[1].replace(",", ".")))
            else:
                kwargs["amount"] = self.currency.to_minor(self.currency.parse(text))
        except (ValidationError, InvalidOperation) as error:
            self._say(str(error) or "Montant illisible.", problem=True)
            return
        meter, ctx = self.checked.meter, self.shell.ctx

        def quote() -> VendQuote:
            ensure_counter_open(ctx)  # told before the cash is taken
            with self._desk() as desk:
                return desk.quote(meter, **kwargs)

        self.busy = True
        self._say("Calcul du devis…")
        self.shell.runner.read(quote, on_success=self._quoted, on_failure=self._failed)

    def _quoted(self, quoted: VendQuote) -> None:
        self.busy = False
        self.quoted = quoted
        fmt = self.currency.format_minor
        values = {"energy_kwh": f"{quoted.energy_kwh.replace('.', ',')} kWh",
                  "energy": fmt(quoted.split.energy),
                  "fixed_charge": fmt(quoted.split.fixed_charge),
                  "arrears": fmt(quoted.split.arrears), "vat": fmt(quoted.split.vat),
                  "total": fmt(quoted.amount)}
        for key, value in values.items():
            self.quote_labels[key].setText(value)
        self._say("")
        self._show_step(Step.PAYMENT)
        self._cash_changed()

    def _cash_taken(self) -> int | None:
        try:
            return self.currency.to_minor(self.currency.parse(self.cash.text()))
        except ValidationError:
            return None

    def _cash_changed(self) -> None:
        if self.quoted is None:
            return
        taken = self._cash_taken()
        if taken is None:
            self.change_due.setText("")
        elif taken < self.quoted.amount:
            missing = self.currency.format_minor(self.quoted.amount - taken)
            self.change_due.setText(f"Il manque {missing}")
        else:
            self.change_due.setText(self.currency.format_minor(taken - self.quoted.amount))

    def _cash_entered(self) -> None:
        self.phone.setFocus()
        self.phone.selectAll()

    def confirm(self) -> None:
        if self.busy or self.step != Step.PAYMENT or self.quoted is None:
            return
        taken = self._cash_taken()
        if taken is None or taken < self.quoted.amount:
            self._say("Les espèces reçues ne couvrent pas le total à payer.", problem=True)
            self.cash.setFocus()
            return
        phone = "".join(self.phone.text().split())
        if not phone:
            self._say("Indiquez le téléphone qui recevra le code par SMS.", problem=True)
            self.phone.setFocus()
            return
        meter, amount = self.quoted.meter, self.quoted.amount
        ctx, paper = self.shell.ctx, self.shell.settings.prepaid_receipt_paper
        owner = self.checked.owner if self.checked else ""

        def sell() -> tuple[DeskSale, IssuedDocument | None]:
            with self._desk() as desk:
                sale = sell_at_counter(ctx, desk, meter, amount, phone)
            return sale, _receipt(ctx, sale, owner, paper)

        self.busy = True
        self._say("Vente en cours…")
        self.shell.runner.write(sell, on_success=self._sold, on_failure=self._failed)

    def print_receipt(self) -> None:
        if self.receipt is None:
            return
        deliver_document(self, self.shell.settings.data_dir, self.receipt.filename,
                         self.receipt.pdf, title="Reçu de recharge",
                         what=f"Reçu {self.sale.receipt if self.sale else ''} enregistré.")

    def resume_pending(self) -> None:
        waiting = self.pending.all()
        if not waiting or self.busy:
            return
        sale = waiting[0]

        ctx, paper = self.shell.ctx, self.shell.settings.prepaid_receipt_paper

        def resume() -> tuple[DeskSale, IssuedDocument | None]:
            with self._desk() as desk:
                done = desk.resume(sale)
            return done, _receipt(ctx, done, "", paper)

        self.busy = True
        self._say(f"Nouvelle demande de la vente en attente ({sale.meter})…")
        self.shell.runner.write(resume, on_success=self._sold, on_failure=self._failed)

    def _sold(self, outcome: tuple[DeskSale, IssuedDocument | None]) -> None:
        sale, self.receipt = outcome
        self.busy = False
        self.sale = sale
        self.print_button.setEnabled(self.receipt is not None)
        tokens = sale.tokens_in_order
        if len(tokens) == 1:
            self.token.setText(grouped(sale.token))
        else:
            self.token.setText("\n".join(f"{n}.  {grouped(t)}" for n, t in enumerate(tokens, 1)))
        what = (f"Reçu {sale.receipt} — {sale.energy_kwh.replace('.', ',')} kWh pour "
                f"{self.currency.format_minor(sale.amount)}. {order_sentence(sale)} "
                f"Le code part par SMS au {sale.phone}.")
        if sale.replayed:
            what += (" La réponse perdue a été retrouvée : c'est la même vente, aucun second "
                     "paiement ni second code.")
        self.token_note.setText(what)
        self._say("" if self.receipt is not None else
                  "Le reçu n'a pas pu être enregistré sur ce poste : notez le code.", True)
        self._show_step(Step.DONE)


def _receipt(ctx: ServiceContext, sale: DeskSale, owner: str,
             paper: Any) -> IssuedDocument | None:
    """The sale is made: a receipt that cannot be stored here must not hide its token."""
    try:
        return issue_receipt(ctx, sale, owner, paper)
    except EnvironmentProblem:
        return None
