"""Central's invoice series, gapless: numbers are reserved by blocks inside the transaction that
uses them (the series row stays locked until it commits; a rollback gives the block back).

Consumption invoices keep the series the desks' demo data starts
(``FC{year}-{counter:08d}``, agency code "000"); credit notes have their own.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Connection, update
from sqlalchemy.dialects import postgresql, sqlite

from app.models import NumberSeries

CENTRAL_CODE = "000"


class CentralSeries(StrEnum):
    CONSUMPTION_INVOICE = "consumption_invoice"
    CREDIT_NOTE = "credit_note"


PREFIX = {CentralSeries.CONSUMPTION_INVOICE: "FC", CentralSeries.CREDIT_NOTE: "AV"}


def reserve(connection: Connection, series: CentralSeries, year: int, count: int) -> int:
    """Reserves ``count`` numbers and returns the first counter of the block."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(NumberSeries)
        .values(agency_code=CENTRAL_CODE, series=series.value, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    last = connection.execute(
        update(NumberSeries)
        .where(
            NumberSeries.agency_code == CENTRAL_CODE,
            NumberSeries.series == series.value,
            NumberSeries.year == year,
        )
        .values(last_value=NumberSeries.last_value + count)
        .returning(NumberSeries.last_value)
    ).scalar_one()
    return int(last) - count + 1


def format_number(series: CentralSeries, year: int, counter: int) -> str:
    return f"{PREFIX[series]}{year}-{counter:08d}"
