"""Prepaid vending: one sale of energy and the STS token it produced."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced
from app.models.enums import SmsStatus, VendChannel, VendStatus
from app.models.ids import new_id, utcnow
from app.models.types import ScaledDecimal


class VendTransaction(Synced, Base):
    __tablename__ = "vend_transaction"
    __table_args__ = (
        Index("ix_vend_transaction_meter_sold", "meter_id", "sold_at"),
        # A paying phone's sales of the day (operators' daily limit, look-ups by phone).
        Index("ix_vend_transaction_phone_sold", "phone", "sold_at"),
    )

    receipt_number: Mapped[str] = mapped_column(String(24), unique=True)
    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meter.id"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    tariff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tariff.id"))
    channel: Mapped[VendChannel]
    status: Mapped[VendStatus] = mapped_column(default=VendStatus.COMPLETED)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: The split of ``amount_minor``: energy (before VAT), monthly fixed charge (before VAT),
    #: arrears recovered for the account, VAT.
    energy_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    fixed_charge_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    arrears_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: Energy sold in the meter's unit (kWh or m³), to 0.1.
    energy: Mapped[Decimal] = mapped_column(ScaledDecimal(1))
    token: Mapped[str] = mapped_column(String(20), default="", index=True)
    token_class: Mapped[int] = mapped_column(SmallInteger, default=0)
    token_subclass: Mapped[int] = mapped_column(SmallInteger, default=0)
    token_tid: Mapped[int | None] = mapped_column(Integer)
    #: Key change tokens to enter before ``token`` (space-separated, in order), when the
    #: meter's key had to change (new KRN/TI, base-date roll-over).
    key_change_tokens: Mapped[str] = mapped_column(String(120), default="", server_default="")
    #: The mobile-money operator (vending platform sales), empty for a desk sale.
    operator_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    sms_status: Mapped[SmsStatus] = mapped_column(default=SmsStatus.NOT_REQUESTED)
    operator_reference: Mapped[str] = mapped_column(String(60), default="", index=True)
    sold_at: Mapped[datetime]
    sold_by: Mapped[str] = mapped_column(String(40), default="")
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    reprint_count: Mapped[int] = mapped_column(Integer, default=0)


class PendingVendSale(Base):
    """A counter sale this desk asked of central (local to the desk, never synchronised):
    written and committed **before** the request leaves, so a crash or a cut line never loses
    the key the sale must be asked again with (one sale, one token, one payment). On central's
    sale the row is kept and marked sold (receipt, amount sold, ``sold_at``): the desk's own
    ledger of its counter sales, counted by the cash-up before the nightly sync brings the
    ``vend_transaction``; on a refusal it is deleted (nothing sold). ``sold_at`` empty: still
    waiting for central's answer."""

    __tablename__ = "prepaid_pending_sale"

    #: The idempotency key sent to central (``GUICHET-…``).
    reference: Mapped[str] = mapped_column(String(60), primary_key=True)
    meter: Mapped[str] = mapped_column(String(30))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    phone: Mapped[str] = mapped_column(String(20))
    agent: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Central's answer (empty while the sale waits for it).
    receipt: Mapped[str | None] = mapped_column(String(24))
    sold_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    sold_at: Mapped[datetime | None]


class CashDay(Base):
    """An agent's till for one day of the agency's time zone (local to the agency's database,
    never synchronised; the closed report goes to central as a ``document``): the agent's
    count (submitted, may be submitted again until closed), then a supervisor's closing with
    the figures locked. Once ``closed_at`` is set nothing more is taken into that day."""

    __tablename__ = "cash_day"
    __table_args__ = (UniqueConstraint("agent", "day"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent: Mapped[str] = mapped_column(String(40))
    day: Mapped[date]
    #: The agent's count (empty until submitted).
    counted_minor: Mapped[int | None] = mapped_column(BigInteger)
    count_reason: Mapped[str] = mapped_column(Text, default="")
    counted_by: Mapped[str] = mapped_column(String(40), default="")
    counted_at: Mapped[datetime | None]
    #: The cash expected when the count was submitted (a later operation makes it stale).
    expected_at_count: Mapped[int | None] = mapped_column(BigInteger)
    #: The supervisor's closing: the figures as locked.
    closed_by: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]
    expected_minor: Mapped[int | None] = mapped_column(BigInteger)
    closed_counted_minor: Mapped[int | None] = mapped_column(BigInteger)
    difference_minor: Mapped[int | None] = mapped_column(BigInteger)
    closing_reason: Mapped[str] = mapped_column(Text, default="")
    #: ``{means of payment: total minor}`` at closing.
    by_method: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    filename: Mapped[str] = mapped_column(String(120), default="")
