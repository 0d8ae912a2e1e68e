"""Payments at the counter, with a receipt numbered in the agency's series. The receipt PDF is
stored exactly as issued; a reprint carries "DUPLICATA" and is recorded."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Account, Agency, Customer, Document, Invoice, Payment, Premise
from app.models.capture import set_reason
from app.models.enums import AccountStatus, PaymentMethod
from app.models.ids import utcnow
from app.services.context import ServiceContext
from app.services.documents.receipt import ReceiptData
from app.services.errors import BusinessError, NotFoundError, ValidationError
from app.services.identifiers import format_account_number
from app.services.labels import label
from app.services.numbering import Series, next_number
from app.services.search import format_address

#: Above this, the amount typed is more likely a typing slip than a payment.
MAX_PAYMENT_MAJOR = Decimal("100000000")
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


def _render(data: ReceiptData, *, duplicate: bool = False) -> bytes:
    # reportlab takes a noticeable time to import: only when a receipt is printed.
    from app.services.documents.receipt_pdf import render_receipt

    return render_receipt(data, duplicate=duplicate)


def outstanding_minor(session: Session, account: Account) -> int:
    """Central's balance minus the payments taken here since central computed it."""
    paid = select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        Payment.account_id == account.id, Payment.is_cancelled.is_(False)
    )
    if account.balance_as_of is not None:
        paid = paid.where(Payment.paid_at > account.balance_as_of)
    return account.balance_minor - int(session.scalar(paid) or 0)


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
) -> IssuedReceipt:
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
        if account.status is AccountStatus.CLOSED and outstanding_minor(session, account) <= 0:
            raise BusinessError(
                f"Le compte {format_account_number(account.number)} est clos et "
                "ne doit rien : aucun encaissement possible."
            )
        if invoice_id is not None:
            invoice = session.get(Invoice, invoice_id)
            if invoice is None or invoice.account_id != account_id:
                raise ValidationError({"invoice": "Cette facture n'est pas celle de ce compte"})
        today = ctx.installation.local(now).date()
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
        document = Document(
            agency_id=ctx.installation.agency_id,
            kind="receipt",
            filename=filename,
            media_type="application/pdf",
            content=pdf,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
        )
        session.add(document)
        session.flush()
        payment.receipt_document_id = document.id
        uow.commit()
        return IssuedReceipt(payment.id, payment.receipt_number, pdf, filename)


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
    """A duplicate of the receipt, marked as such; the reprint is counted and audited."""
    with ctx.unit_of_work() as uow:
        session = uow.session
        payment = session.get(Payment, payment_id)
        if payment is None:
            raise NotFoundError("Reçu introuvable.")
        data = _receipt_data(ctx, session, payment)
        if payment.receipt_document_id is not None:
            document = session.get(Document, payment.receipt_document_id)
            assert document is not None
            set_reason(session, f"réimpression du reçu {payment.receipt_number} (duplicata)")
            document.reprint_count += 1
        pdf = _render(data, duplicate=True)
        uow.commit()
        return IssuedReceipt(
            payment.id, payment.receipt_number, pdf, f"recu-{payment.receipt_number}-duplicata.pdf"
        )


@dataclass(frozen=True)
class PaymentLine:
    payment_id: uuid.UUID
    receipt_number: str
    paid_at_local: str
    amount_minor: int
    method: str
    reference: str
    received_by: str


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
                )
                .order_by(Invoice.issued_on)
            )
        ]
