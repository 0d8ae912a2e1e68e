"""Billing runs over the demo agency: dry run, numbering, journal and audit of every row,
balances, restart after a failure, one agency at a time. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.models import (
    Account,
    AuditEntry,
    Contract,
    Invoice,
    InvoiceLine,
    Meter,
    MeterReading,
    NumberSeries,
    Payment,
    SyncJournalEntry,
    Tariff,
)
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import JournalOperation, MeterPayment, ReadingSource
from central.billing.engine import BillingEngine
from central.billing.period import Period
from central.models import BillingRun, RunStatus
from kernel.context import UnitOfWork
from kernel.errors import NotFoundError
from kernel.money import Currency
from tests.central.world import World
from tests.conftest import make_demo

NOV = Period.parse("2026-11")
ISSUED = date(2026, 12, 5)


def read_november(db: Database, share: float = 0.9) -> int:
    """A real reading on 30 November for most postpaid meters; returns how many were read."""
    rng = random.Random(7)
    count = 0
    with UnitOfWork(db, SYSTEM) as uow:
        s = uow.session
        last = (
            select(MeterReading.meter_id, func.max(MeterReading.index_value))
            .join(Meter, Meter.id == MeterReading.meter_id)
            .where(Meter.payment == MeterPayment.POSTPAID,
                   MeterReading.reading_date == date(2026, 10, 31))
            .group_by(MeterReading.meter_id).order_by(MeterReading.meter_id)
        )
        for meter_id, index in s.execute(last).all():
            if rng.random() > share:
                continue
            meter = s.get(Meter, meter_id)
            assert meter is not None
            s.add(MeterReading(agency_id=meter.agency_id, meter_id=meter_id,
                               reading_date=date(2026, 11, 30),
                               read_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
                               index_value=(index + rng.randrange(40)) % 10**meter.digits))
            count += 1
        uow.commit()
    return count


def billable(db: Database) -> int:
    with db.reading() as session:
        return int(session.scalar(
            select(func.count()).select_from(Contract).join(Tariff, Tariff.id == Contract.tariff_id)
            .where(Tariff.payment == MeterPayment.POSTPAID)
        ) or 0)


def count(db: Database, model: type, *where: object) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def engine(db: Database, chunk_size: int = 64) -> BillingEngine:
    return BillingEngine(db, Currency.of("XOF"), chunk_size=chunk_size)


@pytest.fixture
def demo(cdb: Database) -> Database:
    make_demo(cdb, customers=120)
    read_november(cdb)
    return cdb


def test_dry_run_writes_nothing_and_announces_the_real_run(demo: Database) -> None:
    before = (count(demo, Invoice), count(demo, SyncJournalEntry), count(demo, MeterReading))
    with demo.reading() as session:
        series = session.scalar(select(func.sum(NumberSeries.last_value)))
    dry = engine(demo).run(NOV, ISSUED, dry_run=True)
    assert dry.invoices == billable(demo) > 100 and dry.first_number is None
    assert (count(demo, Invoice), count(demo, SyncJournalEntry), count(demo, MeterReading)) == before
    with demo.reading() as session:
        assert session.scalar(select(func.sum(NumberSeries.last_value))) == series
    real = engine(demo).run(NOV, ISSUED)
    assert (real.invoices, real.estimated, real.total_minor, real.vat_minor) == (
        dry.invoices, dry.estimated, dry.total_minor, dry.vat_minor)
    assert 0 < real.estimated < real.invoices


def test_numbers_continue_the_central_series_without_gaps(demo: Database) -> None:
    with demo.reading() as session:
        last = session.scalar(select(NumberSeries.last_value).where(
            NumberSeries.series == "consumption_invoice", NumberSeries.year == 2026))
    report = engine(demo).run(NOV, ISSUED)
    with demo.reading() as session:
        numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.period == "2026-11")))
    counters = [int(n.split("-")[1]) for n in numbers]
    assert numbers[0].startswith("FC2026-")
    assert counters == list(range(last + 1, last + 1 + report.invoices))
    assert (report.first_number, report.last_number) == (numbers[0], numbers[-1])


def test_every_row_written_is_journaled_and_audited(demo: Database) -> None:
    with demo.reading() as session:
        seen = session.scalar(select(func.max(SyncJournalEntry.seq))) or 0
        audited = set(session.scalars(select(AuditEntry.id)))
    report = engine(demo).run(NOV, ISSUED)
    with demo.reading() as session:
        invoices = set(session.scalars(select(Invoice.id).where(Invoice.period == "2026-11")))
        lines = set(session.scalars(select(InvoiceLine.id).where(InvoiceLine.invoice_id.in_(invoices))))
        estimates = set(session.scalars(select(MeterReading.id).where(
            MeterReading.source == ReadingSource.ESTIMATE)))
        journal = session.scalars(select(SyncJournalEntry).where(SyncJournalEntry.seq > seen)).all()
        audits = [a for a in session.scalars(select(AuditEntry)) if a.id not in audited]
        contract = session.scalars(select(Contract).where(Contract.billed_until == NOV.end)).first()
    by_table: dict[tuple[str, str], set[object]] = {}
    for entry in journal:
        by_table.setdefault((entry.table_name, entry.operation.value), set()).add(entry.row_id)
    assert by_table[("invoice", "insert")] == invoices
    assert by_table[("invoice_line", "insert")] == lines
    assert by_table[("meter_reading", "insert")] == estimates and len(estimates) == report.estimated
    assert len(by_table[("contract", "update")]) == report.invoices
    assert by_table[("account", "update")]
    update = next(e for e in journal if e.table_name == "contract" and e.row_id == contract.id)
    assert update.changes == {"billed_until": ["2026-10-31", "2026-11-30"]}
    assert (update.base_version, update.new_version) == (1, 2) and contract.version == 2
    insert = next(e for e in journal if e.table_name == "invoice")
    assert insert.operation is JournalOperation.INSERT and insert.base_version == 0
    assert insert.changes["period"] == [None, "2026-11"] and "total_minor" in insert.changes
    line = next(e for e in journal if e.table_name == "invoice_line")
    assert line.changes["vat_rate"][1] in ("0.18", "0.1800")
    # One audit entry per row written, but an invoice's stands for its lines.
    assert sorted((a.table_name, a.row_id) for a in audits) == sorted(
        (e.table_name, e.row_id) for e in journal if e.table_name != "invoice_line")
    assert {a.row_id for a in audits if a.table_name == "invoice"} == invoices
    assert {a.username for a in audits} == {"facturation"}
    assert {a.transaction_id for a in audits} == {e.transaction_id for e in journal}


def test_balances_are_what_was_invoiced_less_what_was_paid(demo: Database) -> None:
    engine(demo).run(NOV, ISSUED)
    with demo.reading() as session:
        invoiced = dict(session.execute(
            select(Invoice.account_id, func.sum(Invoice.total_minor)).group_by(Invoice.account_id)
        ).all())
        paid = dict(session.execute(
            select(Payment.account_id, func.sum(Payment.amount_minor)).group_by(Payment.account_id)
        ).all())
        balances = dict(session.execute(select(Account.id, Account.balance_minor)).all())
    assert invoiced
    for account_id, balance in balances.items():
        assert balance == invoiced.get(account_id, 0) - paid.get(account_id, 0)


def test_a_failed_run_is_restarted_and_finishes_the_rest(demo: Database) -> None:
    def crash_on_third_chunk(chunk: int) -> None:
        if chunk == 3:
            raise RuntimeError("serveur arrêté")

    with pytest.raises(RuntimeError):
        engine(demo, chunk_size=40).run(NOV, ISSUED, fault=crash_on_third_chunk)
    with demo.reading() as session:
        failed = session.scalars(select(BillingRun)).one()
    assert failed.status is RunStatus.FAILED and failed.invoices == 80 and "arrêté" in failed.error
    assert count(demo, Invoice, Invoice.period == "2026-11") == 80, "two chunks committed"
    report = engine(demo, chunk_size=40).run(NOV, ISSUED)
    assert report.resumed_from == failed.id
    assert report.invoices == billable(demo) - 80
    with demo.reading() as session:
        per_contract = session.execute(
            select(Invoice.contract_id, func.count()).where(Invoice.period == "2026-11")
            .group_by(Invoice.contract_id)
        ).all()
        numbers = sorted(session.scalars(select(Invoice.number).where(Invoice.period == "2026-11")))
    assert len(per_contract) == billable(demo) and {n for _, n in per_contract} == {1}
    counters = [int(n.split("-")[1]) for n in numbers]
    assert counters == list(range(counters[0], counters[0] + len(counters))), "no gap"


def test_one_agency_at_a_time(demo: Database) -> None:
    other = World(demo, agency_code="102")
    sub = other.subscribe()
    other.read(sub.meter_id, date(2026, 10, 31), 5)
    other.read(sub.meter_id, date(2026, 11, 30), 9)
    with pytest.raises(NotFoundError):
        engine(demo).run(NOV, ISSUED, agency_code="999")
    only = engine(demo).run(NOV, ISSUED, agency_code="102")
    assert only.invoices == 1 and len(other.invoices(sub.contract_id)) == 1
    rest = engine(demo).run(NOV, ISSUED)
    assert rest.invoices == billable(demo) - 1
