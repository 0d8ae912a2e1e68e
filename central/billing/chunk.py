"""One chunk of contracts, billed in one transaction: load what they need, plan every bill, then
write invoices, lines, estimate readings, credit notes, contract and account updates with their
audit and journal entries, and the ledger rows, all in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import Connection

from app.models.enums import InvoiceStatus
from app.models.ids import new_id
from central.actors import BILLING
from central.billing import loading
from central.billing.consumption import HISTORY_DAYS, MeterFacts, Reading, measured_average
from central.billing.period import ONE_DAY, Period
from central.billing.plan import (
    BillingState,
    ContractBill,
    ContractFacts,
    Prepared,
    fallback_state,
    finish,
    prepare,
)
from central.billing.rows import (
    LINE_COLUMNS,
    credit_note_rows,
    due_date,
    estimate_reading_row,
    invoice_rows,
    ledger_row,
    totals,
)
from central.billing.tariffs import TariffBook
from central.models import BilledPeriod
from central.writes import BulkWriter, ChangeSet
from kernel.money import Currency
from kernel.numbering import CentralSeries, check_follows, format_central_number, reserve

#: How far before the billing point readings are fetched when central has no record yet.
FALLBACK_LOOKBACK = timedelta(days=45)
INSERT_ORDER = ("meter_reading", "invoice", "invoice_line")


@dataclass(frozen=True)
class BillingSetup:
    """What stays the same for every chunk of a run."""

    period: Period
    issued_on: date
    tariffs: TariffBook
    currency: Currency
    payment_terms_days: int
    run_id: uuid.UUID | None
    reason: str
    #: Average use per day of each (premise category, energy), loaded the first time a chunk
    #: has a never-read meter to estimate (shared by the run's threads).
    categories: loading.CategoryAverages = field(default_factory=loading.CategoryAverages)


@dataclass
class ChunkOutcome:
    contracts: int = 0
    invoices: int = 0
    credit_notes: int = 0
    estimated: int = 0
    total_excl_vat_minor: int = 0
    vat_minor: int = 0
    total_minor: int = 0
    credited_minor: int = 0
    numbers: list[str] = field(default_factory=list)


def _since(contracts: Sequence[ContractFacts], states: dict[uuid.UUID, BillingState]) -> date:
    days: list[date] = []
    for contract in contracts:
        state = states.get(contract.id)
        if state is None:
            days.append((contract.billed_until or contract.start_date) - FALLBACK_LOOKBACK)
            continue
        for point in (state.end, state.anchor):
            if point is not None:
                days.append(point.day)
        if state.anchor_since is not None:
            days.append(state.anchor_since)
    return min(days)


def _merge(
    readings: dict[uuid.UUID, list[Reading]], more: dict[uuid.UUID, list[Reading]]
) -> None:
    for meter_id, extra in more.items():
        known = {r.id for r in readings.get(meter_id, [])}
        merged = readings.get(meter_id, []) + [r for r in extra if r.id not in known]
        merged.sort(key=lambda r: (r.day, r.rank))
        readings[meter_id] = merged


class Estimate(NamedTuple):
    """The daily average an estimate used, and whether it is the premise category's (the meter
    has no history of its own)."""

    average: Fraction
    from_category: bool = False


def plan_chunk(
    connection: Connection, contracts: Sequence[ContractFacts], setup: BillingSetup
) -> list[tuple[ContractBill, Estimate]]:
    """Every contract's bill (and the daily average its estimate used), in contract order."""
    if not contracts:
        return []
    period = setup.period
    states = loading.ledger_states(connection, [c.id for c in contracts], period.label)
    meters = loading.meters_of(connection, {c.connection_id for c in contracts})
    meter_ids = [m.id for ms in meters.values() for m in ms]
    readings = loading.real_readings(connection, meter_ids, _since(contracts, states), period.end)

    def own(contract: ContractFacts) -> tuple[list[MeterFacts], dict[uuid.UUID, list[Reading]]]:
        ms = meters.get(contract.connection_id, [])
        return ms, {m.id: readings.get(m.id, []) for m in ms}

    prepared: dict[uuid.UUID, Prepared] = {}
    from_category: set[uuid.UUID] = set()
    retry: list[ContractFacts] = []
    for contract in contracts:
        ms, rd = own(contract)
        state = states.get(contract.id) or fallback_state(contract, rd)
        if not state.known and state.end is None and ms:
            retry.append(contract)
            continue
        plan = prepare(contract, state, ms, rd, period, setup.tariffs)
        if plan is not None:
            prepared[contract.id] = plan
    estimating = [p.contract for p in prepared.values() if p.to_estimate is not None]
    averages: dict[uuid.UUID, Fraction] = {}
    if estimating or retry:
        wanted = [m.id for c in (*estimating, *retry) for m in meters.get(c.connection_id, [])]
        earliest = min(
            [period.end - timedelta(days=HISTORY_DAYS)]
            + [(c.billed_until or c.start_date) - timedelta(days=HISTORY_DAYS) for c in retry]
        )
        _merge(readings, loading.real_readings(connection, wanted, earliest, period.end))
        for contract in retry:
            ms, rd = own(contract)
            plan = prepare(contract, fallback_state(contract, rd), ms, rd, period, setup.tariffs)
            if plan is not None:
                prepared[contract.id] = plan
        never_read: list[ContractFacts] = []
        for plan in prepared.values():
            if plan.to_estimate is not None:
                ms, rd = own(plan.contract)
                history = measured_average(ms, rd, plan.window.end)
                if history is None:
                    never_read.append(plan.contract)
                else:
                    averages[plan.contract.id] = history
        if never_read:
            # Invoices before the period: this run's own never count (same result whatever
            # the chunk that needs the table first).
            by_category = setup.categories.get(connection, period.start - ONE_DAY)
            kinds = loading.connection_categories(connection, [c.connection_id for c in never_read])
            for contract in never_read:
                kind = kinds.get(contract.connection_id)
                averages[contract.id] = by_category.average(kind)
                from_category.add(contract.id)
    handed_over = loading.handed_over(
        connection,
        [p.contract for p in prepared.values()
         if p.contract.end_date is not None and p.contract.end_date == p.window.end],
    )
    zero = Fraction(0)
    bills = []
    for contract in contracts:
        key = contract.id
        plan = prepared.get(key)
        if plan is None:
            continue
        # Estimates and hand-overs are the exception: an empty set is not looked up at all.
        average = averages.get(key, zero) if averages else zero
        bills.append((
            finish(plan, average, setup.tariffs, setup.currency,
                   handed_over=bool(handed_over) and key in handed_over),
            Estimate(average, bool(from_category) and key in from_category),
        ))
    return bills


