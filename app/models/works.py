"""Works (AGT): the catalogue, quotes and their lines. Works invoices are ``Invoice`` rows."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.enums import Energy, QuoteStatus
from app.models.types import ScaledDecimal


class WorksCatalogueItem(Synced, Base):
    """A priced works item of central's catalogue (connection, meter move, trench per metre...)."""

    __tablename__ = "works_catalogue_item"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60), default="")
    energy: Mapped[Energy | None]
    unit: Mapped[str] = mapped_column(String(10), default="u")
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    is_active: Mapped[bool] = mapped_column(default=True)


class WorksQuote(Synced, Base):
    """A devis de travaux, numbered in its agency's series; approval is recorded on the file."""

    __tablename__ = "works_quote"

    number: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[QuoteStatus] = mapped_column(default=QuoteStatus.DRAFT)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"), index=True)
    premise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("premise.id"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    approved_on: Mapped[date | None]
    #: Name of who signed the approval for the customer.
    approved_by: Mapped[str] = mapped_column(String(120), default="")
    refused_reason: Mapped[str] = mapped_column(Text, default="")
    total_excl_vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    prepared_by: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    lines: Mapped[list[WorksQuoteLine]] = relationship(
        back_populates="quote", order_by="WorksQuoteLine.position", cascade="all, delete-orphan"
    )


class WorksQuoteLine(Synced, Base):
    __tablename__ = "works_quote_line"

    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("works_quote.id"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    catalogue_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("works_catalogue_item.id")
    )
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit: Mapped[str] = mapped_column(String(10), default="u")
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    quote: Mapped[WorksQuote] = relationship(back_populates="lines")
