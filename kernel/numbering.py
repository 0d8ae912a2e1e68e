"""Per-agency number series: agency code + year + counter, unique and without gaps.

The counter row moves inside the caller's transaction: if that transaction rolls back, the number
is given back; if two desks ask at once, the row lock (PostgreSQL) or the write lock (SQLite) makes
the second wait for the first to finish.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Base, NumberSeries


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


#: Where the numbers of each agency series are kept: (table, column).
HELD_IN: dict[Series, tuple[str, str]] = {
    Series.ACCOUNT: ("account", "number"),
    Series.CONTRACT: ("contract", "number"),
    Series.CONNECTION: ("service_connection", "reference"),
    Series.WORKS_QUOTE: ("works_quote", "number"),
    Series.WORKS_INVOICE: ("invoice", "number"),
    Series.INTERVENTION: ("intervention_request", "number"),
    Series.RECEIPT: ("payment", "receipt_number"),
    Series.VEND_RECEIPT: ("vend_transaction", "receipt_number"),
    Series.LETTER: ("letter", "number"),
}


def highest_held(session: Session, agency_code: str, series: Series) -> dict[int, int]:
    """``{year: highest counter}`` of the numbers of ``series`` present in the database.

    The database groups by year and length and keeps the greatest text (counters are
    zero-padded, so within one length the greatest text is the greatest counter): a few rows
    come back however many numbers there are."""
    table_name, column_name = HELD_IN[series]
    column = Base.metadata.tables[table_name].c[column_name]
    if series is Series.ACCOUNT:  # AAA YY NNNNNNN KK
        prefix, year_at, year_len, counter_at, counter_len = agency_code, 4, 2, 6, 7
    else:  # PPAAA-YYYY-NNNNNN
        prefix = f"{PREFIX[series]}{agency_code}-"
        year_at, year_len, counter_at, counter_len = len(prefix) + 1, 4, len(prefix) + 6, 0
    year = func.substr(column, year_at, year_len)
    rows = session.execute(
        select(year, func.length(column), func.max(column))
        .where(column.like(prefix.replace("_", r"\_") + "%", escape="\\"))
        .group_by(year, func.length(column))
    ).all()
    highest: dict[int, tuple[int, int]] = {}
    for year_text, _length, top in rows:
        counter_text = top[counter_at - 1:counter_at - 1 + counter_len] if counter_len \
            else top[counter_at - 1:]
        if not (year_text.isdigit() and counter_text.isdigit()):
            continue
        found_year = int(year_text) + (2000 if year_len == 2 else 0)
        highest[found_year] = max(highest.get(found_year, (0, 0)), (len(counter_text),
                                                                   int(counter_text)))
    return {found_year: counter for found_year, (_n, counter) in highest.items()}


def cover_held(session: Session, agency_code: str) -> dict[tuple[str, int], int]:
    """Moves every series of the agency past the numbers the database holds (a desk rebuilt
    from central has the rows but not the counters): the next number is never one already
    given. Returns the counters moved, ``{(series, year): counter}``."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    greatest = func.max if session.get_bind().dialect.name == "sqlite" else func.greatest
    moved: dict[tuple[str, int], int] = {}
    for series in Series:
        for year, counter in highest_held(session, agency_code, series).items():
            statement = insert(NumberSeries).values(
                agency_code=agency_code, series=series.value, year=year, last_value=counter)
            session.execute(statement.on_conflict_do_update(
                index_elements=["agency_code", "series", "year"],
                set_={"last_value": greatest(NumberSeries.last_value,
                                             statement.excluded.last_value)}))
            moved[series.value, year] = counter
    return moved
