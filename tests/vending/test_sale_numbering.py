"""The end of a sale on PostgreSQL: the commit number and the receipt number taken in one
statement sent with the COMMIT. Concurrent sales keep both series gap-free and in the same
order, a sale that touches an account (arrears) is still one transaction, and a sale whose
last statement fails leaves nothing behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models import Account, AuditEntry, SyncJournalEntry, VendTransaction
from app.models.database import Database
from central.models import SmsMessage, SyncCommit, VendingMeter, VendingRequest
from central.vending import selling
from central.vending.platform import Platform
from central.vending.sale_writer import Written

from .world import DRN_A, DRN_B, DRN_C, VendingWorld

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_world(central_pg_url: str) -> Iterator[VendingWorld]:
    db = Database(central_pg_url)
    yield VendingWorld(db)
    db.dispose()


def test_concurrent_sales_number_commits_and_receipts_without_gaps(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator()
    platforms = [world.platform(sms_enabled=True), world.platform(sms_enabled=True)]
    barrier = threading.Barrier(4)
    receipts: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sell(index: int) -> None:
        barrier.wait()
        try:
            for n in range(4):
                meter = (DRN_A, DRN_B, DRN_C)[(index + n) % 3]
                sale, _ = platforms[index % 2].purchase(
                    moov, reference=f"T{index}-{n}", meter=meter, amount_minor=3000,
                    phone="0701020304")
                with lock:
                    receipts.append(sale.receipt)
        except BaseException as error:  # noqa: BLE001 (reported by the assert below)
            errors.append(error)

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(receipts) == [f"RP000-2026-{n:06d}" for n in range(1, 17)]
    with world.db.reading() as session:
        sales = session.execute(select(VendTransaction.id, VendTransaction.receipt_number)
                                .order_by(VendTransaction.receipt_number)).all()
        journal = dict(session.execute(
            select(SyncJournalEntry.row_id, SyncJournalEntry.transaction_id)
            .where(SyncJournalEntry.table_name == "vend_transaction")).all())
        commits = dict(session.execute(select(SyncCommit.transaction_id, SyncCommit.no)).all())
        numbers = sorted(commits.values())
        texts = session.scalars(select(SmsMessage.text)).all()
        entries = [*session.scalars(select(AuditEntry.changes).where(
            AuditEntry.table_name == "vend_transaction")),
            *session.scalars(select(SyncJournalEntry.changes).where(
                SyncJournalEntry.table_name == "vend_transaction"))]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "no gap"
    # Receipt order is commit order: both rows are taken in the same statement.
    by_commit = [commits[journal[sale_id]] for sale_id, _receipt in sales]
    assert by_commit == sorted(by_commit)
    assert sorted(t.rsplit(" ", 1)[-1] for t in texts if "Recu" in t) == sorted(receipts)
    assert len(entries) == 32 and all(
        changes["receipt_number"][1] in receipts for changes in entries), "no placeholder left"


def test_a_sale_that_pays_arrears_is_one_transaction(pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator()
    account = world.meters[DRN_B].account_id
    sale, _ = world.platform().purchase(moov, reference="B1", meter=DRN_B,
                                        amount_minor=10_000, phone="0701020304")
    assert sale.arrears_minor == 2000 and sale.receipt == "RP000-2026-000001"
    with world.db.reading() as session:
        found = session.get(Account, account)
        assert found is not None and found.balance_minor == 3000
        stored = session.get(VendTransaction, sale.id)
        assert stored is not None and stored.receipt_number == sale.receipt
        tx = session.scalar(select(SyncJournalEntry.transaction_id).where(
            SyncJournalEntry.row_id == sale.id))
        assert session.scalar(select(SyncCommit.no).where(SyncCommit.transaction_id == tx))


def test_a_failed_last_statement_leaves_nothing(pg_world: VendingWorld,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = pg_world
    moov, _ = world.operator()
    platform = world.platform()
    platform.writer._write_many = None  # the sale written alone: numbered at the commit
    original = Platform._number_and_commit

    def broken(self: Platform, session: Session, sales: list[Written], *args: Any) -> list[str]:
        # The sale's journal entry gone: the last statement finds no entry to number and
        # fails with the COMMIT sent after it (nothing committed, no receipt number taken).
        session.flush()
        session.execute(delete(SyncJournalEntry).where(
            SyncJournalEntry.row_id == sales[0].vend_id))
        return original(self, session, sales, *args)

    models = (VendTransaction, VendingRequest, SyncCommit, SyncJournalEntry, AuditEntry,
              VendingMeter)

    def counts() -> list[int]:
        with world.db.reading() as session:
            return [session.scalar(select(func.count()).select_from(m)) or 0 for m in models]

    before = counts()
    monkeypatch.setattr(Platform, "_number_and_commit", broken)
    with pytest.raises(DBAPIError, match="division by zero"):
        platform.purchase(moov, reference="X1", meter=DRN_A, amount_minor=2000,
                          phone="0701020304")
    monkeypatch.setattr(Platform, "_number_and_commit", original)
    assert counts() == before
    sale, replayed = platform.purchase(moov, reference="X1", meter=DRN_A, amount_minor=2000,
                                       phone="0701020304")
    assert not replayed and sale.receipt == "RP000-2026-000001", "no number lost"


def test_a_batch_numbered_before_its_writes_loses_no_number_if_its_commit_fails(
        pg_world: VendingWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of plain sales takes its receipts before writing its rows: if anything after
    fails (here its SMS, written with the COMMIT), nothing is committed and no number lost."""
    world = pg_world
    moov, _ = world.operator()
    platform = world.platform(sms_enabled=True)
    models = (VendTransaction, VendingRequest, SyncCommit, SyncJournalEntry, AuditEntry,
              VendingMeter, SmsMessage)

    def counts() -> list[int]:
        with world.db.reading() as session:
            return [session.scalar(select(func.count()).select_from(m)) or 0 for m in models]

    before = counts()
    monkeypatch.setattr(selling, "_OUTBOX_ROWS", selling._OUTBOX_ROWS.replace(
        "'queued', 0", "'queued', 1 / 0"))
    with pytest.raises(DBAPIError, match="division by zero"):
        platform.purchase(moov, reference="X1", meter=DRN_A, amount_minor=2000,
                          phone="0701020304")
    assert platform.writer.together == 0
    monkeypatch.undo()
    assert counts() == before
    sale, replayed = platform.purchase(moov, reference="X1", meter=DRN_A, amount_minor=2000,
                                       phone="0701020304")
    assert not replayed and sale.receipt == "RP000-2026-000001", "no number lost"
    assert platform.writer.together == 1
    with world.db.reading() as session:
        stored = session.get(VendTransaction, sale.id)
        assert stored is not None and stored.receipt_number == sale.receipt
        texts = list(session.scalars(select(SmsMessage.text)))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.row_id == sale.id)).one()
    assert texts and all(sale.receipt in t for t in texts)
    assert entry.changes["receipt_number"] == [None, sale.receipt]
