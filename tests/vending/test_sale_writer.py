"""The sale writer's group commit (PostgreSQL): several sales in one transaction, one savepoint
and one transaction id each, consecutive receipts and commit numbers taken by one statement
sent with the COMMIT. A failing sale fails alone, receipts stay gap-free under concurrent
requests from two server processes, and a worker killed in the middle of a batch leaves nothing
of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEntry, NumberSeries, SyncJournalEntry, VendTransaction
from app.models.database import Database
from app.models.enums import VendChannel
from central.models import SmsMessage, SyncCommit, VendingRequest
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.platform import Platform, Sale, _digest
from central.vending.sale_writer import Order, Written

from .world import DRN_A, DRN_B, DRN_C, DRN_OLD, VendingWorld

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_world(central_pg_url: str) -> Iterator[VendingWorld]:
    db = Database(central_pg_url)
    yield VendingWorld(db)
    db.dispose()


def order(operator: OperatorInfo, reference: str, meter: str, amount: int = 2000,
          phone: str = "0701020304") -> Order:
    return Order(operator, reference, meter, amount, phone, VendChannel.USSD,
                 _digest(meter, amount, phone, VendChannel.USSD.value), None)


def outcome(given: Order) -> str:
    assert given.done.is_set()
    if given.error is not None:
        return f"refused {getattr(given.error, 'code', type(given.error).__name__)}"
    assert given.sale is not None
    return given.sale.receipt + (" (replayed)" if given.replayed else "")


def counts(db: Database) -> list[int]:
    models = (VendTransaction, VendingRequest, SyncCommit, SyncJournalEntry, AuditEntry,
              SmsMessage)
    with db.reading() as session:
        return [session.scalar(select(func.count()).select_from(m)) or 0 for m in models]


def test_a_failing_sale_in_a_batch_fails_alone(pg_world: VendingWorld,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000)
    platform = world.platform(sms_enabled=True)
    original = Platform._write_sale

    def failing_after_writing(self: Platform, session: Session, given: Order,
                              now: datetime) -> Written | Sale:
        written = original(self, session, given, now)
        if given.reference == "LATE":  # written and flushed, then a failure: its savepoint
            raise refused("token_unavailable", "HES en panne.", 503)
        return written

    monkeypatch.setattr(Platform, "_write_sale", failing_after_writing)
    batch = [order(moov, "R1", DRN_A), order(moov, "UNKNOWN", "47999999999"),
             order(moov, "LATE", DRN_B), order(moov, "R2", DRN_C),
             order(moov, "RETIRED", DRN_OLD), order(moov, "R3", DRN_A, 3000),
             order(moov, "R1", DRN_A), order(moov, "R2", DRN_C, 9999)]
    platform.writer._write_batch(batch)

    assert [outcome(o) for o in batch] == [
        "RP000-2026-000001", "refused meter_unknown", "refused token_unavailable",
        "RP000-2026-000002", "refused meter_retired", "RP000-2026-000003",
        "RP000-2026-000001 (replayed)", "refused reference_reused"]
    assert platform.writer.batches == 1 and platform.writer.sales == 3
    with world.db.reading() as session:
        sales = session.execute(select(VendTransaction.operator_reference,
                                       VendTransaction.receipt_number)
                                .order_by(VendTransaction.receipt_number)).all()
        references = set(session.scalars(select(VendingRequest.reference)))
        entries = [*session.scalars(select(AuditEntry.changes).where(
            AuditEntry.table_name == "vend_transaction")),
            *session.scalars(select(SyncJournalEntry.changes).where(
                SyncJournalEntry.table_name == "vend_transaction"))]
        journal = session.execute(select(SyncJournalEntry.row_id,
                                         SyncJournalEntry.transaction_id)
                                  .where(SyncJournalEntry.table_name == "vend_transaction")).all()
        commits = {tx: no for tx, no in session.execute(
            select(SyncCommit.transaction_id, SyncCommit.no))}
        texts = session.scalars(select(SmsMessage.text)).all()
    assert sales == [("R1", "RP000-2026-000001"), ("R2", "RP000-2026-000002"),
                     ("R3", "RP000-2026-000003")]
    assert references == {"R1", "R2", "R3"}, "a failed sale's reference is free again"
    assert len(entries) == 6 and all(
        c["receipt_number"][1].startswith("RP000-2026-00000") for c in entries)
    # One transaction id, so one commit number, per sale: in receipt order, without a gap.
    numbers = [commits[tx] for _row, tx in journal]
    assert sorted(numbers) == list(range(min(numbers), min(numbers) + 3))
    assert sorted(t.rsplit(" ", 1)[-1] for t in texts if "Recu" in t) == [r for _ref, r in sales]


def test_receipts_stay_gap_free_under_concurrent_requests(pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000, max_payer_day_minor=10**9)
    processes = [world.platform(sms_enabled=True), world.platform(sms_enabled=True)]
    threads_count, per_thread = 8, 6
    barrier = threading.Barrier(threads_count)
    answers: list[tuple[str, str, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sell(index: int) -> None:
        barrier.wait()
        try:
            for n in range(per_thread):
                # Each reference is asked twice at once by two threads of the same process.
                reference = f"C{index // 2}-{n}"
                meter = (DRN_A, DRN_B, DRN_C)[(index + n) % 3] if index % 2 == 0 else \
                    (DRN_A, DRN_B, DRN_C)[(index - 1 + n) % 3]
                sale, replayed = processes[(index // 2) % 2].purchase(
                    moov, reference=reference, meter=meter, amount_minor=2000,
                    phone="0701020304")
                with lock:
                    answers.append((reference, sale.receipt, replayed))
        except BaseException as error:  # noqa: BLE001 (reported by the assert below)
            errors.append(error)

    threads = [threading.Thread(target=sell, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    sold = threads_count // 2 * per_thread
    by_reference: dict[str, set[str]] = {}
    for reference, receipt, _replayed in answers:
        by_reference.setdefault(reference, set()).add(receipt)
    assert all(len(r) == 1 for r in by_reference.values()), "both requests: the same sale"
    assert sum(replayed for *_x, replayed in answers) == sold
    assert sorted(r for (r,) in by_reference.values()) == [
        f"RP000-2026-{n:06d}" for n in range(1, sold + 1)]
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(VendTransaction)) == sold
        assert session.scalar(select(NumberSeries.last_value).where(
            NumberSeries.agency_code == "000")) == sold
        numbers = sorted(session.scalars(select(SyncCommit.no)))
        tokens = session.execute(select(VendTransaction.meter_id, VendTransaction.token_tid,
                                        VendTransaction.receipt_number)
                                 .order_by(VendTransaction.receipt_number)).all()
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    last_tid: dict[Any, int] = {}
    for meter_id, tid, _receipt in tokens:
        assert tid is not None
        assert tid > last_tid.get(meter_id, -1), "a meter's TIDs grow in receipt order"
        last_tid[meter_id] = tid
    assert sum(p.writer.sales for p in processes) == sold


_KILLED_WORKER = """
import os, signal, sys
from zoneinfo import ZoneInfo
from app.models.database import Database
from app.models.enums import VendChannel
from central.sts.vending_keys import VendingKeyRing
from central.vending.hes import TokenMaker
from central.vending.operators import authenticate_operator
from central.vending.platform import Platform, _digest
from central.vending.sale_writer import Order
from kernel.money import Currency

