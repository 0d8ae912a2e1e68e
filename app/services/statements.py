"""An account's statement: invoices, credit notes, payments and cancellations with the running
balance.

Central's balance (as of the last synchronisation) includes every invoice central sent and every
change of this desk it had integrated; what this desk did since is added on top (see
``app.services.balances``). Which lines are "in central's balance" is decided by that one rule,
never by comparing dates: the opening balance is central's balance less the lines it includes,
so the last line always equals the solde à jour, whatever the time zone or the invoices' dates.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from app.models import Account, Contract, Invoice, Payment, ServiceConnection
from app.models.enums import InvoiceKind
from app.services.balances import Balance, balances_of, pending_changes
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.vocabulary import invoice_label, label


@dataclass(frozen=True)
class StatementLine:
    day: date
    label: str
    reference: str
    debit_minor: int
    credit_minor: int
    balance_minor: int
    document_id: uuid.UUID | None = None
    #: Made at this desk since central's last balance.
    since_sync: bool = False


@dataclass(frozen=True)
class Statement:
    account_number: str
    balance_as_of: datetime | None
    opening_minor: int
    lines: tuple[StatementLine, ...]
    balance: Balance

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
    zone = ctx.installation.zone
    with ctx.reading() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError("Compte introuvable.")
        pending = pending_changes(session)
        balance = balances_of(session, [account_id], pending)[account_id]
        events: list[_Event] = []
        energies = dict(
            session.execute(
                select(Contract.id, ServiceConnection.energy)
                .join(ServiceConnection, ServiceConnection.id == Contract.connection_id)
                .where(Contract.account_id == account_id)
            ).all()
        )
        invoices = list(session.scalars(select(Invoice).where(Invoice.account_id == account_id)))
        numbers = {invoice.id: invoice.number for invoice in invoices}
        # Same day: a credit note right after the invoice it cancels (by that invoice's number).
        order: dict[str, tuple[str, int]] = {
            invoice.number: (numbers.get(invoice.credited_invoice_id or invoice.id, invoice.number), 1)
            if invoice.kind is InvoiceKind.CREDIT_NOTE else (invoice.number, 0)
            for invoice in invoices
        }
        for invoice in invoices:
            period = period_text(invoice)
            energy = energies.get(invoice.contract_id) if invoice.contract_id else None
            text = f"{invoice_label(invoice.kind, energy)}{period}"
            amount = invoice.total_minor
            debit, credit = (0, abs(amount)) if amount < 0 else (amount, 0)
            events.append(
                _Event(
                    datetime.combine(invoice.issued_on, time(), tzinfo=zone),
                    invoice.issued_on,
                    text,
                    invoice.number,
                    debit,
                    credit,
                    invoice.id,
                    invoice.id not in pending.invoice_inserts,
                )
            )
        for payment in session.scalars(select(Payment).where(Payment.account_id == account_id)):
            method = label(payment.method).lower()
            events.append(
                _Event(
                    payment.paid_at,
                    ctx.installation.local(payment.paid_at).date(),
                    f"Encaissement ({method})" + (" — annulé" if payment.is_cancelled else ""),
                    payment.receipt_number,
                    0,
                    payment.amount_minor,
                    payment.id,
                    payment.id not in pending.payment_inserts,
                )
            )
            if payment.is_cancelled:
                when = payment.cancelled_at or payment.paid_at
                reason = f" : {payment.cancel_reason}" if payment.cancel_reason else ""
                events.append(
                    _Event(
                        when,
                        ctx.installation.local(when).date(),
                        f"Annulation de l'encaissement{reason}",
                        payment.receipt_number,
                        payment.amount_minor,
                        0,
                        payment.id,
                        payment.id not in pending.payment_cancellations,
                    )
                )
        events.sort(key=lambda e: (e.when, *order.get(e.reference, (e.reference, 0)), e.debit))
        included = sum(e.debit - e.credit for e in events if e.included)
        opening = balance.central_minor - included
        running = opening
        lines = []
        for event in events:
            running += event.debit - event.credit
            lines.append(
                StatementLine(
                    event.day,
                    event.text,
                    event.reference,
                    event.debit,
                    event.credit,
                    running,
                    event.document_id,
                    not event.included,
                )
            )
        return Statement(account.number, account.balance_as_of, opening, tuple(lines), balance)


@dataclass(frozen=True)
class _Event:
    when: datetime
    day: date
    text: str
    reference: str
    debit: int
    credit: int
    document_id: uuid.UUID | None
    #: Already in central's balance.
    included: bool
