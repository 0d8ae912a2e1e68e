"""What an agency's rows set moving on central: works invoices it issued are integrated (they
keep their agency number; the account's balance follows), and accounts whose payments changed
get their balance recomputed. Both are central changes: the desk downloads the balances."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.models import Account, Agency, Payment
from app.models.ids import utcnow
from central.billing.loading import computed_balances
from central.billing.works import WorksInvoiceIn, integrate_works_invoice
from central.sync.recording import Recorder
from kernel import wire
from kernel.numbering import PREFIX, Series

_INVOICE_FIELDS = ("number", "kind", "credited_invoice_id", "account_id", "works_quote_id",
                   "issued_on", "due_on", "total_excl_vat_minor", "vat_minor", "total_minor")
_LINE_FIELDS = ("position", "kind", "label", "quantity", "unit", "unit_price",
                "amount_excl_vat_minor", "vat_rate", "vat_minor", "amount_minor")


@dataclass
class WorksInvoice:
    """A works invoice of a desk transaction: its entry and its lines' entries (positions in
    the transaction)."""

    invoice: int
    lines: list[int] = field(default_factory=list)

    @property
    def members(self) -> list[int]:
        return [self.invoice, *self.lines]


def _new_values(entry: dict[str, Any]) -> dict[str, Any]:
    table = wire.table(entry["table"])
    return {k: wire.from_wire(table, k, pair[1]) for k, pair in entry["changes"].items()
            if k in table.c}


def _works_series(entry: dict[str, Any]) -> bool:
    """A works invoice, or a credit note numbered in an agency's works series."""
    kind = (entry["changes"].get("kind") or [None, None])[1]
    number = str((entry["changes"].get("number") or [None, ""])[1] or "")
    return kind == "works" or kind == "credit_note" \
        and number.startswith(PREFIX[Series.WORKS_INVOICE])


def works_invoices(entries: list[dict[str, Any]]) -> list[WorksInvoice]:
    found: dict[str, WorksInvoice] = {}
    for position, entry in enumerate(entries):
        if entry["table"] == "invoice" and entry["op"] == "insert" and _works_series(entry):
            found[str(entry["row"])] = WorksInvoice(position)
    for position, entry in enumerate(entries):
        if entry["table"] == "invoice_line" and entry["op"] == "insert":
            parent = (entry["changes"].get("invoice_id") or [None, None])[1]
            if str(parent) in found:
                found[str(parent)].lines.append(position)
    return list(found.values())


@contextmanager
def captured(recorder: Recorder) -> Iterator[None]:
    """The write path's own capture, as a central change (for services that write through
    the ORM and rely on it)."""
    session = recorder.session
    session.flush()
    recorder.as_central()
    session.info["from_server"] = False
    try:
        yield
        session.flush()
    finally:
        session.info["from_server"] = True


def integrate(recorder: Recorder, entries: list[dict[str, Any]], works: WorksInvoice) -> None:
    """``BusinessError`` (the transaction is parked) when the invoice is inconsistent."""
    head = _new_values(entries[works.invoice])
    lines = []
    for position in works.lines:
        values = _new_values(entries[position])
        lines.append({"id": uuid.UUID(str(entries[position]["row"])),
                      **{k: values[k] for k in _LINE_FIELDS if k in values}})
    data = WorksInvoiceIn.model_validate({
        "id": uuid.UUID(str(entries[works.invoice]["row"])),
        **{k: head[k] for k in _INVOICE_FIELDS if k in head}, "lines": lines,
    })
    agency = recorder.session.get(Agency, recorder.agency_id)
    assert agency is not None
    with captured(recorder):
        integrate_works_invoice(recorder.session, agency, data)


def payment_accounts(recorder: Recorder, entries: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Accounts whose payments these entries touched."""
    found: set[uuid.UUID] = set()
    for entry in entries:
        if entry["table"] != "payment":
            continue
        pair = entry["changes"].get("account_id")
        if pair:
            found.update(uuid.UUID(str(v)) for v in pair if v)
            continue
        with recorder.session.no_autoflush:
            row = recorder.session.get(Payment, uuid.UUID(str(entry["row"])))
        if row is not None:
            found.add(row.account_id)
    return found


def refresh_balances(recorder: Recorder, account_ids: set[uuid.UUID]) -> None:
    """Recomputes the balances of those of ``account_ids`` that are the recorder's agency's
    (an entry naming another agency's account, refused or parked, moves nothing there)."""
    if not account_ids:
        return
    session = recorder.session
    session.flush()
    computed = computed_balances(session.connection(), account_ids)
    now = utcnow()
    for account in session.scalars(select(Account).where(
            Account.id.in_(account_ids), Account.agency_id == recorder.agency_id)):
        if account.balance_minor != computed[account.id]:
            recorder.update(account, {"balance_minor": computed[account.id],
                                      "balance_as_of": now},
                            account.version + 1, central=True)
