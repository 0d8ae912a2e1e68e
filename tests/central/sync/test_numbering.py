"""The commit numbering point on PostgreSQL: numbers follow commit order, and a reader after
cursor N always finds a transaction that wrote early but committed late."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select

from app.models import Account, Customer, SyncJournalEntry
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import JournalOperation
from central.models import SyncCommit
from central.sync.changes import changes_after
from central.sync.numbering import head, stamp
from kernel.context import UnitOfWork
from tests.central.world import World

pytestmark = pytest.mark.postgres


@pytest.fixture
def pdb(central_pg_url: str) -> Iterator[Database]:
    database = Database(central_pg_url)
    yield database
    database.dispose()


def _journal(connection: object, tx: uuid.UUID, agency: uuid.UUID) -> None:
    connection.execute(insert(SyncJournalEntry).values(  # type: ignore[attr-defined]
        transaction_id=tx, agency_id=agency, table_name="customer", row_id=uuid.uuid4(),
        operation=JournalOperation.UPDATE, base_version=1, new_version=2, changes={},
        schema_version=2))


def test_a_second_writer_waits_for_the_first_commit_and_gets_the_next_number(
        pdb: Database) -> None:
    agency = World(pdb).agency_id
    first, second = uuid.uuid4(), uuid.uuid4()
    got: dict[str, int] = {}
    with pdb.engine.connect() as one:
        _journal(one, first, agency)
        (got["first"],) = stamp(one, [(first, None)])

        def other() -> None:
            with pdb.engine.connect() as two:
                _journal(two, second, agency)
                (got["second"],) = stamp(two, [(second, None)])
                two.commit()

        thread = threading.Thread(target=other)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the second writer must wait for the counter row"
        with pdb.engine.connect() as reader:
            assert head(reader) == got["first"] - 1
        one.commit()
        thread.join(10)
    assert got["second"] == got["first"] + 1
    with pdb.engine.connect() as reader:
        numbers = dict(reader.execute(select(SyncCommit.transaction_id, SyncCommit.no)).all())
    assert numbers[first] < numbers[second]


def test_a_reader_never_skips_a_transaction_that_commits_late(pdb: Database) -> None:
    world = World(pdb)
    early_sub, late_sub = world.subscribe(), world.subscribe()
    with pdb.reading() as session:
        start = head(session.connection())
        customers = [session.get(Account, s.account_id).customer_id  # type: ignore[union-attr]
                     for s in (early_sub, late_sub)]
    early = UnitOfWork(pdb, SYSTEM).__enter__()
    try:
        early.session.get(Customer, customers[0]).notes = "écrit tôt"  # type: ignore[union-attr]
        early.session.flush()
        with UnitOfWork(pdb, SYSTEM) as late:
            late.session.get(Customer, customers[1]).notes = "écrit tard"  # type: ignore[union-attr]
            late.commit()
        with pdb.reading() as session:
            page = changes_after(session.connection(), world.agency_id, start, 100)
        assert [e["changes"]["notes"][1] for c in page["commits"] for e in c["entries"]] == [
            "écrit tard"]
        cursor = page["next"]
        early.commit()
    finally:
        early.__exit__(None, None, None)
    with pdb.reading() as session:
        page = changes_after(session.connection(), world.agency_id, cursor, 100)
        seqs = dict(session.execute(select(SyncJournalEntry.row_id, SyncJournalEntry.seq)
                                    .where(SyncJournalEntry.row_id.in_(customers))).all())
    assert [e["changes"]["notes"][1] for c in page["commits"] for e in c["entries"]] == [
        "écrit tôt"]
    assert seqs[customers[0]] < seqs[customers[1]], "the early writer has the lower sequence"
