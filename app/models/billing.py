"""Invoices (consumption, works, credit notes), their lines, and payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.enums import InvoiceKind, InvoiceLineKind, InvoiceStatus, PaymentMethod
from app.models.types import ScaledDecimal


class Invoice(Synced, Base):
    """An issued invoice or credit note. Never edited once issued: a credit note corrects it.

    Consumption invoices are numbered in central's series; works invoices in their agency's.
    Amounts are integer minor units of the installation's currency.
    """

    __tablename__ = "invoice"
    __table_args__ = (Index("ix_invoice_account_issued", "account_id", "issued_on"),)

    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[InvoiceKind]
    status: Mapped[InvoiceStatus] = mapped_column(default=InvoiceStatus.ISSUED)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"))
    contract_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contract.id"), index=True)
    works_quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("works_quote.id"))
    credited_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoice.id"))
    #: Billing period "YYYY-MM" of a consumption invoice.
    period: Mapped[str | None] = mapped_column(String(7))
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    issued_on: Mapped[date]
    due_on: Mapped[date | None]
    total_excl_vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    is_estimated: Mapped[bool] = mapped_column(default=False)

    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )


class InvoiceLine(Synced, Base):
    __tablename__ = "invoice_line"

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoice.id"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[InvoiceLineKind]
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit: Mapped[str] = mapped_column(String(10), default="")
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class Payment(Synced, Base):
    """An encaissement at the counter (or received by central), with its agency receipt number."""

    __tablename__ = "payment"
    __table_args__ = (Index("ix_payment_account_paid", "account_id", "paid_at"),)

    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoice.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[PaymentMethod]
    #: Cheque number, mobile money transaction id, transfer reference.
    reference: Mapped[str] = mapped_column(String(60), default="")
    paid_at: Mapped[datetime]
    received_by: Mapped[str] = mapped_column(String(40), default="")
    is_cancelled: Mapped[bool] = mapped_column(default=False)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    receipt_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
    #: When and by whom the payment was cancelled (the receipt stays; a slip is issued).
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str] = mapped_column(String(40), default="")
    cancellation_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
