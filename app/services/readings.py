"""Meter readings at the counter, with the checks a reading clerk would make, and the change of
a meter (final index of the old one, initial index of the new one).

An estimate is not a reading: a new index is checked against the last index actually read
(central regularises its estimate with the real one). A meter with no history is compared with
the average of meters of its kind (same energy, same tariff). A reading on a premise with no
contract in force is recorded as such, after a warning, and listed for the supervisor. A wrong
index is corrected by a supervisor, with a reason; central then credits and re-bills the
invoice computed on it (its ``invoice correct`` flow recomputes on the readings as they are).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Contract, Invoice, Meter, MeterReading, Premise, ServiceConnection
from app.models.capture import set_reason
from app.models.enums import (
    ContractStatus,
    InvoiceKind,
    InvoiceStatus,
    MeterStatus,
    ReadingKind,
    ReadingSource,
    Role,
)
from app.models.ids import utcnow
from app.services.editing import get_for_edit
from app.services.quantities import number, per_day, quantity
from kernel.context import ServiceContext
from kernel.errors import (
    BusinessError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from kernel.identifiers import validate_meter_serial

#: A consumption per day above this many times the meter's usual one asks for confirmation.
UNUSUAL_FACTOR = 3
HISTORY_READINGS = 12


class UnusualConsumptionError(BusinessError):
    """The reading is plausible but far above the meter's history: the agent must confirm."""

    def __init__(self, message: str, consumption: int, usual_per_day: float) -> None:
        super().__init__(message)
        self.consumption = consumption
        self.usual_per_day = usual_per_day


class VacantPremiseWarning(BusinessError):
    """No contract is in force on this meter's connection: nobody is billed for what it
    measures. The agent confirms, and the reading is recorded as a vacant-premise reading."""


@dataclass(frozen=True)
class RecordedReading:
    reading_id: uuid.UUID
    consumption: int
    on_vacant_premise: bool = False

#: Meters of the same kind sampled for a category average.
CATEGORY_SAMPLE = 200


