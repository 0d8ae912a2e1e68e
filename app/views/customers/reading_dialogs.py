"""Meter readings at the counter: a new index, a corrected one, a meter replaced."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QSpinBox, QWidget

from app.models.enums import ReadingSource
from app.services.customer_file import CustomerFile, MeterInfo, ReadingLine
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
from app.views.forms import FormDialog, combo, date_edit, read_date
from app.views.shell import Shell
from kernel.errors import ValidationError
from kernel.vocabulary import label


def index_box(maximum: int = 999_999_999) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    box.setGroupSeparatorShown(True)
    box.setMinimumWidth(140)
    return box


def installed_meters(file: CustomerFile) -> list[MeterInfo]:
    return [c.current_meter for p in file.premises for c in p.connections if c.current_meter]


def meter_text(meter: MeterInfo) -> str:
    last = meter.last_reading
    tail = (
        f" — dernier index relevé {quantity(last.index_value, meter.energy)} "
        f"le {last.reading_date:%d/%m/%Y}"
        if last
        else " — jamais relevé"
    )
    return f"{label(meter.energy)} · {meter.serial}{tail}"



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
        items: list[tuple[str, Any]] = [(meter_text(m), (p, c, m)) for p, c, m in places]
        if len(items) > 1:
            items.insert(0, (f"— choisissez le compteur ({len(items)} sur ce dossier) —", None))
        self.meter = combo(items)
        self.meter.setObjectName("meterChoice")
        self.meter_detail = QLabel()
        self.meter_detail.setObjectName("meterDetail")
        self.meter_detail.setWordWrap(True)
        self.day = date_edit(shell.ctx.installation.today())
        self.index = index_box()
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



class MeterChangeDialog(FormDialog):
    def __init__(self, shell: Shell, file: CustomerFile, parent: QWidget | None = None) -> None:
        super().__init__("Changement de compteur", shell.runner, parent)
        self.shell = shell
        self.meter = combo([(meter_text(m), m) for m in installed_meters(file)])
        self.day = date_edit(shell.ctx.installation.today())
        self.final_index = index_box()
        self.serial = QLineEdit()
        self.serial.setPlaceholderText("EA ou EL suivi de 9 chiffres")
        self.digits = QSpinBox()
        self.digits.setRange(4, 9)
        self.digits.setValue(6)
        self.initial_index = index_box()
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
        self.index = index_box(meter.max_index)
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
