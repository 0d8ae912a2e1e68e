"""What the end-to-end sync tests do on each side and how they compare the two."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

import central.sync.numbering  # noqa: F401  (central numbers the commits of its sessions)
from app.models import Customer, Meter, SyncConflict, SyncJournalEntry
from app.models.capture import Actor, set_actor
from app.models.database import Database
from app.models.enums import PaymentMethod
from app.services.customer_edit import IdentityInput, update_identity
from app.services.payments import record_payment
from app.services.readings import record_reading
from app.sync.reconcile import local_checksums
from kernel import wire
from tests.sync.conftest import Desk

CENTRAL_ACTOR = Actor(username="siège")


def checksums(db: Database, agency_id: uuid.UUID) -> dict[str, dict[str, object]]:
    with db.session() as session:
        return local_checksums(session, agency_id)


def assert_same(desk: Desk, central_db: Database) -> None:
    """Both sides hold the same rows at the same versions, table by table."""
    ours = checksums(desk.db, desk.installation.agency_id)
    theirs = checksums(central_db, desk.installation.agency_id)
    differ = {t: (ours[t], theirs[t]) for t in ours if ours[t] != theirs[t]}
    assert not differ, differ


def customers(db: Database) -> list[Customer]:
    with db.session() as session:
        return list(session.scalars(select(Customer).order_by(Customer.id)))


def edit_mobile(desk: Desk, customer_id: uuid.UUID, mobile: str) -> None:
    with desk.db.session() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        data = IdentityInput(customer.kind, customer.civility, customer.last_name,
                             customer.first_name, customer.organisation_name, customer.phone,
                             mobile, customer.email, customer.id_document_type,
                             customer.id_document_number, customer.birth_date, customer.notes)
        version = customer.version
    update_identity(desk.ctx, customer_id, version, data)


def central_edit(central_db: Database, customer_id: uuid.UUID, **fields: object) -> None:
    with central_db.session() as session:
        set_actor(session, CENTRAL_ACTOR)
        customer = session.get(Customer, customer_id)
        assert customer is not None
        for key, value in fields.items():
            setattr(customer, key, value)
        session.commit()
    assert_numbered(central_db, customer_id)


def assert_numbered(central_db: Database, row_id: uuid.UUID) -> None:
    """The last central change of a row has a commit number: the download carries it (an
    unnumbered commit would only ever come down through the reconciliation)."""
    from central.models import SyncCommit

    with central_db.session() as session:
        tx = session.scalar(select(SyncJournalEntry.transaction_id)
                            .where(SyncJournalEntry.row_id == row_id)
                            .order_by(SyncJournalEntry.seq.desc()).limit(1))
        assert tx is not None
        assert session.scalar(select(SyncCommit.no).where(SyncCommit.transaction_id == tx)), \
            "central's commit got no number: the download would not carry it"


def day_of_business(desk: Desk, count: int) -> int:
    """Readings, payments and identity edits at the counter; returns journal entries made."""
    from app.models import SyncJournalEntry

    with desk.db.session() as session:
        before = session.query(SyncJournalEntry).count()
        meters = list(session.scalars(select(Meter).where(Meter.connection_id.is_not(None))
                                      .order_by(Meter.id).limit(count)))
    today = desk.installation.today()
    people = customers(desk.db)
    for position, meter in enumerate(meters):
        try:
            record_reading(desk.ctx, meter.id, today, _next_index(desk, meter.id),
                           confirmed_unusual=True)
        except Exception:  # noqa: BLE001  (a meter the demo left unusable: skip it)
            continue
        if position < len(people):
            edit_mobile(desk, people[position].id, f"07 00 00 {position // 100:02d} {position % 100:02d}")
    from app.models import Account

    with desk.db.session() as session:
        accounts = list(session.scalars(select(Account.id).order_by(Account.id).limit(count)))
    for account_id in accounts:
        record_payment(desk.ctx, account_id, Decimal("1000"), PaymentMethod.CASH, confirmed=True)
    with desk.db.session() as session:
        return session.query(SyncJournalEntry).count() - before


def _next_index(desk: Desk, meter_id: uuid.UUID) -> int:
    from sqlalchemy import func

    from app.models import MeterReading

    with desk.db.session() as session:
        top = session.scalar(select(func.max(MeterReading.index_value))
                             .where(MeterReading.meter_id == meter_id)) or 0
    return int(top) + 7


def open_conflicts(db: Database) -> list[SyncConflict]:
    with db.session() as session:
        return list(session.scalars(select(SyncConflict).where(SyncConflict.status == "open")))


__all__ = ["wire"]
