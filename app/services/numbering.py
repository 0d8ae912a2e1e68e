"""Per-agency number series: agency code + year + counter, unique and without gaps.

The counter row moves inside the caller's transaction: if that transaction rolls back, the number
is given back; if two desks ask at once, the row lock (PostgreSQL) or the write lock (SQLite) makes
the second wait for the first to finish.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import NumberSeries


class Series(StrEnum):
    ACCOUNT = "account"
    CONTRACT = "contract"
    CONNECTION = "connection"
    WORKS_QUOTE = "works_quote"
    WORKS_INVOICE = "works_invoice"
    INTERVENTION = "intervention"
    RECEIPT = "receipt"
    VEND_RECEIPT = "vend_receipt"
    LETTER = "letter"


PREFIX = {
    Series.CONTRACT: "AB",
    Series.CONNECTION: "BR",
    Series.WORKS_QUOTE: "DV",
    Series.WORKS_INVOICE: "FT",
    Series.INTERVENTION: "DI",
    Series.RECEIPT: "RC",
    Series.VEND_RECEIPT: "RP",
    Series.LETTER: "CR",
}


def next_counter(session: Session, agency_code: str, series: Series, year: int) -> int:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(NumberSeries)
        .values(agency_code=agency_code, series=series.value, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    value = session.execute(
        update(NumberSeries)
        .where(
            NumberSeries.agency_code == agency_code,
            NumberSeries.series == series.value,
            NumberSeries.year == year,
        )
        .values(last_value=NumberSeries.last_value + 1)
        .returning(NumberSeries.last_value)
    ).scalar_one()
    return int(value)


def format_number(series: Series, agency_code: str, year: int, counter: int) -> str:
    """``DV101-2026-000042``: prefix and agency, year, counter."""
    return f"{PREFIX[series]}{agency_code}-{year}-{counter:06d}"


def next_number(session: Session, agency_code: str, series: Series, year: int) -> str:
    return format_number(
        series, agency_code, year, next_counter(session, agency_code, series, year)
    )
