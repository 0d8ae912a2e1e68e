"""The one number counter: agency series (agency code + year + counter) made by the desks,
central's invoice series made by central; unique and without gaps.

A counter is a ``NumberSeries`` row (agency code, series, year) that moves inside the caller's
transaction: if that transaction rolls back, the numbers are given back; if two writers ask at
once, the row lock (PostgreSQL) or the write lock (SQLite) makes the second wait for the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Base, Invoice, NumberSeries
from kernel.errors import BusinessError


def _dialect(bind: Session | Connection) -> str:
    return (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name


def _insert(bind: Session | Connection) -> Any:
    return postgresql.insert if _dialect(bind) == "postgresql" else sqlite.insert


def advance(
    bind: Session | Connection, agency_code: str, series: str, year: int, count: int = 1
) -> int:
    """Takes ``count`` numbers of a counter and returns the last one taken."""
    bind.execute(
        _insert(bind)(NumberSeries)
        .values(agency_code=agency_code, series=series, year=year, last_value=0)
        .on_conflict_do_nothing()
    )
    value = bind.execute(
        update(NumberSeries)
        .where(
            NumberSeries.agency_code == agency_code,
            NumberSeries.series == series,
            NumberSeries.year == year,
        )
        .values(last_value=NumberSeries.last_value + count)
        .returning(NumberSeries.last_value)
    ).scalar_one()
    return int(value)


def raise_to(
    bind: Session | Connection, agency_code: str, series: str, year: int, counter: int
) -> None:
    """Moves a counter up to ``counter`` if it stands below (never down)."""
    greatest = func.max if _dialect(bind) == "sqlite" else func.greatest
    statement = _insert(bind)(NumberSeries).values(
        agency_code=agency_code, series=series, year=year, last_value=counter)
    bind.execute(statement.on_conflict_do_update(
        index_elements=["agency_code", "series", "year"],
        set_={"last_value": greatest(NumberSeries.last_value, statement.excluded.last_value)}))


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


#: The vending platform's one receipt series (every operator, every agency): its receipts read
#: ``RP000-2026-000001``.
VEND_RECEIPT_CODE = "000"


def next_counter(session: Session, agency_code: str, series: Series, year: int) -> int:
    return advance(session, agency_code, series.value, year)


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
    moved: dict[tuple[str, int], int] = {}
    for series in Series:
        for year, counter in highest_held(session, agency_code, series).items():
            raise_to(session, agency_code, series.value, year, counter)
            moved[series.value, year] = counter
    return moved


# Central's invoice series. Consumption invoices keep the series the desks' demo data starts
# (``FC{year}-{counter:08d}``, agency code "000"); credit notes have their own. Numbers are
# reserved by blocks inside the transaction that uses them.

CENTRAL_CODE = "000"


class CentralSeries(StrEnum):
    CONSUMPTION_INVOICE = "consumption_invoice"
    CREDIT_NOTE = "credit_note"


CENTRAL_PREFIX = {CentralSeries.CONSUMPTION_INVOICE: "FC", CentralSeries.CREDIT_NOTE: "AV"}


def reserve(connection: Connection, series: CentralSeries, year: int, count: int) -> int:
    """Reserves ``count`` numbers and returns the first counter of the block."""
    return advance(connection, CENTRAL_CODE, series.value, year, count) - count + 1


def format_central_number(series: CentralSeries, year: int, counter: int) -> str:
    return f"{CENTRAL_PREFIX[series]}{year}-{counter:08d}"


def parse_central_number(number: str) -> tuple[CentralSeries, int, int] | None:
    """(series, year, counter) of a number in one of central's series; None for any other."""
    for series, prefix in CENTRAL_PREFIX.items():
        if number.startswith(prefix):
            year, dash, counter = number[len(prefix):].partition("-")
            if dash and year.isdigit() and len(counter) == 8 and counter.isdigit():
                return series, int(year), int(counter)
    return None


def cover_central(connection: Connection, numbers: Iterable[str]) -> dict[tuple[str, int], int]:
    """Moves central's series past numbers issued elsewhere in them (the history an agency
    brings when it is adopted, the numbers a desk holds that a restored central forgot), so the
    next invoice central numbers does not take one of them. Returns the counters moved past,
    ``{(series, year): counter}``, of those above where the series stood."""
    before = {(row.series, int(row.year)): int(row.last_value) for row in connection.execute(
        select(NumberSeries.series, NumberSeries.year, NumberSeries.last_value)
        .where(NumberSeries.agency_code == CENTRAL_CODE))}
    highest: dict[tuple[CentralSeries, int], int] = {}
    for number in numbers:
        parsed = parse_central_number(number)
        if parsed is not None:
            series, year, counter = parsed
            highest[series, year] = max(highest.get((series, year), 0), counter)
    for (series, year), counter in highest.items():
        raise_to(connection, CENTRAL_CODE, series.value, year, counter)
    return {(series.value, year): counter for (series, year), counter in highest.items()
            if counter > before.get((series.value, year), 0)}


def last_issue(connection: Connection, series: CentralSeries, year: int) -> tuple[str, date] | None:
    """(number, issue date) of the highest number issued in a series (one index step)."""
    inv = Invoice.__table__.c
    row = connection.execute(
        select(inv.number, inv.issued_on)
        .where(inv.number >= format_central_number(series, year, 0),
               inv.number <= format_central_number(series, year, 99_999_999))
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
    previous = format_central_number(series, year, first - 1)
    day = connection.execute(select(inv.issued_on).where(inv.number == previous)).scalar()
    if day is not None and day > issued_on:
        raise BusinessError(
            f"Date d'émission {issued_on.isoformat()} antérieure à celle de {previous} "
            f"({day.isoformat()}) : dans une série, numéros et dates d'émission croissent "
            "ensemble."
        )
