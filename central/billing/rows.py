"""The rows one billed contract produces: the invoice and its lines, the estimate reading, the
ledger row; and the credit note that cancels an issued invoice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from app.models.enums import (
    InvoiceKind,
    InvoiceLineKind,
    InvoiceStatus,
    ReadingKind,
    ReadingSource,
)
from central.billing.consumption import Point
from central.billing.loading import IssuedInvoice
from central.billing.plan import ContractBill
from kernel.pricing import PricedInvoice

NewId = Callable[[], uuid.UUID]

# Enum columns are written by value (plain strings are cheaper to convert in bulk).
_CONSUMPTION = InvoiceKind.CONSUMPTION.value
_CREDIT_NOTE = InvoiceKind.CREDIT_NOTE.value
_ISSUED = InvoiceStatus.ISSUED.value
_ESTIMATE = ReadingSource.ESTIMATE.value
_REGULAR = ReadingKind.REGULAR.value
_LINE_KIND = {kind: kind.value for kind in InvoiceLineKind}


def synced(new_id: NewId, agency_id: uuid.UUID | None, now: datetime) -> dict[str, Any]:
    return {"id": new_id(), "agency_id": agency_id, "version": 1, "created_at": now,
            "updated_at": now}


def totals(priced: PricedInvoice) -> tuple[int, int, int]:
    """(total excluding VAT, VAT, total) of a priced invoice: the sums of its lines."""
    excl = vat = 0
    for line in priced.lines:
        excl += line.amount_excl_vat_minor
        vat += line.vat_minor
    return excl, vat, excl + vat


#: Columns of an invoice line row as ``invoice_rows`` builds it (every column of the table).
LINE_COLUMNS = (
    "id", "agency_id", "version", "created_at", "updated_at", "invoice_id", "position", "kind",
    "label", "quantity", "unit", "unit_price", "amount_excl_vat_minor", "vat_rate", "vat_minor",
    "amount_minor",
)


def invoice_rows(
    bill: ContractBill,
    number: str,
    period: str,
    issued_on: date,
    due_on: date,
    new_id: NewId,
    now: datetime,
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The invoice (a dictionary) and its lines (tuples of ``LINE_COLUMNS``: three a bill, the
    bulk of a run's rows, with no dictionary each)."""
    contract = bill.contract
    agency_id = contract.agency_id
    lines_in = bill.priced.lines
    excl, vat, total = totals(bill.priced)
    invoice_id = new_id()
    invoice = {
        "id": invoice_id, "agency_id": agency_id, "version": 1, "created_at": now,
        "updated_at": now,
        "number": number,
        "kind": _CONSUMPTION,
        "status": _ISSUED,
        "account_id": contract.account_id,
        "contract_id": contract.id,
        "works_quote_id": None,
        "credited_invoice_id": None,
        "period": period,
        "period_start": bill.window.start,
        "period_end": bill.window.end,
        "issued_on": issued_on,
        "due_on": due_on,
        "total_excl_vat_minor": excl,
        "vat_minor": vat,
        "total_minor": total,
        "is_estimated": bill.estimate is not None,
    }
    lines = [
        (new_id(), agency_id, 1, now, now, invoice_id, position, _LINE_KIND[line.kind],
         line.label, line.quantity, line.unit, line.unit_price, line.amount_excl_vat_minor,
         line.vat_rate, line.vat_minor, line.amount_excl_vat_minor + line.vat_minor)
        for position, line in enumerate(lines_in, start=1)
    ]
    return invoice, lines


def estimate_reading_row(
    bill: ContractBill, new_id: NewId, now: datetime, average: Fraction,
    from_category: bool = False,
) -> dict[str, Any]:
    """The estimate as a reading; its note says what the estimate rests on (the meter's own
    history, or its premise category's average when the meter was never read)."""
    assert bill.estimate is not None
    start, end = bill.estimate
    days = (end.day - start.day).days
    return synced(new_id, bill.contract.agency_id, now) | {
        "meter_id": end.meter_id,
        "reading_date": end.day,
        "read_at": now,
        "index_value": end.value,
        "source": _ESTIMATE,
        "kind": _REGULAR,
        "consumption": bill.estimated_units,
        "recorded_by": "facturation",
        "on_vacant_premise": False,
        "corrected_from_index": None,
        "note": (
            f"Estimation : {bill.estimated_units} sur {days} jour(s) "
            f"(moyenne {'de la catégorie du local, compteur jamais relevé, ' if from_category else ''}"
            f"{float(average):.3f} par jour)"
        ),
    }


def _point_columns(prefix: str, point: Point | None) -> dict[str, Any]:
    return {
        f"{prefix}_meter_id": point.meter_id if point else None,
        f"{prefix}_day": point.day if point else None,
        f"{prefix}_index": point.value if point else None,
    }


def ledger_row(
    bill: ContractBill, period: str, invoice_id: uuid.UUID, run_id: uuid.UUID | None
) -> dict[str, Any]:
    estimated = bill.is_estimated
    return (
        {
            "contract_id": bill.contract.id,
            "period": period,
            "invoice_id": invoice_id,
            "run_id": run_id,
            "window_start": bill.window.start,
            "window_end": bill.window.end,
            "is_estimated": estimated,
            "anchor_since": bill.anchor_since if estimated else None,
        }
        | _point_columns("base", bill.window.base)
        | _point_columns("end", bill.end)
        | _point_columns("anchor", bill.anchor if estimated else None)
    )


def credit_note_rows(
    original: IssuedInvoice, number: str, issued_on: date, new_id: NewId, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A credit note mirroring ``original`` line by line (negative quantities and amounts)."""
    row = original.row
    note = synced(new_id, row["agency_id"], now) | {
        "number": number,
        "kind": _CREDIT_NOTE,
        "status": _ISSUED,
        "account_id": row["account_id"],
        "contract_id": row["contract_id"],
        "works_quote_id": None,
        "credited_invoice_id": row["id"],
        "period": row["period"],
        "period_start": row["period_start"],
        "period_end": row["period_end"],
        "issued_on": issued_on,
        "due_on": None,
        "total_excl_vat_minor": -row["total_excl_vat_minor"],
        "vat_minor": -row["vat_minor"],
        "total_minor": -row["total_minor"],
        "is_estimated": False,
    }
    lines = [
        synced(new_id, row["agency_id"], now) | {
            "invoice_id": note["id"],
            "position": line["position"],
            "kind": line["kind"],
            "label": f"Avoir sur {row['number']} — {line['label']}"[:200],
            "quantity": -line["quantity"],
            "unit": line["unit"],
            "unit_price": line["unit_price"],
            "amount_excl_vat_minor": -line["amount_excl_vat_minor"],
            "vat_rate": line["vat_rate"],
            "vat_minor": -line["vat_minor"],
            "amount_minor": -line["amount_minor"],
        }
        for line in original.lines
    ]
    return note, lines


def due_date(issued_on: date, terms_days: int) -> date:
    return issued_on + timedelta(days=terms_days)
