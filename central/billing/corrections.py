"""Correcting an issued consumption invoice: it is never edited; a credit note cancels it and a
new invoice bills the same days again, on the readings as they are now (an agent corrected a
wrong index, a late real reading replaced an estimate). One transaction, both numbers gapless.

Only the latest invoice of a contract can be recomputed: later invoices started from its end
point (correct them first, newest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import Connection, RowMapping, func, select, update

from app.models import Contract, Invoice
from app.models.database import Database
from app.models.enums import InvoiceKind, InvoiceStatus
from app.models.ids import new_id, utcnow
from central.actors import ADMINISTRATION
from central.billing import loading
from central.billing.chunk import Estimate, add_balance_updates
from central.billing.consumption import HISTORY_DAYS, Point, measured_average
from central.billing.plan import (
    BillingState,
    ContractBill,
    ContractFacts,
    Window,
    fallback_state,
    finish,
    measured_window,
)
from central.billing.rows import (
    LINE_COLUMNS,
    credit_note_rows,
    due_date,
    estimate_reading_row,
    invoice_rows,
)
from central.billing.rows import ledger_row as make_ledger_row
from central.billing.tariffs import TariffBook
from central.models import BilledPeriod
from central.writes import BulkWriter, ChangeSet
from kernel.errors import BusinessError, NotFoundError
from kernel.money import Currency
from kernel.numbering import CentralSeries, check_follows, format_central_number, reserve


@dataclass(frozen=True)
class Correction:
    credited_number: str
    credit_note_number: str
    new_number: str
    old_total_minor: int
    new_total_minor: int


def _contract(connection: Connection, contract_id: object) -> ContractFacts:
    c = Contract.__table__.c
    row = connection.execute(
        select(c.id, c.agency_id, c.account_id, c.connection_id, c.tariff_id, c.start_date,
               c.end_date, c.billed_until, c.version, c.move_in_reading_id)
        .where(c.id == contract_id)
    ).one()
    return ContractFacts._make(row)


def correct_invoice(
    db: Database,
    currency: Currency,
    number: str,
    *,
    issued_on: date,
    reason: str = "",
    payment_terms_days: int = 20,
) -> Correction:
    with db.session() as session:
        tariffs = TariffBook.load(session)
    with db.engine.begin() as connection:
        inv = Invoice.__table__
        query = select(inv).where(inv.c.number == number)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = connection.execute(query).mappings().one_or_none()
        if row is None:
            raise NotFoundError(f"La facture {number} n'existe pas.")
        if row["kind"] is not InvoiceKind.CONSUMPTION or row["contract_id"] is None:
            raise BusinessError(f"{number} n'est pas une facture de consommation : seules "
                                "celles-ci se recalculent au central.")
        if row["status"] is not InvoiceStatus.ISSUED:
            raise BusinessError(f"La facture {number} a déjà été annulée par un avoir.")
        later = connection.execute(
            select(func.count()).select_from(inv).where(
                inv.c.contract_id == row["contract_id"],
                inv.c.kind == InvoiceKind.CONSUMPTION,
                inv.c.status == InvoiceStatus.ISSUED,
                inv.c.period_start > row["period_start"],
            )
        ).scalar_one()
        if later:
            raise BusinessError(f"La facture {number} n'est pas la dernière de son abonnement : "
                                "corrigez d'abord les factures suivantes.")
        contract = _contract(connection, row["contract_id"])
        ledger = connection.execute(
            select(BilledPeriod).where(BilledPeriod.invoice_id == row["id"])
        ).mappings().one_or_none()
        window, period_label = _window(connection, contract, row, ledger)
        bill, average = _recompute(connection, contract, window, tariffs, currency)
        now = utcnow()
        writer = BulkWriter(connection.dialect.name)
        changes = ChangeSet()
        year = issued_on.year
        numbers = {}
        for series in (CentralSeries.CREDIT_NOTE, CentralSeries.CONSUMPTION_INVOICE):
            first = reserve(connection, series, year, 1)
            check_follows(connection, series, year, first, issued_on)
            numbers[series] = format_central_number(series, year, first)
        note_number = numbers[CentralSeries.CREDIT_NOTE]
        new_number = numbers[CentralSeries.CONSUMPTION_INVOICE]
        lines = loading.invoice_lines(connection, [row["id"]])[row["id"]]
        note, note_lines = credit_note_rows(
            loading.IssuedInvoice(dict(row), lines), note_number, issued_on, writer.ids, now
        )
        invoice, invoice_lines = invoice_rows(
            bill, new_number, period_label, issued_on,
            due_date(issued_on, payment_terms_days), writer.ids, now,
        )
        for table, rows in (("invoice", [note, invoice]), ("invoice_line", note_lines)):
            for item in rows:
                changes.insert(table, item)
        changes.insert_tuples("invoice_line", LINE_COLUMNS, invoice_lines)
        if bill.estimate is not None:
            changes.insert("meter_reading", estimate_reading_row(bill, writer.ids, now, *average))
        changes.update("invoice", row["id"], row["agency_id"], row["version"],
                       {"status": (InvoiceStatus.ISSUED, InvoiceStatus.CREDITED)})
        add_balance_updates(
            connection, changes, {contract.account_id: note["total_minor"] + invoice["total_minor"]},
            now,
        )
        writer.write(connection, changes, actor=ADMINISTRATION, now=now, transaction_id=new_id(),
                     reason=(reason or f"Correction de la facture {number}")[:200],
                     order=("meter_reading", "invoice", "invoice_line"))
        fresh = make_ledger_row(bill, period_label, invoice["id"], None)
        if ledger is not None:
            connection.execute(
                update(BilledPeriod)
                .where(BilledPeriod.contract_id == contract.id,
                       BilledPeriod.period == period_label)
                .values({k: v for k, v in fresh.items() if k not in ("contract_id", "period")})
            )
        else:
            writer.loader(BilledPeriod.__tablename__).load(connection, [fresh])
    return Correction(number, note_number, new_number, row["total_minor"], invoice["total_minor"])


def _window(
    connection: Connection,
    contract: ContractFacts,
    invoice: RowMapping,
    ledger: RowMapping | None,
) -> tuple[Window, str]:
    """The same days and starting point as the invoice being corrected."""
    if ledger is not None:
        base = None
        if ledger["base_meter_id"] is not None:
            base = Point(ledger["base_meter_id"], ledger["base_day"], ledger["base_index"])
        return Window(ledger["window_start"], ledger["window_end"], base), str(ledger["period"])
    # Billed before central kept a ledger: start from the last real reading before the invoice.
    start, end = invoice["period_start"], invoice["period_end"]
    before = contract._replace(billed_until=start - timedelta(days=1))
    meters = loading.meters_of(connection, [contract.connection_id]).get(contract.connection_id, [])
    readings = loading.real_readings(connection, [m.id for m in meters],
                                     start - timedelta(days=HISTORY_DAYS), end)
    state: BillingState = fallback_state(before, readings)
    return Window(start, end, state.end), str(invoice["period"])


def _recompute(
    connection: Connection,
    contract: ContractFacts,
    window: Window,
    tariffs: TariffBook,
    currency: Currency,
) -> tuple[ContractBill, Estimate]:
    meters = loading.meters_of(connection, [contract.connection_id]).get(contract.connection_id, [])
    since = min(window.start, window.base.day if window.base else window.start)
    readings = loading.real_readings(connection, [m.id for m in meters],
                                     since - timedelta(days=HISTORY_DAYS), window.end)
    own = {m.id: readings.get(m.id, []) for m in meters}
    prepared = measured_window(contract, window, meters, own, tariffs)
    average = Fraction(0)
    from_category = False
    if prepared.to_estimate is not None:
        history = measured_average(meters, own, window.end)
        if history is None:
            kind = loading.connection_categories(connection, [contract.connection_id])
            table = loading.category_averages(connection, window.start - timedelta(days=1))
            history, from_category = table.average(kind.get(contract.connection_id)), True
        average = history
    ending = [contract] if contract.end_date is not None and contract.end_date == window.end else []
    handed_over = contract.id in loading.handed_over(connection, ending)
    bill = finish(prepared, average, tariffs, currency, handed_over=handed_over)
    return bill, Estimate(average, from_category)
