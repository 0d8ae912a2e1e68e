"""Meter readings at the counter, with the checks a reading clerk would make, and the change of
a meter (final index of the old one, initial index of the new one)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Meter, MeterReading
from app.models.enums import MeterStatus, ReadingKind, ReadingSource
from app.models.ids import utcnow
from app.services.context import ServiceContext
from app.services.editing import get_for_edit
from app.services.errors import BusinessError, NotFoundError, ValidationError
from app.services.identifiers import validate_meter_serial

#: A consumption per day above this many times the meter's usual one asks for confirmation.
UNUSUAL_FACTOR = 3
HISTORY_READINGS = 12


class UnusualConsumptionError(BusinessError):
    """The reading is plausible but far above the meter's history: the agent must confirm."""

    def __init__(self, message: str, consumption: int, usual_per_day: float) -> None:
        super().__init__(message)
        self.consumption = consumption
        self.usual_per_day = usual_per_day


@dataclass(frozen=True)
class RecordedReading:
    reading_id: uuid.UUID
    consumption: int


def _fmt(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _history(session: Session, meter_id: uuid.UUID) -> list[MeterReading]:
    return list(
        session.scalars(
            select(MeterReading)
            .where(MeterReading.meter_id == meter_id)
            .order_by(MeterReading.reading_date.desc(), MeterReading.read_at.desc())
            .limit(HISTORY_READINGS + 1)
        )
    )


def consumption_between(previous: int, index: int, maximum: int, rollover: bool) -> int:
    if rollover:
        return maximum - previous + 1 + index
    return index - previous


def usual_daily(history: list[MeterReading], maximum: int) -> float | None:
    """Average consumption per day over the recent history (newest first), if long enough."""
    total, days = 0, 0
    for newer, older in zip(history, history[1:], strict=False):
        span = (newer.reading_date - older.reading_date).days
        if span <= 0 or newer.kind in (ReadingKind.METER_INSTALLED, ReadingKind.MOVE_IN):
            continue
        total += consumption_between(
            older.index_value, newer.index_value, maximum, newer.kind is ReadingKind.ROLLOVER
        )
        days += span
    return total / days if days >= 25 else None


def _check_index(
    meter: Meter, history: list[MeterReading], day: date, index: int, rollover: bool, today: date
) -> int:
    if day > today:
        raise ValidationError({"reading_date": "La date de relève ne peut pas être dans le futur"})
    if not 0 <= index <= meter.max_index:
        raise ValidationError(
            {
                "index_value": f"L'index doit être compris entre 0 et {meter.max_index} "
                f"(compteur à {meter.digits} chiffres)"
            }
        )
    if not history:
        return 0
    last = history[0]
    if day < last.reading_date:
        raise ValidationError(
            {"reading_date": f"Une relève plus récente existe déjà (le {_fmt(last.reading_date)})"}
        )
    if rollover and index >= last.index_value:
        raise ValidationError(
            {
                "index_value": "Ce n'est pas un passage par zéro : l'index n'est pas inférieur au précédent "
                f"({last.index_value} le {_fmt(last.reading_date)})"
            }
        )
    if index < last.index_value and not rollover:
        raise ValidationError(
            {
                "index_value": f"L'index ne peut pas être inférieur au précédent ({last.index_value} le "
                f"{_fmt(last.reading_date)}). Si le compteur est passé par zéro, cochez "
                "« Passage par zéro » ; s'il a été changé, utilisez « Changer le compteur »."
            }
        )
    return consumption_between(last.index_value, index, meter.max_index, rollover)


def record_reading(
    ctx: ServiceContext,
    meter_id: uuid.UUID,
    day: date,
    index: int,
    source: ReadingSource = ReadingSource.AGENT,
    *,
    rollover: bool = False,
    confirmed_unusual: bool = False,
    note: str = "",
) -> RecordedReading:
    today = ctx.installation.today()
    with ctx.unit_of_work() as uow:
        meter = uow.session.get(Meter, meter_id)
        if meter is None:
            raise NotFoundError("Compteur introuvable.")
        if meter.status is not MeterStatus.INSTALLED:
            raise BusinessError(
                "Ce compteur n'est plus posé : on ne peut plus y enregistrer de relève."
            )
        history = _history(uow.session, meter_id)
        consumption = _check_index(meter, history, day, index, rollover, today)
        usual = usual_daily(history, meter.max_index)
        if history and usual is not None and not confirmed_unusual:
            days = max((day - history[0].reading_date).days, 1)
            if consumption / days > UNUSUAL_FACTOR * max(usual, 0.1):
                raise UnusualConsumptionError(
                    f"Consommation inhabituelle : {consumption} en {days} jour(s), soit "
                    f"{consumption / days:.1f} par jour contre {usual:.1f} d'habitude. "
                    "Confirmez-vous cet index ?",
                    consumption,
                    usual,
                )
        reading = MeterReading(
            agency_id=ctx.installation.agency_id,
            meter_id=meter_id,
            reading_date=day,
            read_at=utcnow(),
            index_value=index,
            source=source,
            kind=ReadingKind.ROLLOVER if rollover else ReadingKind.REGULAR,
            recorded_by=ctx.actor.username,
            note=note.strip(),
        )
        uow.session.add(reading)
        uow.commit()
        return RecordedReading(reading.id, consumption)


@dataclass(frozen=True)
class NewMeterInput:
    serial: str
    digits: int
    initial_index: int
    make: str = ""


def replace_meter(
    ctx: ServiceContext,
    meter_id: uuid.UUID,
    opened_version: int,
    day: date,
    final_index: int,
    new_meter: NewMeterInput,
) -> uuid.UUID:
    """Final reading and removal of the old meter, installation of the new one with its initial
    index: one transaction, so billing sees both halves of the period."""
    serial = validate_meter_serial(new_meter.serial)
    if not 4 <= new_meter.digits <= 9:
        raise ValidationError({"digits": "Nombre de chiffres du compteur entre 4 et 9"})
    if not 0 <= new_meter.initial_index < 10**new_meter.digits:
        raise ValidationError({"initial_index": "Index initial hors de la capacité du compteur"})
    with ctx.unit_of_work() as uow:
        old = get_for_edit(uow.session, Meter, meter_id, opened_version, "Le compteur")
        if old.status is not MeterStatus.INSTALLED:
            raise BusinessError("Ce compteur est déjà déposé.")
        if uow.session.scalar(select(Meter.id).where(Meter.serial == serial)) is not None:
            raise ValidationError({"serial": f"Le compteur {serial} existe déjà"})
        _check_index(
            old, _history(uow.session, meter_id), day, final_index, False, ctx.installation.today()
        )
        now = utcnow()
        uow.session.add(
            MeterReading(
                agency_id=old.agency_id,
                meter_id=old.id,
                reading_date=day,
                read_at=now,
                index_value=final_index,
                source=ReadingSource.AGENT,
                kind=ReadingKind.METER_REMOVED,
                recorded_by=ctx.actor.username,
            )
        )
        old.status = MeterStatus.REMOVED
        old.removed_on = day
        meter = Meter(
            agency_id=old.agency_id,
            serial=serial,
            energy=old.energy,
            payment=old.payment,
            status=MeterStatus.INSTALLED,
            connection_id=old.connection_id,
            make=new_meter.make.strip(),
            digits=new_meter.digits,
            initial_index=new_meter.initial_index,
            installed_on=day,
        )
        uow.session.add(meter)
        uow.session.flush()
        uow.session.add(
            MeterReading(
                agency_id=old.agency_id,
                meter_id=meter.id,
                reading_date=day,
                read_at=now,
                index_value=new_meter.initial_index,
                source=ReadingSource.AGENT,
                kind=ReadingKind.METER_INSTALLED,
                recorded_by=ctx.actor.username,
            )
        )
        uow.commit()
        return meter.id
