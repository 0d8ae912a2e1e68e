"""A busy connection pool is a wait for billing, never a failed run (finding 8): every
connection of a tiny pool held by someone else while billing starts; billing waits, then
completes, and the run ledger says completed."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.models.database import Database
from central.billing.engine import BillingEngine
from central.models import BillingRun, RunStatus
from tests.central.test_billing_runs import ISSUED, NOV, read_november
from tests.conftest import make_demo


def test_billing_waits_for_a_busy_pool_and_completes(central_pg_url: str) -> None:
    setup = Database(central_pg_url)
    try:
        make_demo(setup, customers=40)
        read_november(setup)
    finally:
        setup.dispose()
    busy = Database(central_pg_url, pool_size=2, max_overflow=0, pool_timeout=0.2)
    try:
        held = [busy.engine.connect(), busy.engine.connect()]  # the pool is dry
        released = threading.Event()

        def release() -> None:
            for connection in held:
                connection.close()
            released.set()

        timer = threading.Timer(2.0, release)
        timer.start()
        try:
            from kernel.money import Currency

            report = BillingEngine(busy, Currency.of("XOF"), chunk_size=16, workers=2).run(
                NOV, ISSUED)
        finally:
            timer.cancel()
            if not released.is_set():
                release()
        assert released.is_set(), "billing could only have started once connections were free"
        assert report.invoices > 0
        with busy.reading() as session:
            runs = list(session.scalars(select(BillingRun.status)))
        assert runs == [RunStatus.COMPLETED]
    finally:
        busy.dispose()