def bill_chunk(
    connection: Connection,
    contracts: Sequence[ContractFacts],
    setup: BillingSetup,
    writer: BulkWriter | None,
    now: datetime,
) -> ChunkOutcome:
    """Plans the chunk and, with a ``writer``, writes it (without one: a dry run)."""
    bills = plan_chunk(connection, contracts, setup)
    correcting = {b.contract.id: b.window.start for b, _ in bills if b.window.correcting}
    credited = loading.estimated_invoices(connection, correcting)
    outcome = ChunkOutcome(contracts=len(contracts), invoices=len(bills))
    for bill, _ in bills:
        outcome.estimated += bill.is_estimated
        excl, vat, total = totals(bill.priced)
        outcome.total_excl_vat_minor += excl
        outcome.vat_minor += vat
        outcome.total_minor += total
    for issued in credited.values():
        outcome.credit_notes += len(issued)
        outcome.credited_minor += sum(i.row["total_minor"] for i in issued)
    if writer is None or not bills:
        return outcome
    _write(connection, bills, credited, setup, writer, now, outcome)
    return outcome


def _write(
    connection: Connection,
    bills: list[tuple[ContractBill, Estimate]],
    credited: dict[uuid.UUID, list[loading.IssuedInvoice]],
    setup: BillingSetup,
    writer: BulkWriter,
    now: datetime,
    outcome: ChunkOutcome,
) -> None:
    """Rows are built first; the ledger, estimate readings and updates are written, then the
    invoices are numbered and written with their lines: the number series row is the one lock
    chunks share (it keeps numbers gapless), so another chunk's transaction waits for this one
    only from the numbering to its commit. Lines are journaled but not audited one by one: the
    invoice's audit entry stands for them."""
    year = setup.issued_on.year
    label = setup.period.label
    ids = writer.ids
    ids.start_batch()
    changes = ChangeSet()
    ledger = []
    due = due_date(setup.issued_on, setup.payment_terms_days)
    deltas: dict[uuid.UUID, int] = {}
    invoices: list[dict[str, Any]] = []
    line_rows: list[tuple[Any, ...]] = []
    for bill, estimate in bills:
        contract = bill.contract
        invoice, lines = invoice_rows(bill, "", label, setup.issued_on, due, ids, now)
        invoices.append(invoice)
        changes.insert("invoice", invoice)
        line_rows.extend(lines)
        if bill.estimate is not None:
            changes.insert("meter_reading", estimate_reading_row(bill, ids, now, *estimate))
        ledger.append(ledger_row(bill, label, invoice["id"], setup.run_id))
        changes.update(
            "contract", contract.id, contract.agency_id, contract.version,
            {"billed_until": (contract.billed_until, bill.window.end)},
        )
        deltas[contract.account_id] = deltas.get(contract.account_id, 0) + invoice["total_minor"]
    changes.insert_tuples("invoice_line", LINE_COLUMNS, line_rows)
    notes: list[dict[str, Any]] = []
    for issued in (i for group in credited.values() for i in group):
        note, note_lines = credit_note_rows(issued, "", setup.issued_on, ids, now)
        notes.append(note)
        changes.insert("invoice", note)
        for line in note_lines:
            changes.insert("invoice_line", line)
        row = issued.row
        changes.update(
            "invoice", row["id"], row["agency_id"], row["version"],
            {"status": (InvoiceStatus(row["status"]), InvoiceStatus.CREDITED)},
        )
        deltas[row["account_id"]] = deltas.get(row["account_id"], 0) + note["total_minor"]

    def number(connection: Connection) -> None:
        _number(connection, CentralSeries.CONSUMPTION_INVOICE, year, invoices, outcome.numbers)
        _number(connection, CentralSeries.CREDIT_NOTE, year, notes, [])

    add_balance_updates(connection, changes, deltas, now, recompute=False)
    # The ledger first: its key refuses a second invoice before anything else is written.
    writer.loader(BilledPeriod.__tablename__).load(connection, ledger)
    writer.write(
        connection, changes, actor=BILLING, now=now, transaction_id=new_id(),
        reason=setup.reason, order=INSERT_ORDER, last=("invoice", "invoice_line"),
        before_last=number, unaudited=("invoice_line",),
    )


