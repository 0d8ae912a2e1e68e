"""The payer's daily maximum with an operator holds under concurrency (PostgreSQL): sales of
one paying phone written at the same moment by the batches of two server processes are checked
one batch after the other (the payer's advisory lock), so the sum never exceeds the limit; the
refused sales leave nothing behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AuditEntry, SyncJournalEntry, VendTransaction
from app.models.database import Database
from central.models import HesDelivery, SmsMessage, VendingRequest
from central.vending.errors import VendingError
from central.vending.operators import OperatorInfo
from central.vending.platform import Platform
from central.vending.sale_writer import Written

from .world import DRN_A, DRN_B, DRN_C, VendingWorld

pytestmark = pytest.mark.postgres
PHONE = "0701020304"
REFUSAL = "Plafond journalier atteint pour ce numéro : reste "


@pytest.fixture
def pg_world(central_pg_url: str) -> Iterator[VendingWorld]:
    db = Database(central_pg_url)
    yield VendingWorld(db)
    db.dispose()


def sell(platform: Platform, moov: OperatorInfo, reference: str, meter: str,
         amount: int, answers: dict[str, object]) -> None:
    try:
        sale, _replayed = platform.purchase(moov, reference=reference, meter=meter,
                                            amount_minor=amount, phone=PHONE)
        answers[reference] = sale
    except VendingError as error:
        answers[reference] = error


def written_for_the_payer(db: Database) -> dict[str, object]:
    """Everything a sale writes, counted: sales (and their amount), references, audit and
    journal entries of the sales, HES deliveries, sales with SMS."""
    with db.reading() as session:
        def count(model: type, *where: object) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        return {
            "sales": count(VendTransaction, VendTransaction.phone == PHONE),
            "amount": session.scalar(select(func.sum(VendTransaction.amount_minor)).where(
                VendTransaction.phone == PHONE)) or 0,
            "references": count(VendingRequest),
            "audit": count(AuditEntry, AuditEntry.table_name == "vend_transaction"),
            "journal": count(SyncJournalEntry,
                             SyncJournalEntry.table_name == "vend_transaction"),
            "hes": count(HesDelivery),
            "sms": session.scalar(select(func.count(SmsMessage.vend_id.distinct()))) or 0,
        }


def test_concurrent_sales_of_one_payer_in_two_processes_stay_within_the_daily_limit(
        pg_world: VendingWorld) -> None:
    world = pg_world
    moov, _ = world.operator(max_amount_minor=5000, max_payer_day_minor=5000)
    processes = [world.platform(sms_enabled=True, hes_enabled=True) for _ in range(2)]
    count = 10
    barrier = threading.Barrier(count)
    answers: dict[str, object] = {}

    def one(index: int) -> None:
        barrier.wait()
        sell(processes[index % 2], moov, f"P{index}", (DRN_A, DRN_B, DRN_C)[index % 3],
             2000, answers)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    refusals = [a for a in answers.values() if isinstance(a, VendingError)]
    sold = [a for a in answers.values() if not isinstance(a, VendingError)]
    assert len(answers) == count
    assert len(sold) == 2, "5,000 a day: two sales of 2,000, never three"
    assert {(e.code, e.status) for e in refusals} == {("daily_limit_exceeded", 422)}
    assert {e.message for e in refusals} == {
        REFUSAL + world.currency.format_minor(1000) + " aujourd'hui."}
    assert written_for_the_payer(world.db) == {
        "sales": 2, "amount": 4000, "references": 2, "audit": 2, "journal": 2, "hes": 2,
        "sms": 2}


def test_a_payers_sale_waits_for_the_other_processes_batch_and_sees_it(
        pg_world: VendingWorld) -> None:
    """Process 1's batch has written the payer's first sale and not committed yet when process
    2 sells to the same payer: process 2 waits for the payer's lock, then sees the first sale
    committed and refuses the second (without the lock, both passed the check)."""
    world = pg_world
    moov, _ = world.operator(max_amount_minor=5000, max_payer_day_minor=5000)
    first, second = world.platform(sms_enabled=True), world.platform(sms_enabled=True)
    answers: dict[str, object] = {}
    second_done = threading.Event()
    commit = first._number_and_commit

    def waiting_for_the_second(session: Session, sales: Sequence[Written],
                               now: datetime) -> list[str]:
        started.set()
        while not second_done.is_set() and not second_waits_for_a_payer():
            second_done.wait(0.05)
        return commit(session, sales, now)

    def second_waits_for_a_payer() -> bool:
        with world.db.reading() as session:
            return bool(session.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database())")))

    started = threading.Event()
    first._number_and_commit = waiting_for_the_second  # type: ignore[method-assign]
    one = threading.Thread(target=sell, args=(first, moov, "F1", DRN_A, 3000, answers))
    one.start()
    assert started.wait(60)

    def then_second() -> None:
        sell(second, moov, "F2", DRN_B, 3000, answers)
        second_done.set()

    two = threading.Thread(target=then_second)
    two.start()
    one.join()
    two.join()

    assert not isinstance(answers["F1"], VendingError)
    refusal = answers["F2"]
    assert isinstance(refusal, VendingError) and refusal.code == "daily_limit_exceeded"
    assert refusal.message == REFUSAL + world.currency.format_minor(2000) + " aujourd'hui."
    assert written_for_the_payer(world.db) == {
        "sales": 1, "amount": 3000, "references": 1, "audit": 1, "journal": 1, "hes": 0,
        "sms": 1}
