"""Central's bulk writes record what the ORM write path would: the same journal and audit
shape, versions moved, one transaction; ids are unique and time-ordered."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Account, Agency, AuditEntry, Customer, SyncJournalEntry
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


@pytest.mark.postgres
def test_server_built_journal_is_the_json_python_would_write(central_pg_url: str) -> None:
    """PostgreSQL spells the journal's JSON by concatenation: every column type (text to
    escape, NULL, enums, dates, timestamps, booleans, UUIDs, negative scaled decimals) reads
    back as the entry the Python write path builds from the same row."""
    cdb = Database(central_pg_url)
    with UnitOfWork(cdb, SYSTEM) as uow:
        customer = Customer(last_name="Yao")
        agency = Agency(code="126", name="Agence 126")
        uow.session.add_all([customer, agency])
        uow.session.flush()
        account = Account(number="10126000000143", customer_id=customer.id,
                          opened_on=date(2020, 1, 1))
        uow.session.add(account)
        uow.commit()
    writer = BulkWriter(cdb.dialect)
    ids = writer.ids
    person = customer_row(ids) | {"last_name": 'N\'Guessan "Kouadio" \\ é\n\t☂',
                                  "birth_date": None}
    invoice = {
        "id": ids(), "agency_id": agency.id, "version": 1, "created_at": NOW, "updated_at": NOW,
        "number": "FC-2026-000001", "kind": "consumption", "status": "issued",
        "account_id": account.id, "contract_id": None, "works_quote_id": None,
        "credited_invoice_id": None, "period": "2026-11", "period_start": date(2026, 11, 1),
        "period_end": date(2026, 11, 30), "issued_on": date(2026, 12, 5), "due_on": None,
        "total_excl_vat_minor": -1200, "vat_minor": 0, "total_minor": -1200,
        "is_estimated": True,
    }
    line = {
        "id": ids(), "agency_id": agency.id, "version": 1, "created_at": NOW, "updated_at": NOW,
        "invoice_id": invoice["id"], "position": 1, "kind": "energy",
        "label": "Tranche « 1 » : 0–100 kWh", "quantity": Decimal("-12.5"), "unit": "kWh",
        "unit_price": Decimal("95.1234"), "amount_excl_vat_minor": -1200,
        "vat_rate": Decimal("0"), "vat_minor": 0, "amount_minor": -1200,
    }
    changes = ChangeSet()
    changes.insert("customer", person)
    changes.insert("invoice", invoice)
    changes.insert("invoice_line", line)
    changes.update("account", account.id, None, 1,
                   {"balance_minor": (0, -1200), "balance_as_of": (None, NOW)})
    with cdb.engine.begin() as connection:
        writer.write(connection, changes, actor=SYSTEM, now=NOW, transaction_id=new_id(),
                     order=("customer", "invoice", "invoice_line"))
    with cdb.reading() as session:
        stored = {e.row_id: e.changes for e in session.scalars(select(SyncJournalEntry))}
        audited = {e.row_id: e.changes for e in session.scalars(
            select(AuditEntry).where(AuditEntry.username == SYSTEM.username))}
    for table, row in (("customer", person), ("invoice", invoice), ("invoice_line", line)):
        (expected,) = writer._inserted_entries(table, [row])
        assert stored[row["id"]] == expected["changes"], table
        assert audited[row["id"]] == expected["changes"], table
    assert stored[line["id"]]["quantity"] == [None, "-12.5"]
    assert stored[account.id] == {"balance_minor": [0, -1200],
                                  "balance_as_of": [None, NOW.isoformat()]}
    cdb.dispose()
