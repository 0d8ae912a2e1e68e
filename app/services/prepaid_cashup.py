"""The agent's end-of-day cash-up at the prepaid desk (issue 17, *clôture de caisse*).

For one agent and one day of the agency's time zone: the counter sales the desk holds
(``vend_transaction``, channel *counter*, ``sold_by`` the agent — it comes from central with
the nightly sync), the sales this desk made itself that are not there yet (its own ledger
``prepaid_pending_sale``, rows central answered with a sale, matched on the desk's reference —
``vend_transaction.operator_reference`` — or the receipt, so a sale is counted once whether or
not the night has run), the sales still waiting for central's answer (listed apart, not
counted: nothing is known of them yet) and the counter payments of
invoices the agent received (``payment.received_by``: the agent's full name, as
``app.services.payments`` writes it), their total by means of payment, the reversed, failed or
cancelled ones (listed, not counted), the management tokens (amount 0), the cash expected, the
cash counted (typed), the difference — with a reason when it is not zero.

Closing stores the report PDF as issued (``document``, kind ``prepaid_cashup``, one per
agent and day: its existence is the lock) with the figures on the audit entry's reason; a second
closing of the same agent and day is refused, and the day's summary then says who closed it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    AuditEntry,
    Document,
    Meter,
    Payment,
    PendingVendSale,
    User,
    VendTransaction,
)
from app.models.capture import set_reason
from app.models.enums import PaymentMethod, VendChannel, VendStatus
from app.models.ids import utcnow
from app.services.documents.cashup_pdf import CashupReportData, render_cashup
from app.services.prepaid_sales import MANAGING_ROLES, IssuedDocument
from kernel.context import ServiceContext
from kernel.errors import BusinessError, PermissionDeniedError, ValidationError
from kernel.vocabulary import label

KIND = "prepaid_cashup"
CASH = label(PaymentMethod.CASH)
SOLD = "vente"
WAITING = "en attente de réponse du central"


class DayClosed(BusinessError):
    """The agent's day is already closed: its figures cannot change."""


@dataclass(frozen=True)
class CashupLine:
    receipt: str
    sold_at: datetime  # local
    meter: str
    method: str
    amount_minor: int
    #: "vente", "paiement" (an invoice paid at the counter), "annulée"/"paiement annulé" (not
    #: counted), "jeton de gestion" (amount 0) or WAITING (central's answer not back: not
    #: counted).
    state: str


@dataclass(frozen=True)
class Closing:
    closed_by: str
    closed_at: datetime  # local
    summary: str  # the audit entry's reason: expected, counted, difference, reason
    filename: str


@dataclass(frozen=True)
class CashupDay:
    agent: str
    day: date
    lines: tuple[CashupLine, ...]
    by_method: dict[str, int]
    sales_count: int
    payments_count: int
    voided_count: int
    voided_minor: int
    management_count: int
    expected_cash_minor: int
    closing: Closing | None
    #: sales asked of central whose answer has not come back (not counted)
    waiting_count: int = 0
    waiting_minor: int = 0

    @property
    def total_minor(self) -> int:
        return sum(self.by_method.values())


def cashup_filename(agent: str, day: date) -> str:
    return f"cloture-caisse-{agent}-{day:%Y-%m-%d}.pdf"


def day_summary(ctx: ServiceContext, agent: str, day: date) -> CashupDay:
    """The figures of the agent's day (and its closing, when it is closed)."""
    with ctx.reading() as session:
        return _summary(ctx, session, agent, day)


def close_day(ctx: ServiceContext, agent: str, day: date, counted_minor: int,
              reason: str) -> tuple[CashupDay, IssuedDocument]:
    """Closes the agent's day: the report PDF kept as issued, audited; refused twice."""
    user = ctx.user
    if user is None:
        raise PermissionDeniedError("Connectez-vous pour clôturer la caisse.")
    if agent != user.username and user.role not in MANAGING_ROLES:
        raise PermissionDeniedError("Seul un superviseur clôture la caisse d'un autre agent.")
    if counted_minor < 0:
        raise ValidationError({"counted": "Le montant compté ne peut pas être négatif"})
    reason = " ".join(reason.split())
    with ctx.unit_of_work() as uow:
        session = uow.session
        figures = _summary(ctx, session, agent, day)
        if figures.closing is not None:
            raise DayClosed(
                f"La caisse de {agent} du {day:%d/%m/%Y} est déjà clôturée "
                f"(par {figures.closing.closed_by} le "
                f"{figures.closing.closed_at:%d/%m/%Y à %H:%M}).")
        difference = counted_minor - figures.expected_cash_minor
        if difference and len(reason) < 5:
            raise ValidationError({"reason": "Écart de caisse : indiquez le motif "
                                             "(5 caractères au moins)"})
        fmt = ctx.installation.currency.format_minor
        closed_at = ctx.installation.local(utcnow())
        pdf = render_cashup(CashupReportData(
            ctx.installation.agency_name, agent, day, closed_at, user.username,
            tuple((line.receipt, f"{line.sold_at:%H:%M}", line.meter, line.method,
                   line.state, line.amount_minor) for line in figures.lines),
            tuple(figures.by_method.items()), figures.sales_count, figures.payments_count,
            figures.voided_count,
            figures.management_count, figures.expected_cash_minor, counted_minor, difference,
            reason, ctx.installation.currency))
        filename = cashup_filename(agent, day)
        summary = (f"Clôture de caisse {agent} du {day:%d/%m/%Y} : attendu "
                   f"{fmt(figures.expected_cash_minor)}, compté {fmt(counted_minor)}, écart "
                   f"{fmt(difference)}" + (f" — motif : {reason}" if difference else ""))
        set_reason(session, summary[:200])
        session.add(Document(
            agency_id=ctx.installation.agency_id, kind=KIND, filename=filename,
            media_type="application/pdf", content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf)))
        uow.commit()
    return day_summary(ctx, agent, day), IssuedDocument(filename, pdf)


