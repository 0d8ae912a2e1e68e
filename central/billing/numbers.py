"""Central's invoice series, gapless: numbers are reserved by blocks inside the transaction that
uses them (the series row stays locked until it commits; a rollback gives the block back).

Consumption invoices keep the series the desks' demo data starts
(``FC{year}-{counter:08d}``, agency code "000"); credit notes have their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.models import Invoice, NumberSeries
from kernel.errors import BusinessError

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


def parse_number(number: str) -> tuple[CentralSeries, int, int] | None:
    """(series, year, counter) of a number in one of central's series; None for any other."""
    for series, prefix in PREFIX.items():
        if number.startswith(prefix):
            year, dash, counter = number[len(prefix):].partition("-")
            if dash and year.isdigit() and len(counter) == 8 and counter.isdigit():
                return series, int(year), int(counter)
    return None


def cover(connection: Connection, numbers: Iterable[str]) -> dict[tuple[str, int], int]:
    """Moves central's series past numbers issued elsewhere in them (the history an agency
    brings when it is adopted, the numbers a desk holds that a restored central forgot), so the
    next invoice central numbers does not take one of them. Returns the counters moved past,
    ``{(series, year): counter}``, of those above where the series stood."""
    before = {(row.series, int(row.year)): int(row.last_value) for row in connection.execute(
        select(NumberSeries.series, NumberSeries.year, NumberSeries.last_value)
        .where(NumberSeries.agency_code == CENTRAL_CODE))}
    highest: dict[tuple[CentralSeries, int], int] = {}
    for number in numbers:
        parsed = parse_number(number)
        if parsed is not None:
            series, year, counter = parsed
            highest[series, year] = max(highest.get((series, year), 0), counter)
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for (series, year), counter in highest.items():
        connection.execute(
            insert(NumberSeries)
            .values(agency_code=CENTRAL_CODE, series=series.value, year=year, last_value=counter)
            .on_conflict_do_update(
                index_elements=["agency_code", "series", "year"],
                set_={"last_value": func.max(NumberSeries.last_value, counter)
                      if connection.dialect.name == "sqlite"
                      else func.greatest(NumberSeries.last_value, counter)},
            )
        )
    return {(series.value, year): counter for (series, year), counter in highest.items()
            if counter > before.get((series.value, year), 0)}


def format_number(series: CentralSeries, year: int, counter: int) -> str:
    return f"{PREFIX[series]}{year}-{counter:08d}"


def last_issue(connection: Connection, series: CentralSeries, year: int) -> tuple[str, date] | None:
    """(number, issue date) of the highest number issued in a series (one index step)."""
    inv = Invoice.__table__.c
    row = connection.execute(
        select(inv.number, inv.issued_on)
        .where(inv.number >= format_number(series, year, 0),
               inv.number <= format_number(series, year, 99_999_999))
        .order_by(inv.number.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def check_follows(
    connection: Connection, series: CentralSeries, year: int, first: int, issued_on: date
) -> None:
    """In the transaction that reserved ``first`` (the series row is locked): the number before
    it must not carry a later issue date."""
    if first <= 1:
        return
    inv = Invoice.__table__.c
    previous = format_number(series, year, first - 1)
    day = connection.execute(select(inv.issued_on).where(inv.number == previous)).scalar()
    if day is not None and day > issued_on:
        raise BusinessError(
            f"Date d'émission {issued_on.isoformat()} antérieure à celle de {previous} "
            f"({day.isoformat()}) : dans une série, numéros et dates d'émission croissent "
            "ensemble."
        )
