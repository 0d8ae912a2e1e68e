"""Central's bulk writes record what the ORM write path would: the same journal and audit
shape, versions moved, one transaction; ids are unique and time-ordered."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from app.models import Account, AuditEntry, Customer, SyncJournalEntry
from app.models.capture import SYSTEM, Actor
from app.models.database import Database
from app.models.enums import JournalOperation
from app.models.ids import new_id
from central.ids import IdMaker
from central.writes import BulkWriter, ChangeSet
from kernel.context import UnitOfWork
from kernel.errors import ConcurrentEditError

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def customer_row(ids: IdMaker, agency_id: object = None) -> dict[str, object]:
    return {
        "id": ids(), "agency_id": agency_id, "version": 1, "created_at": NOW, "updated_at": NOW,
        "kind": "person", "civility": None, "last_name": "Koné", "first_name": "Awa",
        "organisation_name": "", "phone": "", "mobile": "0701020304", "email": "",
        "id_document_type": None, "id_document_number": "", "birth_date": date(1990, 5, 17),
        "notes": "", "is_active": True,
    }


def test_bulk_journal_matches_the_orm_write_path(cdb: Database) -> None:
    with UnitOfWork(cdb, SYSTEM) as uow:
        uow.session.add(Customer(last_name="Koné", first_name="Awa", mobile="0701020304",
                                 birth_date=date(1990, 5, 17)))
        uow.commit()
    writer = BulkWriter(cdb.dialect)
    changes = ChangeSet()
    row = customer_row(writer.ids)
    changes.insert("customer", row)
    tx = new_id()
    with cdb.engine.begin() as connection:
        writer.write(connection, changes, actor=Actor("facturation"), now=NOW,
                     transaction_id=tx, reason="essai")
    with cdb.reading() as session:
        orm, bulk = session.scalars(select(SyncJournalEntry).order_by(SyncJournalEntry.seq)).all()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.transaction_id == tx)).one()
        stored = session.get(Customer, row["id"])
    assert stored is not None and stored.last_name == "Koné"
    assert bulk.changes == orm.changes, "same fields, same JSON form"
    assert (bulk.operation, bulk.base_version, bulk.new_version) == (JournalOperation.INSERT, 0, 1)
    assert bulk.table_name == "customer" and bulk.row_id == row["id"]
    assert (audit.username, audit.reason, audit.row_id) == ("facturation", "essai", row["id"])
    assert audit.changes == bulk.changes


def test_bulk_updates_check_and_move_the_version(cdb: Database) -> None:
    with UnitOfWork(cdb, SYSTEM) as uow:
        customer = Customer(last_name="Yao")
        uow.session.add(customer)
        uow.session.flush()
        account = Account(number="10126000000142", customer_id=customer.id,
                          opened_on=date(2020, 1, 1), balance_minor=100)
        uow.session.add(account)
        uow.commit()
    writer = BulkWriter(cdb.dialect)
    changes = ChangeSet()
    changes.update("account", account.id, None, 1,
                   {"balance_minor": (100, 250), "balance_as_of": (None, NOW)})
    with cdb.engine.begin() as connection:
        writer.write(connection, changes, actor=SYSTEM, now=NOW, transaction_id=new_id())
    with cdb.reading() as session:
        stored = session.get(Account, account.id)
        entry = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.operation == JournalOperation.UPDATE)).one()
    assert stored is not None and (stored.balance_minor, stored.version) == (250, 2)
    assert stored.balance_as_of == NOW
    assert entry.changes["balance_minor"] == [100, 250] and (entry.base_version,
                                                              entry.new_version) == (1, 2)
    with pytest.raises(ConcurrentEditError), cdb.engine.begin() as connection:
        writer.write(connection, changes, actor=SYSTEM, now=NOW, transaction_id=new_id())


def test_ids_are_unique_and_time_ordered() -> None:
    ids = IdMaker()
    first = [ids() for _ in range(1000)]
    ids.start_batch()
    second = [ids() for _ in range(1000)]
    made = first + second
    assert len(set(made)) == 2000 and made == sorted(made)
    assert {u.version for u in made} == {7} and str(made[0]) == str(type(made[0])(str(made[0])))