def _summary(ctx: ServiceContext, session: Session, agent: str, day: date) -> CashupDay:
    zone = ctx.installation.zone
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    rows = session.execute(
        select(VendTransaction, Meter).join(Meter, Meter.id == VendTransaction.meter_id)
        .where(VendTransaction.channel == VendChannel.COUNTER, VendTransaction.sold_by == agent,
               VendTransaction.sold_at >= start, VendTransaction.sold_at < end)
        .order_by(VendTransaction.sold_at, VendTransaction.receipt_number)).all()
    lines: list[CashupLine] = []
    by_method: dict[str, int] = {}
    sales = voided = voided_minor = management = 0
    for sale, meter in rows:
        method = sale.operator_code or CASH
        if sale.status != VendStatus.COMPLETED:
            state = "annulée"
            voided += 1
            voided_minor += sale.amount_minor
        elif sale.amount_minor == 0:
            state = "jeton de gestion"
            management += 1
        else:
            state = SOLD
            sales += 1
            by_method[method] = by_method.get(method, 0) + sale.amount_minor
        lines.append(CashupLine(sale.receipt_number, ctx.installation.local(sale.sold_at),
                                meter.sts_drn or meter.serial, method, sale.amount_minor, state))
    known = select(VendTransaction.id).where(
        (VendTransaction.operator_reference == PendingVendSale.reference)
        | (VendTransaction.receipt_number == PendingVendSale.receipt))
    for own in session.scalars(
            select(PendingVendSale).where(
                PendingVendSale.agent == agent, PendingVendSale.sold_at >= start,
                PendingVendSale.sold_at < end, ~known.exists())):
        assert own.sold_at is not None
        amount = own.sold_amount_minor if own.sold_amount_minor is not None \
            else own.amount_minor
        sales += 1
        by_method[CASH] = by_method.get(CASH, 0) + amount
        lines.append(CashupLine(own.receipt or own.reference,
                                ctx.installation.local(own.sold_at), own.meter, CASH, amount,
                                SOLD))
    waiting = waiting_minor = 0
    for own in session.scalars(
            select(PendingVendSale).where(
                PendingVendSale.agent == agent, PendingVendSale.sold_at.is_(None),
                PendingVendSale.created_at >= start, PendingVendSale.created_at < end)):
        waiting += 1
        waiting_minor += own.amount_minor
        lines.append(CashupLine(own.reference, ctx.installation.local(own.created_at),
                                own.meter, CASH, own.amount_minor, WAITING))
    names = {agent, *session.scalars(select(User.full_name).where(User.username == agent))}
    payments = 0
    for payment, account in session.execute(
            select(Payment, Account).join(Account, Account.id == Payment.account_id)
            .where(Payment.received_by.in_(names), Payment.paid_at >= start,
                   Payment.paid_at < end)):
        method = label(payment.method)
        if payment.is_cancelled:
            state = "paiement annulé"
            voided += 1
            voided_minor += payment.amount_minor
        else:
            state = "paiement"
            payments += 1
            by_method[method] = by_method.get(method, 0) + payment.amount_minor
        lines.append(CashupLine(payment.receipt_number, ctx.installation.local(payment.paid_at),
                                f"compte {account.number}", method, payment.amount_minor, state))
    lines.sort(key=lambda line: (line.sold_at, line.receipt))
    return CashupDay(agent, day, tuple(lines), by_method, sales, payments, voided, voided_minor,
                     management, by_method.get(CASH, 0), _closing(ctx, session, agent, day),
                     waiting, waiting_minor)


def _closing(ctx: ServiceContext, session: Session, agent: str, day: date) -> Closing | None:
    filename = cashup_filename(agent, day)
    document = session.scalars(select(Document).where(
        Document.kind == KIND, Document.filename == filename)).first()
    if document is None:
        return None
    entry = session.scalars(select(AuditEntry).where(
        AuditEntry.table_name == "document", AuditEntry.row_id == document.id)
        .order_by(AuditEntry.at)).first()
    closed_at = entry.at if entry is not None else document.created_at
    return Closing(entry.username if entry is not None else "", ctx.installation.local(closed_at),
                   entry.reason if entry is not None else "", filename)


def closing_pdf(ctx: ServiceContext, agent: str, day: date) -> IssuedDocument | None:
    """The closed day's report as it was issued."""
    filename = cashup_filename(agent, day)
    with ctx.reading() as session:
        pdf = session.scalars(select(Document.content).where(
            Document.kind == KIND, Document.filename == filename)).first()
    return None if pdf is None else IssuedDocument(filename, pdf)
