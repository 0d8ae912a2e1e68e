"""Move-in and move-out of a premise: the new occupant, the final and first indexes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QWidget

from app.services.account_check import account_id_for, check_account
from app.services.customer_file import ConnectionInfo, CustomerFile
from app.services.occupancy import TariffChoices, change_occupant, tariff_choices
from app.views import messages
from app.views.customers.reading_dialogs import index_box
from app.views.forms import FormDialog, combo, date_edit, read_date
from app.views.shell import Shell
from kernel.errors import ValidationError
from kernel.identifiers import digits_only
from kernel.vocabulary import label


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
        self.index = index_box()
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
