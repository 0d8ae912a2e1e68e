"""Properties of billing: an invoice's total is the sum of its lines (pricing, and every invoice
and credit note the engine writes), and billing a period twice is billing it once."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.models import Account, Contract, Invoice, InvoiceLine, MeterReading, SyncJournalEntry
from app.models.database import Database
from central.billing.tariffs import priced
from kernel.money import Currency
from kernel.pricing import Band, TariffTerms
from tests.central.world import World

prices = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("2000"), places=4)


@st.composite
def tariffs(draw: st.DrawFn) -> TariffTerms:
    widths = draw(st.lists(st.integers(min_value=1, max_value=200), min_size=0, max_size=4))
    bounds = [0]
    for width in widths:
        bounds.append(bounds[-1] + width)
    bands = tuple(
        Band(low, high, draw(prices)) for low, high in zip(bounds, [*bounds[1:], None],
                                                           strict=True)
    )
    return TariffTerms("t", "m³", bands, draw(st.integers(min_value=0, max_value=10**7)),
                       draw(st.sampled_from([Decimal("0"), Decimal("0.18"), Decimal("0.20"),
                                             Decimal("0.055")])))


@given(
    terms=tariffs(),
    units=st.integers(min_value=0, max_value=5000),
    days=st.integers(min_value=1, max_value=90),
    currency=st.sampled_from(["XOF", "EUR"]),
)
def test_priced_total_is_the_sum_of_its_lines(terms: TariffTerms, units: int, days: int,
                                              currency: str) -> None:
    result = priced(terms, units, Fraction(days, 30), Currency.of(currency))
    assert result.total_minor == sum(line.amount_minor for line in result.lines)
    assert result.total_minor == result.total_excl_vat_minor + result.vat_minor
    billed_units = sum(line.quantity for line in result.lines if line.unit != "mois")
    assert billed_units == units


MONTH_ENDS = [date(2026, 11, 30), date(2026, 12, 31), date(2027, 1, 31)]
months = st.lists(
    st.one_of(st.none(), st.integers(min_value=0, max_value=60)), min_size=1, max_size=3
)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(contracts=st.lists(months, min_size=1, max_size=4), data=st.data())
def test_billing_twice_is_billing_once(
    central_sqlite_template: Path, tmp_path_factory: object, contracts: list[list[int | None]],
    data: st.DataObject,
) -> None:
    """Random contracts, each month read (units used) or not (None: estimated): after every
    month is billed, billing it again changes nothing, and every document adds up."""
    folder = tmp_path_factory.mktemp("twice")  # type: ignore[attr-defined]
    path = folder / "central.sqlite3"
    shutil.copy(central_sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        world = World(db)
        history = date(2026, 8, 31)
        for uses in contracts:
            sub = world.subscribe()
            index = data.draw(st.integers(min_value=0, max_value=99_999))
            world.read(sub.meter_id, history, index)
            world.read(sub.meter_id, date(2026, 10, 31), (index := (index + 31) % 10**5))
            for month_end, used in zip(MONTH_ENDS, uses, strict=False):
                if used is not None:
                    index = (index + used) % 10**5
                    world.read(sub.meter_id, month_end, index)
        periods = ["2026-11", "2026-12", "2027-01"][: max(len(u) for u in contracts)]
        for period in periods:
            world.bill(period)
            state = _state(db)
            again = world.bill(period)
            assert again.invoices == 0 and again.credit_notes == 0
            assert _state(db) == state
        _assert_documents_add_up(db)
    finally:
        db.dispose()


def _state(db: Database) -> tuple[object, ...]:
    with db.reading() as session:
        return (
            session.scalar(select(func.count()).select_from(Invoice)),
            session.scalar(select(func.sum(Invoice.total_minor))),
            session.scalar(select(func.count()).select_from(MeterReading)),
            session.scalar(select(func.count()).select_from(SyncJournalEntry)),
            tuple(session.scalars(select(Contract.billed_until).order_by(Contract.id))),
            tuple(session.scalars(select(Account.balance_minor).order_by(Account.id))),
        )


def _assert_documents_add_up(db: Database) -> None:
    with db.reading() as session:
        rows = session.execute(
            select(Invoice.id, Invoice.total_minor, Invoice.vat_minor,
                   func.sum(InvoiceLine.amount_minor), func.sum(InvoiceLine.vat_minor))
            .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
            .group_by(Invoice.id, Invoice.total_minor, Invoice.vat_minor)
        ).all()
        assert rows
        for _id, total, vat, line_total, line_vat in rows:
            assert (total, vat) == (line_total, line_vat)
        negative = session.scalar(select(func.count()).select_from(InvoiceLine).where(
            InvoiceLine.quantity < 0, InvoiceLine.invoice_id.in_(
                select(Invoice.id).where(Invoice.kind != "credit_note"))))
        assert negative == 0, "consumption is never negative"
