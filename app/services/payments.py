"""Payments at the counter, with a receipt numbered in the agency's series. The receipt PDF is
stored exactly as issued; a reprint is those bytes stamped "DUPLICATA", and is recorded.

A payment above what the account owes, or above the installation's ceiling, is taken only once
the agent has confirmed it (``PaymentNeedsConfirmation`` says why and what advance it creates).
A wrong payment is cancelled by a supervisor, with a reason: the receipt stays, a cancellation
slip is issued, the statement shows both lines.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agency, Customer, Document, Invoice, Payment, Premise
from app.models.capture import set_reason
from app.models.enums import AccountStatus, InvoiceStatus, PaymentMethod, Role
from app.models.ids import utcnow
from app.services.balances import balances_of
from app.services.cash_days import refuse_if_closed, username_of
from app.services.documents.receipt import CancellationSlipData, ReceiptData
from app.services.interventions.links import reconnection_after_payment
from app.services.search import format_address
from kernel.context import ServiceContext
from kernel.errors import (
    BusinessError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from kernel.identifiers import format_account_number
from kernel.money import MAX_PAYMENT_MAJOR
from kernel.numbering import Series, next_number
from kernel.vocabulary import label

#: Who may cancel a payment.
CANCELLING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
NEEDS_REFERENCE = {
    PaymentMethod.CHEQUE: "Saisissez le numéro du chèque",
    PaymentMethod.MOBILE_MONEY: "Saisissez la référence de la transaction mobile money",
    PaymentMethod.TRANSFER: "Saisissez la référence du virement",
}


@dataclass(frozen=True)
class IssuedReceipt:
    payment_id: uuid.UUID
    receipt_number: str
    pdf: bytes
    filename: str
    #: Reconnection requests made because the payment cleared a disconnected account's debt.
    reconnections: tuple[str, ...] = ()


class PaymentNeedsConfirmation(BusinessError):
    """The amount is possible but unusual: the agent confirms it (``message`` says why)."""

    def __init__(self, message: str, advance_minor: int) -> None:
        super().__init__(message)
        self.advance_minor = advance_minor


@dataclass(frozen=True)
class IssuedSlip:
    payment_id: uuid.UUID
    receipt_number: str
    pdf: bytes
    filename: str


def _render(data: ReceiptData) -> bytes:
    # reportlab takes a noticeable time to import: only when a receipt is printed.
    from app.services.documents.receipt_pdf import render_receipt

    return render_receipt(data)


def outstanding_minor(session: Session, account: Account) -> int:
    """The account's solde à jour (see ``app.services.balances``)."""
    return balances_of(session, [account.id])[account.id].current_minor


def _check_unusual(ctx: ServiceContext, owed: int, minor: int) -> None:
    currency = ctx.installation.currency
    reasons = []
    advance = minor - max(owed, 0)
    if advance > 0:
        owes = (
            f"le compte doit {currency.format_minor(owed)}"
            if owed > 0
            else "le compte ne doit rien"
            if owed == 0
            else f"le compte a déjà une avance de {currency.format_minor(-owed)}"
        )
        reasons.append(
            f"{owes} : ce paiement créera une avance de {currency.format_minor(advance)} "
            "en faveur du client"
        )
    ceiling = currency.to_minor(ctx.installation.payment_confirm_above)
    if minor > ceiling:
        reasons.append(f"le montant dépasse {currency.format_minor(ceiling)}")
    if reasons:
        raise PaymentNeedsConfirmation(
            f"Encaisser {currency.format_minor(minor)} ?\n\n"
            + "\n".join(f"• {r[0].upper()}{r[1:]}." for r in reasons)
            + "\n\nVérifiez le montant avant de confirmer.",
            max(advance, 0),
        )


def _receipt_data(ctx: ServiceContext, session: Session, payment: Payment) -> ReceiptData:
    account = session.get(Account, payment.account_id)
    assert account is not None
    customer = session.get(Customer, account.customer_id)
    agency = session.get(Agency, payment.agency_id) if payment.agency_id else None
    premise = (
        session.get(Premise, account.billing_premise_id) if account.billing_premise_id else None
    )
    address = ""
    if premise is not None:
        address = format_address(
            premise.house_number,
            premise.street.name if premise.street else None,
            premise.complement,
            premise.commune.name,
        )
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    name = customer.display_name if customer else ""
    if customer and customer.civility and customer.kind.value == "person":
        name = f"{customer.civility.value} {name}"
    return ReceiptData(
        agency_name=agency.name if agency else ctx.installation.agency_name,
        agency_address=agency.address if agency else "",
        agency_phone=agency.phone if agency else "",
        receipt_number=payment.receipt_number,
        paid_at=ctx.installation.local(payment.paid_at),
        customer_name=name,
        account_number=format_account_number(account.number),
        address=address,
        amount_minor=payment.amount_minor,
        method=label(payment.method),
        reference=payment.reference,
        invoice_number=invoice.number if invoice else "",
        received_by=payment.received_by,
        remaining_minor=outstanding_minor(session, account),
        currency=ctx.installation.currency,
    )


