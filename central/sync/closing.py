"""End of an agency's upload (``POST close``): bill what is due for that agency, the previous
month, once per agency and period, with the billing engine. Works invoices need nothing here:
they are integrated as their batch is applied."""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.models.database import Database
from central.billing.engine import BillingEngine, run_lock_free
from central.billing.period import Period
from central.sync.state import Agency, locked_state, read_state
from kernel.errors import BusinessError
from kernel.money import Currency

#: How long a close queues behind the other agencies' billing runs (one run at a time). The
#: forty agencies of a country close within minutes of one another and are billed one after
#: the other: the last one's turn can come after ten minutes and more on a busy night. Under
#: the desk's own wait for this answer (``app.sync.client.CLOSE_TIMEOUT``, 30 minutes), so
#: the desk hears the refusal rather than a timeout.
TURN_WAIT_SECONDS = 25 * 60.0
#: Between two looks at the run lock: short, so that the next agency starts at once; a look
#: holds no connection while it waits (the billing run in progress needs the pool).
_POLL_SECONDS = 0.5

log = logging.getLogger("central.sync")


def _lock_looks_free(db: Database) -> bool:
    """One try of the billing run lock; a pool too busy to lend a connection is "not yet"."""
    try:
        return run_lock_free(db)
    except PoolTimeout:
        return False


def previous_period(today: date) -> Period:
    return Period.of(today.replace(day=1) - timedelta(days=1))


def close(db: Database, currency: Currency, agency: Agency, today: date, *,
          chunk_size: int = 2000, payment_terms_days: int = 20,
          turn_wait: float = TURN_WAIT_SECONDS) -> dict[str, Any]:
    period = previous_period(today)
    with db.reading() as session:
        state = read_state(session, agency.id)
        done = state is not None and (state.last_billed_period or "") >= period.label
    if done:
        return {"billed": {"period": period.label, "invoices": 0, "credit_notes": 0,
                           "already": True}}
    engine = BillingEngine(db, currency, chunk_size=chunk_size,
                           payment_terms_days=payment_terms_days)
    deadline = time.monotonic() + turn_wait
    waited = False
    while True:
        # While waiting, a look is one try of the lock, not a run's set-up (its tariffs).
        if not waited or _lock_looks_free(db) or time.monotonic() >= deadline:
            try:
                report = engine.run(period, today, agency_code=agency.code, today=today)
                break
            except BusinessError as error:
                if "déjà en cours" not in error.message or time.monotonic() >= deadline:
                    raise
        if not waited:
            log.info("agency %s: billing of %s waits for the run in progress", agency.code,
                     period.label)
            waited = True
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    with db.session() as session, session.begin():
        locked_state(session, agency.id).last_billed_period = period.label
    return {"billed": {"period": period.label, "invoices": report.invoices,
                       "credit_notes": report.credit_notes, "already": False}}
