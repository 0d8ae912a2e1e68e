"""End of an agency's upload (``POST close``): bill what is due for that agency, the previous
month, once per agency and period, with the billing engine. Works invoices need nothing here:
they are integrated as their batch is applied."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from app.models.database import Database
from central.billing.engine import BillingEngine
from central.billing.period import Period
from central.sync.state import Agency, locked_state, read_state
from kernel.errors import BusinessError
from kernel.money import Currency

_BUSY_WAIT_SECONDS = 2.0
_BUSY_TRIES = 300  # ten minutes: forty agencies closing at once bill one after the other


def previous_period(today: date) -> Period:
    return Period.of(today.replace(day=1) - timedelta(days=1))


def close(db: Database, currency: Currency, agency: Agency, today: date, *,
          chunk_size: int = 2000, payment_terms_days: int = 20) -> dict[str, Any]:
    period = previous_period(today)
    with db.reading() as session:
        state = read_state(session, agency.id)
        done = state is not None and (state.last_billed_period or "") >= period.label
    if done:
        return {"billed": {"period": period.label, "invoices": 0, "credit_notes": 0,
                           "already": True}}
    engine = BillingEngine(db, currency, chunk_size=chunk_size,
                           payment_terms_days=payment_terms_days)
    for attempt in range(_BUSY_TRIES):
        try:
            report = engine.run(period, today, agency_code=agency.code, today=today)
            break
        except BusinessError as error:
            if "déjà en cours" not in error.message or attempt == _BUSY_TRIES - 1:
                raise
            time.sleep(_BUSY_WAIT_SECONDS)
    with db.session() as session, session.begin():
        locked_state(session, agency.id).last_billed_period = period.label
    return {"billed": {"period": period.label, "invoices": report.invoices,
                       "credit_notes": report.credit_notes, "already": False}}