def record_payment(
    ctx: ServiceContext,
    account_id: uuid.UUID,
    amount: Decimal,
    method: PaymentMethod,
    reference: str = "",
    invoice_id: uuid.UUID | None = None,
    *,
    confirmed: bool = False,
) -> IssuedReceipt:
    """Takes the payment and issues its receipt. Above what is owed or above the ceiling,
    ``PaymentNeedsConfirmation`` unless ``confirmed``."""
    currency = ctx.installation.currency
    errors: dict[str, str] = {}
    if amount <= 0:
        errors["amount"] = "Le montant doit être positif"
    elif amount > MAX_PAYMENT_MAJOR:
        errors["amount"] = "Montant trop élevé : vérifiez la saisie"
    reference = reference.strip()
    if method in NEEDS_REFERENCE and not reference:
        errors["reference"] = NEEDS_REFERENCE[method]
    if errors:
        raise ValidationError(errors)
    minor = currency.exact_minor(amount)
    now = utcnow()
    with ctx.unit_of_work() as uow:
        session = uow.session
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError("Compte introuvable.")
        today = ctx.installation.local(now).date()
        refuse_if_closed(ctx, session, ctx.actor.username, today, "cet encaissement")
        owed = outstanding_minor(session, account)
        if account.status is AccountStatus.CLOSED and owed <= 0:
            raise BusinessError(
                f"Le compte {format_account_number(account.number)} est clos et "
                "ne doit rien : aucun encaissement possible."
            )
        if not confirmed:
            _check_unusual(ctx, owed, minor)
        if invoice_id is not None:
            invoice = session.get(Invoice, invoice_id)
            if invoice is None or invoice.account_id != account_id:
                raise ValidationError({"invoice": "Cette facture n'est pas celle de ce compte"})
        payment = Payment(
            agency_id=ctx.installation.agency_id,
            receipt_number=next_number(
                session, ctx.installation.agency_code, Series.RECEIPT, today.year
            ),
            account_id=account_id,
            invoice_id=invoice_id,
            amount_minor=minor,
            method=method,
            reference=reference,
            paid_at=now,
            received_by=ctx.user.full_name if ctx.user else ctx.actor.username,
        )
        session.add(payment)
        session.flush()
        pdf = _render(_receipt_data(ctx, session, payment))
        filename = f"recu-{payment.receipt_number}.pdf"
        payment.receipt_document_id = _stored_pdf(session, ctx, "receipt", filename, pdf)
        reconnections = reconnection_after_payment(
            session, ctx, account_id, owed - minor, payment.receipt_number)
        uow.commit()
        return IssuedReceipt(payment.id, payment.receipt_number, pdf, filename,
                             tuple(reconnections))


def _stored_pdf(
    session: Session, ctx: ServiceContext, kind: str, filename: str, pdf: bytes
) -> uuid.UUID:
    """Keeps a PDF as issued (the agency's document) and returns its id."""
    document = Document(
        agency_id=ctx.installation.agency_id,
        kind=kind,
        filename=filename,
        media_type="application/pdf",
        content=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
    )
    session.add(document)
    session.flush()
    return document.id


def original_receipt(ctx: ServiceContext, payment_id: uuid.UUID) -> bytes:
    """The receipt's PDF exactly as it was issued."""
    with ctx.reading() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.receipt_document_id is None:
            raise NotFoundError("Reçu introuvable.")
        document = session.get(Document, payment.receipt_document_id)
        assert document is not None
        return document.content


def reprint_receipt(ctx: ServiceContext, payment_id: uuid.UUID) -> IssuedReceipt:
    """A duplicata: the stored original's bytes stamped "DUPLICATA" (never rendered again from
    today's data); the reprint is counted and audited."""
    from app.services.documents.stamp import stamp_duplicate

    with ctx.unit_of_work() as uow:
        session = uow.session
        payment = session.get(Payment, payment_id)
        if payment is None or payment.receipt_document_id is None:
            raise NotFoundError("Reçu introuvable.")
        document = session.get(Document, payment.receipt_document_id)
        assert document is not None
        set_reason(session, f"réimpression du reçu {payment.receipt_number} (duplicata)")
        document.reprint_count += 1
        who = ctx.user.full_name if ctx.user else ctx.actor.username
        when = ctx.installation.local(utcnow())
        pdf = stamp_duplicate(
            document.content,
            f"Duplicata n° {document.reprint_count} imprimé le {when:%d/%m/%Y à %H:%M} par {who}",
        )
        uow.commit()
        return IssuedReceipt(
            payment.id, payment.receipt_number, pdf, f"recu-{payment.receipt_number}-duplicata.pdf"
        )