def _fmt(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _history(session: Session, meter_id: uuid.UUID) -> list[MeterReading]:
    """The meter's last indexes actually read (central's estimates left out), newest first."""
    return list(
        session.scalars(
            select(MeterReading)
            .where(
                MeterReading.meter_id == meter_id,
                MeterReading.source != ReadingSource.ESTIMATE,
            )
            .order_by(MeterReading.reading_date.desc(), MeterReading.read_at.desc())
            .limit(HISTORY_READINGS + 1)
        )
    )


def category_daily(session: Session, meter: Meter) -> float | None:
    """Usual consumption per day of meters of the same kind: same energy, on premises of the
    same category (domestic, commercial…), over a sample of recent meters."""
    category = session.scalar(
        select(Premise.category)
        .join(ServiceConnection, ServiceConnection.premise_id == Premise.id)
        .where(ServiceConnection.id == meter.connection_id)
    )
    peers = (
        select(Meter.id)
        .join(ServiceConnection, ServiceConnection.id == Meter.connection_id)
        .join(Premise, Premise.id == ServiceConnection.premise_id)
        .where(
            Meter.energy == meter.energy,
            Meter.status == MeterStatus.INSTALLED,
            Meter.id != meter.id,
        )
        .limit(CATEGORY_SAMPLE)
    )
    if category is not None:
        peers = peers.where(Premise.category == category)
    ids = list(session.scalars(peers))
    if not ids:
        return None
    by_meter: dict[uuid.UUID, list[MeterReading]] = {}
    for reading in session.scalars(
        select(MeterReading)
        .where(MeterReading.meter_id.in_(ids), MeterReading.source != ReadingSource.ESTIMATE)
        .order_by(MeterReading.meter_id, MeterReading.reading_date.desc())
    ):
        by_meter.setdefault(reading.meter_id, []).append(reading)
    maxima = dict(session.execute(select(Meter.id, Meter.digits).where(Meter.id.in_(ids))).all())
    averages = [
        value
        for meter_id, readings in by_meter.items()
        if (value := usual_daily(readings[: HISTORY_READINGS + 1], 10 ** maxima[meter_id] - 1))
        is not None
    ]
    return sum(averages) / len(averages) if averages else None


def _vacant(session: Session, meter: Meter) -> bool:
    if meter.connection_id is None:
        return True
    return (
        session.scalar(
            select(Contract.id).where(
                Contract.connection_id == meter.connection_id,
                Contract.status == ContractStatus.ACTIVE,
            )
        )
        is None
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
        return max(index - meter.initial_index, 0)
    last = history[0]
    if day < last.reading_date:
        raise ValidationError(
            {"reading_date": f"Une relève plus récente existe déjà (le {_fmt(last.reading_date)})"}
        )
    if rollover and index >= last.index_value:
        raise ValidationError(
            {
                "index_value": "Ce n'est pas un passage par zéro : l'index n'est pas inférieur au précédent "
                f"({number(last.index_value)} le {_fmt(last.reading_date)})"
            }
        )
    if index < last.index_value and not rollover:
        raise ValidationError(
            {
                "index_value": f"L'index ne peut pas être inférieur au précédent ({number(last.index_value)} le "
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
    confirmed_vacant: bool = False,
    note: str = "",
) -> RecordedReading:
    """Records an index; ``UnusualConsumptionError`` and ``VacantPremiseWarning`` ask the
    agent to confirm (``confirmed_unusual``, ``confirmed_vacant``)."""
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
        compared_with = "d'habitude"
        if usual is None:
            usual = category_daily(uow.session, meter)
            compared_with = "en moyenne pour les compteurs de même catégorie"
        since = history[0].reading_date if history else meter.installed_on
        if usual is not None and since is not None and not confirmed_unusual:
            days = max((day - since).days, 1)
            if consumption / days > UNUSUAL_FACTOR * max(usual, 0.1):
                unit = meter.energy
                raise UnusualConsumptionError(
                    f"Consommation inhabituelle : {quantity(consumption, unit)} en "
                    f"{_days(days)}, soit {per_day(consumption / days, unit)} contre "
                    f"{per_day(usual, unit)} {compared_with}. Confirmez-vous cet index ?",
                    consumption,
                    usual,
                )
        vacant = _vacant(uow.session, meter)
        if vacant and not confirmed_vacant:
            raise VacantPremiseWarning(
                f"Aucun abonnement n'est en cours sur le branchement du compteur {meter.serial} "
                "(local vacant) : cette consommation ne sera facturée à personne. La relève "
                "sera enregistrée comme relève sur local vacant et signalée au superviseur "
                "(fuite ou consommation frauduleuse possible). Enregistrer ?"
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
            on_vacant_premise=vacant,
        )
        uow.session.add(reading)
        uow.commit()
        return RecordedReading(reading.id, consumption, vacant)


def _days(days: int) -> str:
    return "1 jour" if days == 1 else f"{days} jours"


@dataclass(frozen=True)
class VacantReading:
    reading_id: uuid.UUID
    reading_date: date
    meter_serial: str
    connection_reference: str
    index_value: int
    consumption: int | None
    recorded_by: str


def vacant_premise_readings(ctx: ServiceContext, since: date) -> list[VacantReading]:
    """Readings taken on premises with no contract in force since ``since``, newest first: for
    the supervisor (a leak, or someone using water or power nobody pays for)."""
    with ctx.reading() as session:
        rows = session.execute(
            select(MeterReading, Meter.serial, Meter.initial_index, ServiceConnection.reference)
            .join(Meter, Meter.id == MeterReading.meter_id)
            .outerjoin(ServiceConnection, ServiceConnection.id == Meter.connection_id)
            .where(MeterReading.on_vacant_premise.is_(True), MeterReading.reading_date >= since)
            .order_by(MeterReading.reading_date.desc())
        ).all()
        found = []
        for reading, serial, _initial, reference in rows:
            previous = session.scalar(
                select(MeterReading.index_value)
                .where(
                    MeterReading.meter_id == reading.meter_id,
                    MeterReading.source != ReadingSource.ESTIMATE,
                    MeterReading.reading_date < reading.reading_date,
                )
                .order_by(MeterReading.reading_date.desc())
                .limit(1)
            )
            found.append(
                VacantReading(
                    reading.id,
                    reading.reading_date,
                    serial,
                    reference or "",
                    reading.index_value,
                    None if previous is None else reading.index_value - previous,
                    reading.recorded_by,
                )
            )
        return found


@dataclass(frozen=True)
class CorrectedReading:
    reading_id: uuid.UUID
    old_index: int
    new_index: int
    #: The consumption invoice computed on the wrong index (central credits it and bills again).
    invoice_number: str | None


CORRECTING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def correct_reading(
    ctx: ServiceContext, reading_id: uuid.UUID, new_index: int, reason: str
) -> CorrectedReading:
    """A supervisor corrects an index typed wrong. The first index typed is kept
    (``corrected_from_index``) and the change audited with its reason; once synchronised,
    central's ``invoice correct`` credits the invoice computed on it and bills the same days
    again on the corrected index."""
    if ctx.user is None or ctx.user.role not in CORRECTING_ROLES:
        raise PermissionDeniedError("Seul un superviseur peut corriger une relève.")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise ValidationError({"reason": "Indiquez le motif de la correction"})
    with ctx.unit_of_work() as uow:
        session = uow.session
        reading = session.get(MeterReading, reading_id)
        if reading is None:
            raise NotFoundError("Relève introuvable.")
        if reading.source is ReadingSource.ESTIMATE:
            raise BusinessError(
                "Une estimation ne se corrige pas : enregistrez la relève réelle, le site "
                "central régularisera."
            )
        meter = session.get(Meter, reading.meter_id)
        assert meter is not None
        if not 0 <= new_index <= meter.max_index:
            raise ValidationError(
                {"index_value": f"L'index doit être compris entre 0 et {meter.max_index}"}
            )
        if new_index == reading.index_value:
            raise ValidationError({"index_value": "C'est déjà l'index enregistré"})
        real = (
            select(MeterReading)
            .where(
                MeterReading.meter_id == reading.meter_id,
                MeterReading.source != ReadingSource.ESTIMATE,
                MeterReading.id != reading.id,
            )
        )
        before = session.scalars(
            real.where(MeterReading.reading_date <= reading.reading_date)
            .order_by(MeterReading.reading_date.desc(), MeterReading.read_at.desc())
            .limit(1)
        ).first()
        after = session.scalars(
            real.where(MeterReading.reading_date > reading.reading_date)
            .order_by(MeterReading.reading_date, MeterReading.read_at)
            .limit(1)
        ).first()
        rollover = reading.kind is ReadingKind.ROLLOVER
        if before is not None and not rollover and new_index < before.index_value:
            raise ValidationError(
                {
                    "index_value": f"L'index corrigé est inférieur à la relève précédente "
                    f"({number(before.index_value)} le {_fmt(before.reading_date)})"
                }
            )
        if after is not None and after.kind is not ReadingKind.ROLLOVER and (
            new_index > after.index_value
        ):
            raise ValidationError(
                {
                    "index_value": f"L'index corrigé dépasse la relève suivante "
                    f"({number(after.index_value)} le {_fmt(after.reading_date)})"
                }
            )
        old = reading.index_value
        set_reason(session, f"correction de la relève du {_fmt(reading.reading_date)} : {reason}"[:200])
        if reading.corrected_from_index is None:
            reading.corrected_from_index = old
        reading.index_value = new_index
        note = f"Index corrigé de {old} à {new_index} par {ctx.user.full_name} : {reason}"
        reading.note = f"{reading.note}\n{note}".strip()
        invoice = session.scalar(
            select(Invoice.number)
            .join(Contract, Contract.id == Invoice.contract_id)
            .where(
                Contract.connection_id == meter.connection_id,
                Invoice.kind == InvoiceKind.CONSUMPTION,
                Invoice.status == InvoiceStatus.ISSUED,
                Invoice.period_start <= reading.reading_date,
                Invoice.period_end >= reading.reading_date,
            )
            .order_by(Invoice.issued_on.desc())
            .limit(1)
        )
        uow.commit()
        return CorrectedReading(reading.id, old, new_index, invoice)


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
