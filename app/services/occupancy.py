"""Move-out and move-in (emménagement / déménagement): a contract closed with a final reading,
another opened for the new occupant with its initial reading, both dated."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Contract,
    Meter,
    MeterReading,
    Premise,
    ServiceConnection,
    Tariff,
)
from app.models.enums import (
    AccountStatus,
    ContractStatus,
    MeterStatus,
    ReadingKind,
    ReadingSource,
)
from app.models.ids import utcnow
from app.services.editing import get_for_edit
from app.services.readings import _check_index, _history
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.numbering import Series, next_number


@dataclass(frozen=True)
class OccupantChange:
    closed_contract_id: uuid.UUID | None
    opened_contract_id: uuid.UUID | None
    opened_contract_number: str | None
    tariff_name: str = ""


@dataclass(frozen=True)
class TariffChoices:
    """The tariffs a move-in may take on this connection at this date, and the one proposed:
    the premise's previous tariff when still valid, else the one most used for this kind of
    connection in the agency (its category)."""

    options: tuple[tuple[uuid.UUID, str], ...]
    proposed: uuid.UUID | None
    why: str


def _valid_tariffs(session: Session, connection: ServiceConnection, meter: Meter, day: date) -> list[Tariff]:
    return list(
        session.scalars(
            select(Tariff)
            .where(
                Tariff.energy == connection.energy,
                Tariff.payment == meter.payment,
                Tariff.valid_from <= day,
                (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= day),
            )
            .order_by(Tariff.name)
        )
    )


def _proposal(
    session: Session, connection: ServiceConnection, valid: list[Tariff]
) -> tuple[uuid.UUID | None, str]:
    ids = {t.id for t in valid}
    previous = session.scalar(
        select(Contract.tariff_id)
        .where(Contract.connection_id == connection.id)
        .order_by(Contract.start_date.desc())
        .limit(1)
    )
    if previous in ids:
        return previous, "tarif du précédent abonnement de ce branchement"
    premise = session.get(Premise, connection.premise_id)
    category = premise.category.value if premise is not None else None
    for tariff in valid:
        if category and category in tariff.customer_categories.split(","):
            return tariff.id, "tarif de la catégorie du local"
    if ids:
        usual = session.execute(
            select(Contract.tariff_id, func.count())
            .where(Contract.tariff_id.in_(ids), Contract.status == ContractStatus.ACTIVE)
            .group_by(Contract.tariff_id)
            .order_by(func.count().desc())
            .limit(1)
        ).first()
        if usual is not None:
            return usual[0], "tarif le plus courant pour ce type de branchement"
        return valid[0].id, "seul tarif en vigueur" if len(valid) == 1 else "premier tarif en vigueur"
    return None, ""


def tariff_choices(ctx: ServiceContext, connection_id: uuid.UUID, day: date) -> TariffChoices:
    with ctx.reading() as session:
        connection = session.get(ServiceConnection, connection_id)
        if connection is None:
            raise NotFoundError("Branchement introuvable.")
        meter = _current_meter(session, connection_id)
        valid = _valid_tariffs(session, connection, meter, day)
        proposed, why = _proposal(session, connection, valid)
        return TariffChoices(tuple((t.id, f"{t.name} ({t.code})") for t in valid), proposed, why)


def _current_meter(session: Session, connection_id: uuid.UUID) -> Meter:
    meter = session.scalars(
        select(Meter).where(
            Meter.connection_id == connection_id, Meter.status == MeterStatus.INSTALLED
        )
    ).first()
    if meter is None:
        raise BusinessError("Aucun compteur n'est posé sur ce branchement.")
    return meter


def _reading(
    ctx: ServiceContext, session: Session, meter: Meter, day: date, index: int, kind: ReadingKind
) -> MeterReading:
    _check_index(meter, _history(session, meter.id), day, index, False, ctx.installation.today())
    reading = MeterReading(
        agency_id=meter.agency_id,
        meter_id=meter.id,
        reading_date=day,
        read_at=utcnow(),
        index_value=index,
        source=ReadingSource.AGENT,
        kind=kind,
        recorded_by=ctx.actor.username,
    )
    session.add(reading)
    session.flush()
    return reading


def _move_out(
    ctx: ServiceContext,
    session: Session,
    contract_id: uuid.UUID,
    opened_version: int,
    day: date,
    index: int,
) -> Contract:
    contract = get_for_edit(session, Contract, contract_id, opened_version, "L'abonnement")
    if contract.status is not ContractStatus.ACTIVE:
        raise BusinessError("Cet abonnement est déjà résilié.")
    if day < contract.start_date:
        raise ValidationError({"day": "La date de départ précède le début de l'abonnement"})
    meter = _current_meter(session, contract.connection_id)
    reading = _reading(ctx, session, meter, day, index, ReadingKind.MOVE_OUT)
    contract.status = ContractStatus.CLOSED
    contract.end_date = day
    contract.move_out_reading_id = reading.id
    return contract


def _move_in(
    ctx: ServiceContext,
    session: Session,
    connection_id: uuid.UUID,
    account_id: uuid.UUID,
    day: date,
    index: int,
    tariff_id: uuid.UUID | None = None,
) -> Contract:
    connection = session.get(ServiceConnection, connection_id)
    account = session.get(Account, account_id)
    if connection is None or account is None:
        raise NotFoundError("Branchement ou compte introuvable.")
    if account.status is AccountStatus.CLOSED:
        raise BusinessError(f"Le compte {account.number} est clos : choisissez un compte actif.")
    active = session.scalars(
        select(Contract).where(
            Contract.connection_id == connection_id, Contract.status == ContractStatus.ACTIVE
        )
    ).first()
    if active is not None:
        raise BusinessError(
            "Ce branchement a encore un abonnement en cours : "
            "enregistrez d'abord le départ de l'occupant actuel."
        )
    meter = _current_meter(session, connection_id)
    valid = _valid_tariffs(session, connection, meter, day)
    if not valid:
        raise BusinessError("Aucun tarif en vigueur à cette date pour ce type de branchement.")
    if tariff_id is None:
        tariff_id, _why = _proposal(session, connection, valid)
    tariff = next((t for t in valid if t.id == tariff_id), None)
    if tariff is None:
        raise ValidationError(
            {"tariff": "Ce tarif n'est pas en vigueur à cette date pour ce branchement"}
        )
    reading = _reading(ctx, session, meter, day, index, ReadingKind.MOVE_IN)
    contract = Contract(
        agency_id=ctx.installation.agency_id,
        number=next_number(session, ctx.installation.agency_code, Series.CONTRACT, day.year),
        account_id=account.id,
        connection_id=connection_id,
        tariff_id=tariff.id,
        status=ContractStatus.ACTIVE,
        start_date=day,
        move_in_reading_id=reading.id,
    )
    session.add(contract)
    session.flush()
    return contract


def change_occupant(
    ctx: ServiceContext,
    connection_id: uuid.UUID,
    day: date,
    index: int,
    *,
    leaving: tuple[uuid.UUID, int] | None,
    arriving_account_id: uuid.UUID | None,
    tariff_id: uuid.UUID | None = None,
) -> OccupantChange:
    """Close the current contract (``leaving`` = its id and the version shown) and/or open one
    for ``arriving_account_id``, with the same dated index, in one transaction."""
    if leaving is None and arriving_account_id is None:
        raise ValidationError({"account": "Indiquez le départ, l'arrivée, ou les deux"})
    with ctx.unit_of_work() as uow:
        closed = opened = None
        if leaving is not None:
            closed = _move_out(ctx, uow.session, leaving[0], leaving[1], day, index)
            if closed.connection_id != connection_id:
                raise BusinessError("Cet abonnement ne concerne pas ce branchement.")
        if arriving_account_id is not None:
            opened = _move_in(
                ctx, uow.session, connection_id, arriving_account_id, day, index, tariff_id
            )
        tariff = uow.session.get(Tariff, opened.tariff_id) if opened else None
        uow.commit()
        return OccupantChange(
            closed.id if closed else None,
            opened.id if opened else None,
            opened.number if opened else None,
            tariff.name if tariff else "",
        )
