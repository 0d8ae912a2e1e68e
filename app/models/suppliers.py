"""Invoices the utility receives from its suppliers (electricity, telecom), integrated at central
from their EDIFACT INVOIC messages and read-only on the desks of the agency owning the site.

Amounts are integer minor units of the invoice's own currency (``currency``), signed: a credit
note's amounts are negative, so that sums are what is owed.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.types import ScaledDecimal


class SupplierInvoice(Synced, Base):
    __tablename__ = "supplier_invoice"
    __table_args__ = (
        UniqueConstraint("supplier_code", "number", "is_credit_note"),
        Index("ix_supplier_invoice_agency_issued", "agency_id", "issued_on"),
    )

    #: The supplier's party identification (``NAD+SU``) and its name at integration.
    supplier_code: Mapped[str] = mapped_column(String(35))
    supplier_name: Mapped[str] = mapped_column(String(120))
    #: The supplier's document number (``BGM``).
    number: Mapped[str] = mapped_column(String(35))
    is_credit_note: Mapped[bool] = mapped_column(default=False)
    issued_on: Mapped[date]
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    #: The header's site or delivery point (``NAD+DP``); empty when lines are for several sites.
    site_reference: Mapped[str | None] = mapped_column(String(35))
    currency: Mapped[str] = mapped_column(String(3))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    #: Where it came from: the interchange's sender and reference, the message's reference.
    sender: Mapped[str] = mapped_column(String(35))
    interchange_reference: Mapped[str] = mapped_column(String(14))
    message_reference: Mapped[str] = mapped_column(String(14))
    received_at: Mapped[datetime]

    lines: Mapped[list[SupplierInvoiceLine]] = relationship(
        back_populates="invoice", order_by="SupplierInvoiceLine.position"
    )


class SupplierInvoiceLine(Synced, Base):
    __tablename__ = "supplier_invoice_line"

    supplier_invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("supplier_invoice.id"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    site_reference: Mapped[str] = mapped_column(String(35))
    label: Mapped[str] = mapped_column(String(200), default="")
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    quantity: Mapped[Decimal | None] = mapped_column(ScaledDecimal(3))
    unit: Mapped[str] = mapped_column(String(10), default="")
    unit_price: Mapped[Decimal | None] = mapped_column(ScaledDecimal(5))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))
    vat_minor: Mapped[int] = mapped_column(BigInteger)

    invoice: Mapped[SupplierInvoice] = relationship(back_populates="lines")
