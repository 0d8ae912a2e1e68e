"""Meter records from central's database: every installed prepaid meter with an STS identity."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Meter
from app.models.database import Database
from app.models.enums import MeterPayment, MeterStatus

from .fleet import MeterRecord


def prepaid_meter_records(db: Database) -> list[MeterRecord]:
    query = (
        select(Meter.sts_drn, Meter.sts_iin, Meter.sts_sgc, Meter.sts_tariff_index,
               Meter.sts_key_revision, Meter.sts_key_type, Meter.sts_key_expiry,
               Meter.sts_algorithm, Meter.sts_dkga, Meter.sts_base_date)
        .where(Meter.payment == MeterPayment.PREPAID, Meter.sts_drn.is_not(None),
               Meter.status != MeterStatus.REMOVED)
        .order_by(Meter.sts_drn)
    )
    with db.reading() as session:
        rows = session.execute(query).all()
    return [
        MeterRecord(
            drn=str(drn), iin=iin, sgc=sgc or 0, ti=ti or 0, krn=krn or 1,
            kt=2 if kt is None else kt, ken=0xFF if ken is None else ken,
            ea=int(ea or 7), dkga=int(dkga or 2), base_date=base or 1993,
        )
        for drn, iin, sgc, ti, krn, kt, ken, ea, dkga, base in rows
    ]