def cancel_payment(ctx: ServiceContext, payment_id: uuid.UUID, reason: str) -> IssuedSlip:
    """Cancels a wrong payment (supervisor): the receipt stays, a cancellation slip is issued
    and stored, the cancellation is audited and synchronised (central's balance follows)."""
    if ctx.user is None or ctx.user.role not in CANCELLING_ROLES:
        raise PermissionDeniedError("Seul un superviseur peut annuler un encaissement.")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise ValidationError({"reason": "Indiquez le motif de l'annulation"})
    from app.services.documents.receipt_pdf import render_cancellation_slip

    now = utcnow()
    with ctx.unit_of_work() as uow:
        session = uow.session
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError("Encaissement introuvable.")
        if payment.is_cancelled:
            raise BusinessError(f"L'encaissement {payment.receipt_number} est déjà annulé.")
        refuse_if_closed(ctx, session, username_of(session, payment.received_by),
                         ctx.installation.local(payment.paid_at).date(),
                         f"l'annulation de l'encaissement {payment.receipt_number}",
                         "Ses chiffres sont arrêtés : un remboursement se fait sur une caisse "
                         "ouverte, avec son propre reçu.")
        set_reason(session, f"annulation de l'encaissement {payment.receipt_number} : {reason}"[:200])
        payment.is_cancelled = True
        payment.cancel_reason = reason
        payment.cancelled_at = now
        payment.cancelled_by = ctx.user.full_name
        session.flush()
        account = session.get(Account, payment.account_id)
        assert account is not None
        pdf = render_cancellation_slip(
            CancellationSlipData(
                _receipt_data(ctx, session, payment),
                ctx.installation.local(now),
                ctx.user.full_name,
                reason,
                outstanding_minor(session, account),
            )
        )
        filename = f"annulation-{payment.receipt_number}.pdf"
        payment.cancellation_document_id = _stored_pdf(
            session, ctx, "payment_cancellation", filename, pdf
        )
        uow.commit()
        return IssuedSlip(payment.id, payment.receipt_number, pdf, filename)


@dataclass(frozen=True)
class PaymentLine:
    payment_id: uuid.UUID
    receipt_number: str
    paid_at_local: str
    amount_minor: int
    method: str
    reference: str
    received_by: str
    #: "Annulé le 05/12/2026 par … : motif" (empty when the payment stands).
    cancellation: str = ""


def account_payments(
    ctx: ServiceContext, account_id: uuid.UUID, limit: int = 200
) -> list[PaymentLine]:
    with ctx.reading() as session:
        return [
            PaymentLine(
                p.id,
                p.receipt_number,
                ctx.installation.local(p.paid_at).strftime("%d/%m/%Y %H:%M"),
                p.amount_minor,
                label(p.method),
                p.reference,
                p.received_by,
                _cancellation_text(ctx, p),
            )
            for p in session.scalars(
                select(Payment)
                .where(Payment.account_id == account_id)
                .order_by(Payment.paid_at.desc())
                .limit(limit)
            )
        ]


def open_invoices(ctx: ServiceContext, account_id: uuid.UUID) -> list[tuple[uuid.UUID, str, int]]:
    """Invoices of the account not yet matched by a payment (for "facture réglée")."""
    with ctx.reading() as session:
        paid = select(Payment.invoice_id).where(
            Payment.account_id == account_id,
            Payment.invoice_id.is_not(None),
            Payment.is_cancelled.is_(False),
        )
        return [
            (i, n, t)
            for i, n, t in session.execute(
                select(Invoice.id, Invoice.number, Invoice.total_minor)
                .where(
                    Invoice.account_id == account_id,
                    Invoice.id.not_in(paid),
                    Invoice.total_minor > 0,
                    Invoice.status == InvoiceStatus.ISSUED,
                )
                .order_by(Invoice.issued_on)
            )
        ]


def _cancellation_text(ctx: ServiceContext, payment: Payment) -> str:
    if not payment.is_cancelled:
        return ""
    when = (
        f" le {ctx.installation.local(payment.cancelled_at):%d/%m/%Y}" if payment.cancelled_at else ""
    )
    by = f" par {payment.cancelled_by}" if payment.cancelled_by else ""
    why = f" : {payment.cancel_reason}" if payment.cancel_reason else ""
    return f"Annulé{when}{by}{why}"


@dataclass(frozen=True)
class PaymentProposal:
    """What the payment dialog starts from: the solde à jour and the oldest unpaid invoice."""

    owed_minor: int
    oldest_invoice: tuple[uuid.UUID, str, int] | None
    invoices: list[tuple[uuid.UUID, str, int]]


def payment_proposal(ctx: ServiceContext, account_id: uuid.UUID) -> PaymentProposal:
    invoices = open_invoices(ctx, account_id)
    with ctx.reading() as session:
        balance = balances_of(session, [account_id]).get(account_id)
    if balance is None:
        raise NotFoundError("Compte introuvable.")
    return PaymentProposal(balance.current_minor, invoices[0] if invoices else None, invoices)
