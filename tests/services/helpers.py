"""Building blocks for service tests: a customer with an account, premise, connection and meter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import (
    Commune,
    Contract,
    Meter,
    MeterReading,
    ServiceConnection,
    Street,
    Tariff,
    search_index,
)
from app.models.enums import (
    Civility,
    Energy,
    MeterPayment,
    ReadingKind,
    ReadingSource,
)
from app.models.ids import utcnow
from app.services.customer_edit import (
    AddressInput,
    IdentityInput,
    NewCustomerInput,
    create_customer,
)
from kernel.context import ServiceContext
from kernel.identifiers import make_meter_serial


@dataclass(frozen=True)
class Household:
    customer_id: uuid.UUID
    account_id: uuid.UUID
    account_number: str
    premise_id: uuid.UUID
    connection_id: uuid.UUID
    meter_id: uuid.UUID
    contract_id: uuid.UUID


def new_customer_input(ctx: ServiceContext, **identity: object) -> NewCustomerInput:
    with ctx.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
        street = session.scalars(select(Street).where(Street.commune_id == commune.id).order_by(Street.name)).first()
        assert street is not None
    fields = {"civility": Civility.MRS, "last_name": "Koné", "first_name": "Hélène", "mobile": "07 01 02 03 04"}
    fields.update(identity)
    return NewCustomerInput(
        identity=IdentityInput(**fields),  # type: ignore[arg-type]
        address=AddressInput(commune_id=commune.id, street_id=street.id, house_number="12"),
    )


def household(ctx: ServiceContext, readings: list[tuple[int, int]] | None = None, **identity: object) -> Household:
    """A new customer with a postpaid water meter; ``readings`` are (days ago, index) pairs."""
    created = create_customer(ctx, new_customer_input(ctx, **identity))
    agency = ctx.installation.agency_id
    today = ctx.installation.today()
    with ctx.unit_of_work() as uow:
        session = uow.session
        tariff = session.scalars(select(Tariff).where(Tariff.energy == Energy.WATER,
                                                      Tariff.payment == MeterPayment.POSTPAID)).one()
        connection = ServiceConnection(agency_id=agency, reference=f"BR-T-{uuid.uuid4().hex[:8]}",
                                       premise_id=created.premise_id, energy=Energy.WATER)
        session.add(connection)
        session.flush()
        meter = Meter(agency_id=agency, serial=make_meter_serial(Energy.WATER, int(uuid.uuid4().int % 10**8)),
                      energy=Energy.WATER, connection_id=connection.id, digits=5,
                      installed_on=today - timedelta(days=400))
        session.add(meter)
        session.flush()
        contract = Contract(agency_id=agency, number=f"AB-T-{uuid.uuid4().hex[:8]}", account_id=created.account_id,
                            connection_id=connection.id, tariff_id=tariff.id, start_date=today - timedelta(days=400))
        session.add(contract)
        defaults = [(150, 100), (120, 130), (90, 160), (60, 190), (30, 220)]
        for days_ago, index in defaults if readings is None else readings:
            day = today - timedelta(days=days_ago)
            session.add(MeterReading(agency_id=agency, meter_id=meter.id, reading_date=day, read_at=utcnow(),
                                     index_value=index, source=ReadingSource.AGENT, kind=ReadingKind.REGULAR))
        uow.commit()
        return Household(created.customer_id, created.account_id, created.account_number, created.premise_id,
                         connection.id, meter.id, contract.id)


def day_ago(ctx: ServiceContext, days: int) -> date:
    return ctx.installation.today() - timedelta(days=days)


def word_table_is_current(session: Session) -> bool:
    """PostgreSQL's search word table holds the words of every search row, and nothing else."""
    stored = set(session.execute(text(
        f"SELECT word, customer_id FROM {search_index.WORDS}")).all())
    return stored == set(session.execute(text(search_index.WORD_ROWS)).all()) and bool(stored)
