"""Tables only the central server has: agency credentials, the billing run ledger and the billing
state of each contract and period.

They live on their own declarative base and metadata, migrated by ``central/migrations`` with
their own version table, so that the shared schema (``app.models``) stays the one the desks have.
They never hold a foreign key to a shared table: plain UUID columns point to shared rows.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Index, Integer, MetaData, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.models.base import NAMING_CONVENTION
from app.models.ids import new_id, utcnow
from app.models.types import UTCDateTime, enum_column


class CentralBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: Uuid(),
        datetime: UTCDateTime(),
        enum.Enum: enum_column(enum.Enum),
    }


class CredentialKind(enum.StrEnum):
    AGENCY = "agency"
    ADMIN = "admin"


class Credential(CentralBase):
    """A bearer credential: a high-entropy random token of which only the SHA-256 is kept."""

    __tablename__ = "central_credential"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    kind: Mapped[CredentialKind]
    #: The agency it speaks for (empty for an administrator credential).
    agency_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    agency_code: Mapped[str | None] = mapped_column(String(3))
    label: Mapped[str] = mapped_column(String(120), default="")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class BillingRun(CentralBase):
    """One ``bill`` command: what it billed, chunk by chunk (each chunk commits its counters)."""

    __tablename__ = "billing_run"
    __table_args__ = (Index("ix_billing_run_period_started", "period", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    period: Mapped[str] = mapped_column(String(7))
    #: Agency the run was limited to (empty: every agency).
    agency_code: Mapped[str | None] = mapped_column(String(3))
    issued_on: Mapped[date]
    status: Mapped[RunStatus] = mapped_column(default=RunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    invoices: Mapped[int] = mapped_column(Integer, default=0)
    credit_notes: Mapped[int] = mapped_column(Integer, default=0)
    estimated: Mapped[int] = mapped_column(Integer, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Keyset cursor: the last contract id of the last committed chunk.
    last_contract_id: Mapped[uuid.UUID | None]
    #: The unfinished run of the same period this one took over from.
    resumed_from: Mapped[uuid.UUID | None]
    error: Mapped[str] = mapped_column(Text, default="")


class BilledPeriod(CentralBase):
    """Where billing of one contract stands after one period: the guard that a period is billed
    once (primary key), and the meter points the next invoice starts from.

    ``base_*`` is the point the invoice's consumption started from, ``end_*`` the point it reached
    (a real reading, or the estimate recorded for it). While estimates follow one another,
    ``anchor_*`` keeps the last real point and ``anchor_since`` the first estimated day, so that
    the next real reading credits the estimated invoices and bills the whole stretch again.
    """

    __tablename__ = "billed_period"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(index=True)
    run_id: Mapped[uuid.UUID | None]
    window_start: Mapped[date]
    window_end: Mapped[date]
    is_estimated: Mapped[bool] = mapped_column(default=False)
    base_meter_id: Mapped[uuid.UUID | None]
    base_day: Mapped[date | None]
    base_index: Mapped[int | None] = mapped_column(BigInteger)
    end_meter_id: Mapped[uuid.UUID | None]
    end_day: Mapped[date | None]
    end_index: Mapped[int | None] = mapped_column(BigInteger)
    anchor_meter_id: Mapped[uuid.UUID | None]
    anchor_day: Mapped[date | None]
    anchor_index: Mapped[int | None] = mapped_column(BigInteger)
    anchor_since: Mapped[date | None]
