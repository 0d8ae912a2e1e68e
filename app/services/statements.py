"""An account's statement: invoices, credit notes and payments with the running balance.

Invoices and the balance come from central; they are "as of the last synchronisation". The
difference between central's balance and the lines kept here is shown as the balance brought
forward, so the last line always equals what the customer owes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select

from app.models import Account, Invoice, Payment
from app.models.enums import InvoiceKind
from app.services.context import ServiceContext
from app.services.errors import NotFoundError
from app.services.labels import label


@dataclass(frozen=True)
class StatementLine:
    day: date
    label: str
    reference: str
    debit_minor: int
    credit_minor: int
    balance_minor: int
    document_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Statement:
    account_number: str
    balance_as_of: datetime | None
    opening_minor: int
    lines: tuple[StatementLine, ...]

    @property
    def closing_minor(self) -> int:
        return self.lines[-1].balance_minor if self.lines else self.opening_minor


def period_text(invoice: Invoice) -> str:
    """" 2026-11", or " 2026-10 à 2026-11" for an invoice whose days cross months (a re-bill
    after estimates, a catch-up)."""
    start, end = invoice.period_start, invoice.period_end
    if start is not None and end is not None and (start.year, start.month) != (end.year, end.month):
        return f" {start:%Y-%m} à {end:%Y-%m}"
    return f" {invoice.period}" if invoice.period else ""


def account_statement(ctx: ServiceContext, account_id: uuid.UUID) -> Statement:
    with ctx.reading() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError("Compte introuvable.")
        events: list[tuple[datetime, str, str, int, int, uuid.UUID | None]] = []
        invoices = list(session.scalars(select(Invoice).where(Invoice.account_id == account_id)))
        numbers = {invoice.id: invoice.number for invoice in invoices}
        # Same day: a credit note right after the invoice it cancels (by that invoice's number).
        order: dict[str, tuple[str, int]] = {
            invoice.number: (numbers.get(invoice.credited_invoice_id or invoice.id, invoice.number), 1)
            if invoice.kind is InvoiceKind.CREDIT_NOTE else (invoice.number, 0)
            for invoice in invoices
        }
        for invoice in invoices:
            when = datetime.combine(invoice.issued_on, time(), tzinfo=UTC)
            period = period_text(invoice)
            if invoice.kind is InvoiceKind.CREDIT_NOTE:
                events.append(
                    (
                        when,
                        f"{label(invoice.kind)}{period}",
                        invoice.number,
                        0,
                        abs(invoice.total_minor),
                        invoice.id,
                    )
                )
            else:
                events.append(
                    (
                        when,
                        f"{label(invoice.kind)}{period}",
                        invoice.number,
                        invoice.total_minor,
                        0,
                        invoice.id,
                    )
                )
        for payment in session.scalars(
            select(Payment).where(Payment.account_id == account_id, Payment.is_cancelled.is_(False))
        ):
            events.append(
                (
                    payment.paid_at,
                    f"Encaissement ({label(payment.method).lower()})",
                    payment.receipt_number,
                    0,
                    payment.amount_minor,
                    payment.id,
                )
            )
        events.sort(key=lambda e: (e[0], *order.get(e[2], (e[2], 0))))
        as_of = account.balance_as_of
        synced = [] if as_of is None else [e for e in events if e[0] <= as_of]
        opening = account.balance_minor - sum(d - c for _, _, _, d, c, _ in synced)
        running = opening
        lines = []
        for when, text, reference, debit, credit, doc in events:
            running += debit - credit
            lines.append(
                StatementLine(
                    ctx.installation.local(when).date(),
                    text,
                    reference,
                    debit,
                    credit,
                    running,
                    doc,
                )
            )
        return Statement(account.number, as_of, opening, tuple(lines))
