"""One write path: data, audit entry and journal entry in the same transaction, or none."""

from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import Account, AuditEntry, Customer, SyncJournalEntry
from app.models.capture import Actor
from app.models.database import Database
from app.models.enums import Civility, JournalOperation
from app.services.editing import get_for_edit
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import ConcurrentEditError


def _count(db: Database, model: type) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _new_customer(ctx: ServiceContext) -> Customer:
    return Customer(
        agency_id=ctx.installation.agency_id,
        civility=Civility.MRS,
        last_name="Koné",
        first_name="Hélène",
        mobile="0701020304",
    )


def test_insert_writes_audit_and_journal_in_the_same_transaction(ctx: ServiceContext) -> None:
    actor = Actor("agent", agency_id=ctx.installation.agency_id)
    with UnitOfWork(ctx.db, actor) as uow:
        customer = _new_customer(ctx)
        uow.session.add(customer)
        uow.commit()
    with ctx.db.reading() as session:
        journal = session.scalars(select(SyncJournalEntry)).one()
        audit = session.scalars(select(AuditEntry)).one()
        stored = session.get(Customer, customer.id)
    assert stored is not None and stored.version == 1 and stored.mobile == "0701020304"
    assert journal.operation is JournalOperation.INSERT
    assert journal.row_id == customer.id and journal.table_name == "customer"
    assert journal.base_version == 0 and journal.new_version == 1
    assert journal.changes["first_name"] == [None, "Hélène"]
    assert journal.changes["email"] == [None, ""], "defaults are journaled too"
    assert audit.username == "agent" and audit.transaction_id == journal.transaction_id


def test_update_moves_the_version_and_records_old_and_new(ctx: ServiceContext) -> None:
    with ctx.unit_of_work() as uow:
        customer = _new_customer(ctx)
        uow.session.add(customer)
        uow.commit()
    with ctx.unit_of_work() as uow:
        row = uow.session.get(Customer, customer.id)
        assert row is not None
        row.mobile = "0505050505"
        uow.commit()
    with ctx.db.reading() as session:
        update = session.scalars(
            select(SyncJournalEntry).where(SyncJournalEntry.operation == JournalOperation.UPDATE)
        ).one()
        assert session.get(Customer, customer.id).version == 2  # type: ignore[union-attr]
    assert update.base_version == 1 and update.new_version == 2
    assert update.changes == {"mobile": ["0701020304", "0505050505"]}


def test_a_failed_transaction_leaves_no_data_audit_or_journal(ctx: ServiceContext) -> None:
    before = (_count(ctx.db, Customer), _count(ctx.db, AuditEntry), _count(ctx.db, SyncJournalEntry))
    with pytest.raises(Exception), ctx.unit_of_work() as uow:  # noqa: B017,PT011
        uow.session.add(_new_customer(ctx))
        uow.session.flush()
        # An account pointing to a customer that does not exist: the commit fails.
        uow.session.add(
            Account(number="10126000000142", customer_id=ctx.installation.agency_id,
                    opened_on=date(2026, 1, 1), agency_id=ctx.installation.agency_id)
        )
        uow.commit()
    after = (_count(ctx.db, Customer), _count(ctx.db, AuditEntry), _count(ctx.db, SyncJournalEntry))
    assert after == before


def test_a_transaction_left_without_commit_writes_nothing(ctx: ServiceContext) -> None:
    with ctx.unit_of_work() as uow:
        uow.session.add(_new_customer(ctx))
        uow.session.flush()
    assert _count(ctx.db, Customer) == 0
    assert _count(ctx.db, SyncJournalEntry) == 0


def test_rows_applied_from_the_server_are_not_journaled_again(ctx: ServiceContext) -> None:
    with UnitOfWork(ctx.db, Actor("sync"), from_server=True) as uow:
        customer = _new_customer(ctx)
        customer.version = 7
        uow.session.add(customer)
        uow.commit()
    with UnitOfWork(ctx.db, Actor("sync"), from_server=True) as uow:
        row = uow.session.get(Customer, customer.id)
        assert row is not None
        row.mobile = "0102030405"
        row.version = 8
        uow.commit()
    assert _count(ctx.db, SyncJournalEntry) == 0
    assert _count(ctx.db, AuditEntry) == 0
    with ctx.db.reading() as session:
        assert session.get(Customer, customer.id).version == 8  # type: ignore[union-attr]


def test_two_desks_saving_the_same_row_the_second_is_refused(ctx: ServiceContext) -> None:
    """Each desk opened the file at version 1; the first save wins, the second is refused."""
    with ctx.unit_of_work() as uow:
        customer = _new_customer(ctx)
        uow.session.add(customer)
        uow.commit()
    opened_at = 1
    with ctx.unit_of_work() as uow:
        row = get_for_edit(uow.session, Customer, customer.id, opened_at, "Fiche client")
        row.first_name = "Hélène Marie"
        uow.commit()
    with ctx.unit_of_work() as uow, pytest.raises(ConcurrentEditError):
        get_for_edit(uow.session, Customer, customer.id, opened_at, "Fiche client")
    with ctx.db.reading() as session:
        assert session.get(Customer, customer.id).first_name == "Hélène Marie"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_concurrent_transactions_on_postgresql_the_stale_flush_is_refused(pg_url: str) -> None:
    """Two open transactions on PostgreSQL: the version check in the UPDATE refuses the loser."""
    db = Database(pg_url)
    try:
        with UnitOfWork(db, Actor("a")) as uow:
            customer = Customer(last_name="Traoré", first_name="Awa")
            uow.session.add(customer)
            uow.commit()
        first, second = UnitOfWork(db, Actor("a")), UnitOfWork(db, Actor("b"))
        with first, second:
            a = first.session.get(Customer, customer.id)
            b = second.session.get(Customer, customer.id)
            assert a is not None and b is not None
            a.first_name = "Awa Mariam"
            first.commit()
            b.first_name = "Awa Fatou"
            with pytest.raises(ConcurrentEditError):
                second.commit()
        with db.reading() as session:
            assert session.get(Customer, customer.id).first_name == "Awa Mariam"  # type: ignore[union-attr]
    finally:
        db.dispose()