db = Database(sys.argv[1])
operator = authenticate_operator(db, sys.argv[2])
platform = Platform(db, Currency.of("XOF"), ZoneInfo("Africa/Abidjan"),
                    TokenMaker(VendingKeyRing(test_keys=True)), sms_enabled=True)

def killed(session, sales, now):
    session.flush()
    print(len(sales), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

platform._number_and_commit = killed
orders = [Order(operator, f"K{n}", drn, 2000, "0701020304", VendChannel.USSD,
                _digest(drn, 2000, "0701020304", "ussd"), None)
          for n, drn in enumerate(sys.argv[3:])]
platform.writer._write_batch(orders)
"""


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_nothing(
        pg_world: VendingWorld, central_pg_url: str) -> None:
    world = pg_world
    moov, secret = world.operator()
    before = counts(world.db)
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED_WORKER), central_pg_url, secret,
         DRN_A, DRN_B, DRN_C], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.strip() == "3", "killed with its 3 sales written, not committed"
    assert counts(world.db) == before
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(NumberSeries).where(
            NumberSeries.agency_code == "000")) == 0
    sale, replayed = world.platform().purchase(moov, reference="K0", meter=DRN_A,
                                               amount_minor=2000, phone="0701020304")
    assert not replayed and sale.receipt == "RP000-2026-000001", "no number lost"


def test_a_batch_counts_its_own_sales_in_the_payers_day_and_the_meters_month(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=5000, max_payer_day_minor=5000)
    platform = world.platform()
    batch = [order(moov, "D1", DRN_A, 3000), order(moov, "D2", DRN_B, 3000),
             order(moov, "D3", DRN_C, 2000), order(moov, "D4", DRN_A, 2000, "0709080706")]
    platform.writer._write_batch(batch)
    assert [outcome(o) for o in batch] == [
        "RP000-2026-000001", "refused daily_limit_exceeded", "RP000-2026-000002",
        "RP000-2026-000003"]
    first, fourth = batch[0].sale, batch[3].sale
    assert first is not None and fourth is not None
    # The meter's second sale of the month in the same batch: no second fixed charge.
    assert first.fixed_charge_minor == 500 and fourth.fixed_charge_minor == 0
    assert fourth.token_tid is not None and first.token_tid is not None
    assert fourth.token_tid > first.token_tid
