"""A batch's plain sales written together (PostgreSQL, :mod:`central.vending.batch`): the same
sales, journal and audit entries as one by one, each sale under its own transaction id and
commit number, synchronised to the meter's agency; a sale refused after its reference was
taken frees it and is answered alone; a batch whose common write fails at the database is
written again sale by sale, nothing of the failed attempt left."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from app.models import AuditEntry, SyncJournalEntry, VendTransaction
from app.models.database import Database
from app.models.enums import MeterPayment, VendChannel
from central.models import SyncCommit, VendingMeter, VendingRequest
from central.vending import batch
from central.vending.batch import BatchSelling
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.platform import DeskSeller, Platform, _digest
from central.vending.sale_writer import Order

from .world import DRN_A, DRN_B, DRN_C, DRN_OLD, VendingWorld

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_world(central_pg_url: str) -> Iterator[VendingWorld]:
    db = Database(central_pg_url)
    yield VendingWorld(db)
    db.dispose()


def order(operator: OperatorInfo, reference: str, meter: str, amount: int = 2000,
          phone: str = "0701020304", desk: DeskSeller | None = None) -> Order:
    channel = VendChannel.COUNTER if desk else VendChannel.USSD
    return Order(operator, reference, meter, amount, phone, channel,
                 _digest(meter, amount, phone, channel.value), desk)


def outcome(given: Order) -> str:
    assert given.done.is_set()
    if given.error is not None:
        return f"refused {getattr(given.error, 'code', type(given.error).__name__)}"
    assert given.sale is not None
    return given.sale.receipt + (" (replayed)" if given.replayed else "")


def entries(db: Database, table: type[Any]) -> dict[uuid.UUID, Any]:
    with db.reading() as session:
        return {e.row_id: e for e in session.scalars(
            select(table).where(table.table_name == "vend_transaction"))}


def test_sales_written_together_are_journaled_like_a_sale_written_alone(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000)
    desk = DeskSeller(world.agency_id, "101", "guichetier")
    counter = OperatorInfo(desk.agency_id, "", "agence 101", 1, 10**15, 10**15, False)
    together = world.platform(sms_enabled=True, hes_enabled=True)
    batch = [order(moov, "T1", DRN_A), order(counter, "T2", DRN_C, 3000, desk=desk)]
    together.writer._write_batch(batch)
    assert [outcome(o) for o in batch] == ["RP000-2026-000001", "RP000-2026-000002"]
    assert together.writer.together == 2
    alone = world.platform(sms_enabled=True, hes_enabled=True)
    alone.writer._write_many = None
    single = [order(moov, "A1", DRN_A, 2500)]
    alone.writer._write_batch(single)
    assert outcome(single[0]) == "RP000-2026-000003" and alone.writer.together == 0

    journal, audit = entries(world.db, SyncJournalEntry), entries(world.db, AuditEntry)
    with world.db.reading() as session:
        sales = {s.operator_reference: s for s in session.scalars(select(VendTransaction))}
        commits = {tx: no for tx, no in session.execute(
            select(SyncCommit.transaction_id, SyncCommit.no))}
        states = {s.meter_id: s for s in session.scalars(select(VendingMeter))}
    assert set(journal) == set(audit) == {s.id for s in sales.values()}
    written_alone = journal[sales["A1"].id].changes
    for reference in ("T1", "T2", "A1"):
        sale = sales[reference]
        entry, audited = journal[sale.id], audit[sale.id]
        # The capture's content: every column but the bookkeeping, the receipt numbered.
        assert set(entry.changes) == set(written_alone)
        assert entry.changes["receipt_number"] == [None, sale.receipt_number]
        assert entry.changes["token"] == [None, sale.token]
        assert entry.changes["energy"] == [None, str(sale.energy)]
        assert entry.changes["sold_at"] == [None, sale.sold_at.isoformat()]
        assert entry.changes["channel"] == [None, sale.channel.value]
        assert audited.changes == entry.changes
        # Synchronised to the meter's agency, under the sale's own numbered transaction.
        assert entry.agency_id == audited.agency_id == sale.agency_id == world.agency_id
        assert entry.transaction_id == audited.transaction_id
        assert (entry.operation.value, entry.base_version, entry.new_version) == ("insert", 0, 1)
    assert audit[sales["T2"].id].username == "guichetier"
    assert audit[sales["T1"].id].username == "opérateur moov"
    numbers = sorted(commits[journal[s.id].transaction_id] for s in sales.values())
    assert numbers == list(range(numbers[0], numbers[0] + 3))
    # DRN_C held the 1993 base date: key change tokens first, its new key kept.
    assert sales["T2"].key_change_tokens and states[sales["T2"].meter_id].base_date == 2014
    assert states[sales["A1"].meter_id].last_tid == sales["A1"].token_tid
    assert (sales["A1"].token_tid or 0) > (sales["T1"].token_tid or 0) > 0


def test_a_sale_refused_after_its_reference_was_taken_frees_it(
        pg_world: VendingWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000)
    platform = world.platform()
    original = BatchSelling._price_and_issue

    def refusing(self: BatchSelling, item: Any, *args: Any) -> Any:
        if item.order.reference == "LATE":
            raise refused("token_unavailable", "HES en panne.", 503)
        return original(self, item, *args)

    monkeypatch.setattr(BatchSelling, "_price_and_issue", refusing)
    written_alone: list[str] = []
    write_sale = Platform._write_sale

    def noted(self: Platform, session: Session, given: Order, now: datetime) -> Any:
        written_alone.append(given.reference)
        return write_sale(self, session, given, now)

    monkeypatch.setattr(Platform, "_write_sale", noted)
    batch = [order(moov, "R1", DRN_A), order(moov, "LATE", DRN_C), order(moov, "R2", DRN_A),
             order(moov, "OLD", DRN_OLD), order(moov, "R1", DRN_A)]
    platform.writer._write_batch(batch)
    # LATE: refused together, then written alone (the refusal was the batch's only).
    assert [outcome(o) for o in batch] == [
        "RP000-2026-000001", "RP000-2026-000003", "RP000-2026-000002",
        "refused meter_retired", "RP000-2026-000001 (replayed)"]
    assert written_alone == ["LATE", "OLD", "R1"]
    assert platform.writer.together == 2 and platform.writer.sales == 3
    with world.db.reading() as session:
        assert set(session.scalars(select(VendingRequest.reference))) == {"R1", "R2", "LATE"}


def test_a_batch_whose_common_write_fails_is_written_sale_by_sale(
        pg_world: VendingWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000)
    platform = world.platform(sms_enabled=True)
    original = BatchSelling._write

    def failing(self: BatchSelling, session: Session, *args: Any) -> Any:
        written = original(self, session, *args)
        session.execute(sql_text("SELECT 1 / 0"))  # the database refuses, after the writes
        return written

    monkeypatch.setattr(BatchSelling, "_write", failing)
    batch = [order(moov, "F1", DRN_A), order(moov, "F2", DRN_C), order(moov, "F3", DRN_A)]
    platform.writer._write_batch(batch)
    assert [outcome(o) for o in batch] == [
        "RP000-2026-000001", "RP000-2026-000002", "RP000-2026-000003"]
    assert platform.writer.together == 0 and platform.writer.sales == 3
    journal, audit = entries(world.db, SyncJournalEntry), entries(world.db, AuditEntry)
    with world.db.reading() as session:
        sales = list(session.scalars(select(VendTransaction)))
        tids = [s.token_tid for s in sorted(sales, key=lambda s: s.receipt_number)
                if s.meter_id == world.meters[DRN_A].meter_id]
    assert len(sales) == 3 and set(journal) == set(audit) == {s.id for s in sales}
    assert tids[0] is not None and tids[1] is not None and tids[1] > tids[0]


def test_an_operator_revoked_before_the_batch_sells_nothing_in_it(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000)
    platform = world.platform()
    with world.db.session() as session, session.begin():
        session.execute(sql_text("UPDATE vending_operator SET revoked_at = now()"))
    batch = [order(moov, "X1", DRN_A), order(moov, "X2", DRN_B)]
    platform.writer._write_batch(batch)
    assert [outcome(o) for o in batch] == ["refused unauthorized", "refused unauthorized"]
    assert platform.writer.sales == 0


def test_a_meters_second_sale_in_the_batch_continues_its_tids_and_month(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000, max_payer_day_minor=10**9)
    platform = world.platform()
    batch = [order(moov, f"M{n}", DRN_A, 5000) for n in range(4)]
    platform.writer._write_batch(batch)
    sales = [o.sale for o in batch]
    assert all(s is not None for s in sales) and platform.writer.together == 4
    tids = [s.token_tid or 0 for s in sales if s is not None]
    assert tids == sorted(tids) and len(set(tids)) == 4
    assert [s.fixed_charge_minor for s in sales if s is not None] == [500, 0, 0, 0]
    # The month's energy moves up the bands, sale after sale: the last gets the least.
    energies = [s.energy for s in sales if s is not None]
    assert energies[3] < energies[2] < energies[1]


def test_a_later_batch_counts_the_meters_month_and_the_payers_day_already_sold(
        pg_world: VendingWorld) -> None:
    """The month and the day read in one query: a second batch prices the meter's sale as the
    month's second (no fixed charge, energy as in one batch) and refuses the payer over its
    day's limit, counting the first batch's sales."""
    world = pg_world
    moov, _ = world.operator(max_amount_minor=10_000, max_payer_day_minor=12_000)
    platform = world.platform()
    one = [order(moov, "D1", DRN_A, 5000), order(moov, "D2", DRN_A, 5000)]
    platform.writer._write_batch(one)
    first, second = world.platform(), world.platform()
    first.writer._write_batch(later := [order(moov, "D3", DRN_A, 5000, phone="0709090909")])
    second.writer._write_batch(refused_ := [order(moov, "D4", DRN_C, 3000)])
    sales = [o.sale for o in [*one, *later]]
    assert all(s is not None for s in sales) and first.writer.together == 1
    assert [s.fixed_charge_minor for s in sales if s is not None] == [500, 0, 0]
    assert sales[2] is not None and sales[1] is not None and sales[0] is not None
    assert sales[2].energy < sales[1].energy < sales[0].energy
    assert outcome(refused_[0]).startswith("refused ") and second.writer.together == 0


def test_the_batch_reads_through_the_driver_what_sqlalchemy_reads(
        pg_world: VendingWorld) -> None:
    """The meters' facts and their months so far, read on the driver with the columns' own
    conversions (enums, scaled decimals, UTC times), are SQLAlchemy's rows."""
    world = pg_world
    moov, _ = world.operator(max_amount_minor=50_000, max_payer_day_minor=10**9)
    platform = world.platform()
    sold = [order(moov, "D1", DRN_A), order(moov, "D2", DRN_B, 3500)]
    platform.writer._write_batch(sold)
    day = platform.clock() - timedelta(hours=1)
    with world.db.session() as session:
        numbers = {"numbers": [DRN_A, DRN_B, DRN_C, DRN_OLD, "0000"]}
        facts = batch._FACTS_BY_DRNS.rows(session, numbers)
        assert sorted(map(tuple, facts), key=str) == sorted(
            map(tuple, session.execute(batch._FACTS_BY_DRNS.statement, numbers).all()), key=str)
        assert len(facts) == 4 and all(isinstance(f.payment, MeterPayment) for f in facts)
        so_far = {"meters": [f.id for f in facts], "month": day, "phones": ["0701020304"],
                  "codes": ["moov"], "day": day, "next_day": day + timedelta(days=2)}
        rows = batch._SO_FAR.rows(session, so_far)
        assert sorted(map(tuple, rows), key=str) == sorted(
            map(tuple, session.execute(batch._SO_FAR.statement, so_far).all()), key=str)
        assert sum(r[2] or 0 for r in rows) == 2 and {r[5] for r in rows} - {None} == {5500}
        assert {r[1] for r in rows} - {None} <= {s.sale.energy for s in sold if s.sale}