def _number(
    connection: Connection,
    series: CentralSeries,
    year: int,
    rows: list[dict[str, Any]],
    numbers: list[str],
) -> None:
    if not rows:
        return
    first = reserve(connection, series, year, len(rows))
    check_follows(connection, series, year, first, rows[0]["issued_on"])
    for offset, row in enumerate(rows):
        row["number"] = format_central_number(series, year, first + offset)
        numbers.append(row["number"])


def add_balance_updates(
    connection: Connection,
    changes: ChangeSet,
    deltas: dict[uuid.UUID, int],
    now: datetime,
    *,
    recompute: bool = True,
) -> int:
    """Account balances moved by the rows about to be written: from a recomputation of what is
    stored (``recompute``), or from the stored balance (the billing run: every writer of
    invoices and payments keeps balances up to date, and ``balances refresh`` repairs drift)."""
    states = loading.accounts(connection, deltas, lock=True)
    computed = (
        loading.computed_balances(connection, deltas)
        if recompute
        else {account_id: state.balance_minor for account_id, state in states.items()}
    )
    changed = 0
    for account_id, delta in deltas.items():
        state = states[account_id]
        balance = computed[account_id] + delta
        if balance == state.balance_minor:
            continue
        changes.update(
            "account", account_id, state.agency_id, state.version,
            {
                "balance_minor": (state.balance_minor, balance),
                "balance_as_of": (state.balance_as_of, now),
            },
        )
        changed += 1
    return changed
