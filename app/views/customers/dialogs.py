"""The counter actions on a customer file: payment, reading, move-in/move-out, meter change,
and the account-number check."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QSpinBox, QWidget

from app.models.enums import PaymentMethod, ReadingSource
from app.services.account_check import account_id_for, check_account
from app.services.customer_file import ConnectionInfo, CustomerFile, MeterInfo, ReadingLine
from app.services.occupancy import TariffChoices, change_occupant, tariff_choices
from app.services.payments import (
    IssuedReceipt,
    PaymentNeedsConfirmation,
    PaymentProposal,
    payment_proposal,
    record_payment,
)
from app.services.quantities import quantity
from app.services.readings import (
    NewMeterInput,
    UnusualConsumptionError,
    VacantPremiseWarning,
    correct_reading,
    record_reading,
    replace_meter,
)
from app.views import messages
from app.views.customers.file_tabs import deliver_document
from app.views.forms import FormDialog, combo, date_edit, read_date
from app.views.shell import Shell
from kernel.errors import ValidationError
from kernel.identifiers import digits_only
from kernel.vocabulary import label


def _index_box(maximum: int = 999_999_999) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setGroupSeparatorShown(True)
    box.setMinimumWidth(140)
    return box


def _installed_meters(file: CustomerFile) -> list[MeterInfo]:
    return [c.current_meter for p in file.premises for c in p.connections if c.current_meter]


def _meter_text(meter: MeterInfo) -> str:
    last = meter.last_reading
    tail = (
        f" — dernier index relevé {quantity(last.index_value, meter.energy)} "
        f"le {last.reading_date:%d/%m/%Y}"
        if last
        else " — jamais relevé"
    )
    return f"{label(meter.energy)} · {meter.serial}{tail}"


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


def _plain(formatted: str, symbol: str) -> str:
    """"12 500 F CFA" as typed in the amount field: "12 500"."""
    return formatted.replace("\u202f", " ").replace("\xa0", " ").replace(symbol, "").strip()


class ReadingDialog(FormDialog):
    """The meter is shown (serial, energy, last real index and its date) and chosen by the agent
    when the file has several; a vacant premise or an unusual consumption is confirmed."""

    def __init__(self, shell: Shell, file: CustomerFile, parent: QWidget | None = None) -> None:
        super().__init__(f"Relève — {file.identity.display_name}", shell.runner, parent)
        self.shell = shell
        self.confirmed = False
        self.confirmed_vacant = False
        places = [
            (p, c, c.current_meter) for p in file.premises for c in p.connections if c.current_meter
        ]
        items: list[tuple[str, Any]] = [(_meter_text(m), (p, c, m)) for p, c, m in places]
        if len(items) > 1:
            items.insert(0, (f"— choisissez le compteur ({len(items)} sur ce dossier) —", None))
        self.meter = combo(items)
        self.meter.setObjectName("meterChoice")
        self.meter_detail = QLabel()
        self.meter_detail.setObjectName("meterDetail")
        self.meter_detail.setWordWrap(True)
        self.day = date_edit(shell.ctx.installation.today())
        self.index = _index_box()
        self.index.setObjectName("index")
        self.source = combo([(label(s), s) for s in (ReadingSource.AGENT, ReadingSource.CUSTOMER)])
        self.rollover = QCheckBox("Passage par zéro (le compteur a fait le tour)")
        self.note = QLineEdit()
        for caption, field, widget in (
            ("Co&mpteur", "meter", self.meter),
            ("", "meter_detail", self.meter_detail),
            ("&Date", "reading_date", self.day),
            ("&Index", "index_value", self.index),
            ("&Relevé par", "source", self.source),
            ("", "rollover", self.rollover),
            ("&Observation", "note", self.note),
        ):
            self.errors.add_row(self.form, caption, field, widget)
        self.meter.currentIndexChanged.connect(self._meter_changed)
        self._meter_changed()
        self.setMinimumWidth(640)
        if len(items) > 1:
            self.meter.setFocus()
        else:
            self.index.setFocus()
            self.index.selectAll()

    def _meter_changed(self) -> None:
        chosen = self.meter.value()
        self.confirmed = self.confirmed_vacant = False
        if chosen is None:
            self.meter_detail.setText("Plusieurs compteurs : choisissez celui qui a été relevé.")
            return
        premise, connection, meter = chosen
        last = meter.last_reading
        lines = [
            f"<b>{label(meter.energy)}</b> · compteur <b>{meter.serial}</b> "
            f"({label(meter.payment).lower()}, {meter.digits} chiffres)",
            f"Dernier index relevé : <b>{quantity(last.index_value, meter.energy)}</b> "
            f"le {last.reading_date:%d/%m/%Y}"
            if last
            else "Aucune relève sur ce compteur",
            f"{premise.address} · branchement {connection.reference}",
        ]
        if connection.current_contract is None:
            lines.append("<span style='color:#b00020'>Local vacant : aucun abonnement en cours</span>")
        self.meter_detail.setText("<br>".join(lines))
        self.index.setMaximum(meter.max_index)
        if last:
            self.index.setValue(last.index_value)

    def work(self) -> Callable[[], Any]:
        chosen = self.meter.value()
        if chosen is None:
            raise ValidationError({"meter": "Choisissez le compteur relevé"})
        meter: MeterInfo = chosen[2]
        ctx, day, index = self.shell.ctx, read_date(self.day), self.index.value()
        source, rollover, note, confirmed, vacant = (
            self.source.value(),
            self.rollover.isChecked(),
            self.note.text(),
            self.confirmed,
            self.confirmed_vacant,
        )
        return lambda: record_reading(
            ctx,
            meter.meter_id,
            day,
            index,
            source,
            rollover=rollover,
            confirmed_unusual=confirmed,
            confirmed_vacant=vacant,
            note=note,
        )

    def refused(self, error: BaseException) -> None:
        if isinstance(error, UnusualConsumptionError):
            self.ready()
            if messages.confirm(self, "Consommation inhabituelle", error.message):
                self.confirmed = True
                self.attempt()
            return
        if isinstance(error, VacantPremiseWarning):
            self.ready()
            if messages.confirm(self, "Relève sur local vacant", error.message):
                self.confirmed_vacant = True
                self.attempt()
            return
        super().refused(error)


class OccupantDialog(FormDialog):
    """Departure of the current occupant, arrival of a new one, or both, with one dated index."""

    def __init__(self, shell: Shell, file: CustomerFile, parent: QWidget | None = None) -> None:
        super().__init__("Emménagement / déménagement", shell.runner, parent)
        self.shell = shell
        self.file = file
        connections = [(p, c) for p in file.premises for c in p.connections if c.current_meter]
        self.connection = combo(
            [(f"{label(c.energy)} · {c.reference} — {p.address}", c) for p, c in connections]
        )
        self.day = date_edit(shell.ctx.installation.today())
        self.index = _index_box()
        self.leaving = QCheckBox()
        self.arriving = QCheckBox("Nouvel occupant :")
        self.account_number = QLineEdit()
        self.account_number.setPlaceholderText("n° de compte du nouvel occupant")
        self.arriving_name = QLabel()
        self.tariff = combo([])
        self.tariff.setObjectName("tariff")
        self.tariff_why = QLabel()
        self.tariff_why.setObjectName("hint")
        for caption, field, widget in (
            ("&Branchement", "connection", self.connection),
            ("&Date", "day", self.day),
            ("&Index", "index_value", self.index),
            ("Départ", "leaving", self.leaving),
            ("Arrivée", "account", self.arriving),
            ("N° de &compte", "account_number", self.account_number),
            ("", "arriving_name", self.arriving_name),
            ("&Tarif", "tariff", self.tariff),
            ("", "tariff_why", self.tariff_why),
        ):
            self.errors.add_row(self.form, caption, field, widget)
        self.connection.currentIndexChanged.connect(self._connection_changed)
        self.connection.currentIndexChanged.connect(self._load_tariffs)
        self.day.dateChanged.connect(lambda _d: self._load_tariffs())
        self.arriving.toggled.connect(lambda on: self.tariff.setEnabled(on))
        self.account_number.editingFinished.connect(self._check_number)
        self.account_number.textEdited.connect(
            lambda text: (
                self._check_number() if len(digits_only(text)) == 14 else self.arriving_name.clear()
            )
        )
        self._connection_changed()
        self._load_tariffs()
        self.setMinimumWidth(720)

    def _load_tariffs(self) -> None:
        connection: ConnectionInfo | None = self.connection.value()
        if connection is None:
            return
        ctx, day = self.shell.ctx, read_date(self.day)

        def fill(choices: TariffChoices) -> None:
            kept = self.tariff.value()
            self.tariff.clear()
            for tariff_id, name in choices.options:
                self.tariff.add(name, tariff_id)
            chosen = kept if kept in {t for t, _ in choices.options} else choices.proposed
            if chosen is not None:
                self.tariff.set_value(chosen)
            self.tariff_why.setText(
                f"Proposé : {choices.why}." if choices.proposed else "Aucun tarif en vigueur à cette date."
            )

        self.shell.runner.read(
            lambda: tariff_choices(ctx, connection.connection_id, day), on_success=fill, parent=self
        )

    def _connection_changed(self) -> None:
        connection: ConnectionInfo | None = self.connection.value()
        if connection is None:
            return
        contract = connection.current_contract
        meter = connection.current_meter
        if meter and meter.last_reading:
            self.index.setMaximum(meter.max_index)
            self.index.setValue(meter.last_reading.index_value)
        self.leaving.setEnabled(contract is not None)
        self.leaving.setChecked(contract is not None)
        self.leaving.setText(
            f"Résilier l'abonnement {contract.number} (compte {contract.account_number})"
            if contract
            else "Aucun abonnement en cours sur ce branchement"
        )
        self.arriving.setChecked(contract is None)
        if contract is None and self.file.accounts:
            self.account_number.setText(self.file.accounts[0].formatted_number)
            self._check_number()

    def _check_number(self) -> None:
        typed, ctx = self.account_number.text(), self.shell.ctx
        if not typed.strip():
            self.arriving_name.clear()
            return

        def show(result: Any) -> None:
            self.arriving_name.setText(
                f"{result.civility} {result.name} — compte {result.status.lower()}"
            )

        def fail(error: BaseException) -> None:
            self.arriving_name.setText(getattr(error, "message", str(error)))

        self.shell.runner.read(
            lambda: check_account(ctx, typed), on_success=show, on_failure=fail, parent=self
        )

    def work(self) -> Callable[[], Any]:
        connection: ConnectionInfo = self.connection.value()
        contract = connection.current_contract
        leaving = (
            (contract.contract_id, contract.version)
            if contract and self.leaving.isChecked()
            else None
        )
        ctx, day, index = self.shell.ctx, read_date(self.day), self.index.value()
        typed = self.account_number.text() if self.arriving.isChecked() else ""
        if self.arriving.isChecked() and not typed.strip():
            raise ValidationError(
                {"account_number": "Saisissez le n° de compte du nouvel occupant"}
            )

        tariff_id = self.tariff.value() if self.arriving.isChecked() else None

        def run() -> Any:
            account_id = account_id_for(ctx, typed) if typed else None
            return change_occupant(
                ctx,
                connection.connection_id,
                day,
                index,
                leaving=leaving,
                arriving_account_id=account_id,
                tariff_id=tariff_id,
            )

        return run

    def succeeded(self, result: Any) -> None:
        parts = []
        if result.closed_contract_id:
            parts.append("abonnement résilié")
        if result.opened_contract_number:
            parts.append(
                f"abonnement {result.opened_contract_number} ouvert au tarif {result.tariff_name}"
            )
        messages.inform(
            self, "Emménagement / déménagement", "Enregistré : " + ", ".join(parts) + "."
        )
        self.accept()


class MeterChangeDialog(FormDialog):
    def __init__(self, shell: Shell, file: CustomerFile, parent: QWidget | None = None) -> None:
        super().__init__("Changement de compteur", shell.runner, parent)
        self.shell = shell
        self.meter = combo([(_meter_text(m), m) for m in _installed_meters(file)])
        self.day = date_edit(shell.ctx.installation.today())
        self.final_index = _index_box()
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("EA ou EL suivi de 9 chiffres")
        self.digits = QSpinBox()
        self.digits.setRange(4, 9)
        self.digits.setValue(6)
        self.initial_index = _index_box()
        self.make = QLineEdit()
        for caption, field, widget in (
            ("Compteur &déposé", "meter", self.meter),
            ("&Date", "day", self.day),
            ("Index de &dépose", "index_value", self.final_index),
            ("N° du &nouveau compteur", "serial", self.serial),
            ("Nombre de &chiffres", "digits", self.digits),
            ("Index de &pose", "initial_index", self.initial_index),
            ("&Marque", "make", self.make),
        ):
            self.errors.add_row(self.form, caption, field, widget)
        meter: MeterInfo | None = self.meter.value()
        if meter and meter.last_reading:
            self.final_index.setValue(meter.last_reading.index_value)
            self.digits.setValue(meter.digits)

    def work(self) -> Callable[[], Any]:
        meter: MeterInfo = self.meter.value()
        ctx, day, final = self.shell.ctx, read_date(self.day), self.final_index.value()
        new = NewMeterInput(
            self.serial.text(), self.digits.value(), self.initial_index.value(), self.make.text()
        )
        return lambda: replace_meter(ctx, meter.meter_id, meter.version, day, final, new)


class AccountCheckDialog(FormDialog):
    """Type an account number, read the holder's civility and name (nothing is written)."""

    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        super().__init__("Vérifier un numéro de compte", shell.runner, parent, ok_text="&Vérifier")
        self.shell = shell
        self.number = QLineEdit()
        self.number.setObjectName("accountNumber")
        self.number.setPlaceholderText("101 26 0000042 17")
        self.answer = QLabel()
        self.answer.setObjectName("accountAnswer")
        self.errors.add_row(self.form, "N° de &compte", "account_number", self.number)
        self.form.addRow("Titulaire", self.answer)
        self.buttons.buttons()[1].setText("&Fermer")
        self.setMinimumWidth(460)

    def work(self) -> Callable[[], Any]:
        ctx, typed = self.shell.ctx, self.number.text()
        return lambda: check_account(ctx, typed)

    def attempt(self) -> None:
        self.answer.clear()
        super().attempt()

    def succeeded(self, result: Any) -> None:
        self.answer.setText(
            f"{result.civility} {result.name} — {result.account_number} ({result.status.lower()})"
        )
        self.number.selectAll()

    def refused(self, error: BaseException) -> None:
        from kernel.errors import NotFoundError

        if isinstance(error, NotFoundError):
            self.ready()
            self.answer.setText(error.message)
            return
        super().refused(error)


