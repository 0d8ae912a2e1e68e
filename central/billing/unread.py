"""Meters without a real reading for N periods: the list the agencies work through so that no
meter is billed on estimates for ever (``python -m central meters unread``, and the API)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, func, select, type_coerce

from app.models import Account, Agency, Contract, Meter, MeterReading, ServiceConnection
from app.models.database import Database
from app.models.enums import MeterPayment, ReadingSource
from central.billing.period import ONE_DAY, Period
from kernel.errors import ValidationError


@dataclass(frozen=True)
class UnreadMeter:
    agency_code: str
    meter_id: uuid.UUID
    serial: str
    connection_reference: str
    account_number: str | None
    #: Day of its last real (agent or customer) reading; None: never read.
    last_real_reading: date | None
    #: Estimates recorded by billing since that reading.
    estimated_invoices: int


def months_back(today: date, periods: int) -> tuple[date, date]:
    """The first and last day of the ``periods`` complete months before ``today``'s month."""
    current = Period.of(today)
    last = current.start - ONE_DAY
    first = current.start
    for _ in range(periods):
        first = Period.of(first - ONE_DAY).start
    return first, last


def unread_meters(
    db: Database, *, periods: int, today: date, agency_code: str | None = None
) -> list[UnreadMeter]:
    """Postpaid meters in place with no real reading in the ``periods`` complete months before
    ``today``, oldest reading first (never read first)."""
    if not 1 <= periods <= 120:
        raise ValidationError({"periods": "entre 1 et 120"},
                              "Nombre de périodes invalide : entre 1 et 120.")
    first, last = months_back(today, periods)
    m, r, a = Meter.__table__.c, MeterReading.__table__.c, Agency.__table__.c
    real = type_coerce(r.source, String) != ReadingSource.ESTIMATE.value
    read_lately = (
        select(r.meter_id).where(real, r.reading_date >= first, r.reading_date <= last)
    )
    last_real = (
        select(r.meter_id, func.max(r.reading_date).label("day"))
        .where(real, r.reading_date <= last)
        .group_by(r.meter_id)
        .subquery()
    )
    sc, c, acc = ServiceConnection.__table__.c, Contract.__table__.c, Account.__table__.c
    account = (
        select(acc.number)
        .join_from(Contract.__table__, Account.__table__, acc.id == c.account_id)
        .where(c.connection_id == m.connection_id, c.start_date <= last,
               (c.end_date.is_(None)) | (c.end_date >= first))
        .order_by(c.start_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(a.code, m.id, m.serial, sc.reference, account, last_real.c.day)
        .join_from(Meter.__table__, ServiceConnection.__table__, sc.id == m.connection_id)
        .join(Agency.__table__, a.id == m.agency_id)
        .outerjoin(last_real, last_real.c.meter_id == m.id)
        .where(
            m.payment == MeterPayment.POSTPAID,
            m.removed_on.is_(None),
            (m.installed_on.is_(None)) | (m.installed_on <= last),
            m.id.not_in(read_lately),
        )
    )
    if agency_code is not None:
        query = query.where(a.code == agency_code)
    with db.reading() as session:
        rows = session.execute(query).all()
        estimates: dict[uuid.UUID, list[date]] = {}
        ids = [row[1] for row in rows]
        for start in range(0, len(ids), 1000):
            for meter_id, day in session.execute(
                select(r.meter_id, r.reading_date).where(
                    r.meter_id.in_(ids[start:start + 1000]),
                    type_coerce(r.source, String) == ReadingSource.ESTIMATE.value,
                )
            ).all():
                estimates.setdefault(meter_id, []).append(day)
    found = [
        UnreadMeter(code, meter_id, serial, reference, number, day,
                    sum(1 for e in estimates.get(meter_id, []) if day is None or e > day))
        for code, meter_id, serial, reference, number, day in rows
    ]
    found.sort(key=lambda u: (u.last_real_reading or date.min, u.agency_code, u.serial))
    return found