class ReadingCorrectionDialog(FormDialog):
    """A supervisor corrects an index typed wrong, with a reason (central then credits and
    bills again the invoice computed on it)."""

    def __init__(
        self, shell: Shell, meter: MeterInfo, reading: ReadingLine, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            f"Corriger la relève du {reading.reading_date:%d/%m/%Y}",
            shell.runner,
            parent,
            ok_text="&Corriger l'index",
        )
        self.shell = shell
        self.reading = reading
        shown = QLabel(
            f"Compteur {meter.serial} ({label(meter.energy).lower()}) — index enregistré : "
            f"{quantity(reading.index_value, meter.energy)}"
        )
        shown.setWordWrap(True)
        self.index = _index_box(meter.max_index)
        self.index.setObjectName("correctedIndex")
        self.index.setValue(reading.index_value)
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.reason.setPlaceholderText("ex. index mal recopié du carnet de relève")
        for caption, field, widget in (
            ("", "shown", shown),
            ("&Index corrigé", "index_value", self.index),
            ("&Motif", "reason", self.reason),
        ):
            self.errors.add_row(self.form, caption, field, widget)
        self.setMinimumWidth(560)
        self.index.setFocus()
        self.index.selectAll()

    def work(self) -> Callable[[], Any]:
        ctx, reading_id = self.shell.ctx, self.reading.reading_id
        index, reason = self.index.value(), self.reason.text()
        return lambda: correct_reading(ctx, reading_id, index, reason)

    def succeeded(self, result: Any) -> None:
        tail = (
            f" La facture {result.invoice_number} calculée sur l'ancien index sera annulée par "
            "un avoir et refacturée par le site central après la synchronisation."
            if result.invoice_number
            else ""
        )
        messages.inform(
            self,
            "Relève corrigée",
            f"Index corrigé de {result.old_index} à {result.new_index}.{tail}",
        )
        self.accept()
