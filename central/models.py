"""Tables only the central server has: agency credentials, the billing run ledger, the billing
state of each contract and period, and the synchronisation records (batches received, commit
numbering, database generation, per-agency state).

They live on their own declarative base and metadata, migrated by ``central/migrations`` with
their own version table, so that the shared schema (``app.models``) stays the one the desks have.
They never hold a foreign key to a shared table: plain UUID columns point to shared rows.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
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
    #: Left ``running`` by a process that died; found and marked by ``settle_dead_runs``.
    INTERRUPTED = "interrupted"


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
    #: The machine and process running it (a dead run is found by its process).
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


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


class SyncBatch(CentralBase):
    """An agency's upload batch central committed: the proof that it is applied once."""

    __tablename__ = "sync_batch"
    __table_args__ = (UniqueConstraint("agency_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agency_id: Mapped[uuid.UUID]
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    #: ``changes`` or ``adoption``.
    kind: Mapped[str] = mapped_column(String(10), default="changes")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The answer given when it was applied (counts per outcome).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CommitCounter(CentralBase):
    """The single numbering point of central's commits: one row, taken last in a transaction."""

    __tablename__ = "sync_commit_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncCommit(CentralBase):
    """A numbered central transaction that wrote journal entries, in commit order."""

    __tablename__ = "sync_commit"
    #: Central's own commits (no origin): a download reads only these and the journal of its
    #: agency's, never the millions of other agencies' upload commits of a night, whether or
    #: not the table has statistics yet.
    __table_args__ = (Index("ix_sync_commit_central", "no",
                            postgresql_where=text("origin_agency_id IS NULL"),
                            sqlite_where=text("origin_agency_id IS NULL")),
                      # An agency's download finds its own commits without reading the
                      # journal of the others' (forty billing runs a night).
                      Index("ix_sync_commit_agency", "agency_id", "no",
                            postgresql_where=text("origin_agency_id IS NULL"),
                            sqlite_where=text("origin_agency_id IS NULL")))

    no: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transaction_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    #: The agency whose upload it applied unchanged (its desk already has these rows).
    origin_agency_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The one agency every journal entry of the commit belongs to: only its download reads
    #: the commit. Empty when the commit holds shared rows or several agencies' rows, or was
    #: numbered before this was kept: every download reads it.
    agency_id: Mapped[uuid.UUID | None]


class DatabaseGeneration(CentralBase):
    """The identity of this copy of the database: changed after a restore from backup, so the
    desks know that commits they saw may be gone."""

    __tablename__ = "sync_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[uuid.UUID]
    since: Mapped[datetime] = mapped_column(default=utcnow)


class AgencySyncState(CentralBase):
    """Where synchronisation stands for one agency; its row is also the agency's upload lock."""

    __tablename__ = "sync_agency"

    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    #: Adoption closed (``POST adopted``): no adoption batch is accepted any more.
    adopted: Mapped[bool] = mapped_column(default=False)
    #: Last period billed by ``POST close`` for this agency.
    last_billed_period: Mapped[str | None] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NightReport(CentralBase):
    """What a desk's nightly run reports at its end: its download and its reconciliation (the
    night's control room, ``python -m central night status``)."""

    __tablename__ = "night_report"
    __table_args__ = (Index("ix_night_report_agency_at", "agency_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agency_id: Mapped[uuid.UUID]
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The desk run's outcome: ``done``, ``warning`` (differences repaired) or ``failed``.
    status: Mapped[str] = mapped_column(String(12))
    #: Central commits downloaded and rows applied by the desk.
    commits: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    parked: Mapped[int] = mapped_column(Integer, default=0)
    #: Tables whose counts or checksums differed at reconciliation.
    mismatches: Mapped[list[str]] = mapped_column(JSON, default=list)
    repaired_rows: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")


class VendingOperator(CentralBase):
    """A mobile-money operator selling through the vending platform: its own credential (only
    the SHA-256 kept), separate from the agencies', and its limits."""

    __tablename__ = "vending_operator"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: Per sale (minor units) and per paying phone and local day.
    min_amount_minor: Mapped[int] = mapped_column(BigInteger, default=100)
    max_amount_minor: Mapped[int] = mapped_column(BigInteger, default=500_000)
    max_payer_day_minor: Mapped[int] = mapped_column(BigInteger, default=1_000_000)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class VendingRequest(CentralBase):
    """An operator's purchase reference, taken once: the guard that makes a purchase
    idempotent (its primary key), with the figures it was made with."""

    __tablename__ = "vending_request"

    operator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), primary_key=True)
    #: SHA-256 of the figures (meter, amount, phone, channel): a reuse with others is refused.
    digest: Mapped[str] = mapped_column(String(64))
    vend_id: Mapped[uuid.UUID]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class VendingMeter(CentralBase):
    """What the platform knows of a prepaid meter's key (the key the meter holds, which the
    record may since have moved on from: the next sale sends the key change first), the last
    TID it was given, and a block. Its row is also the meter's sale lock."""

    __tablename__ = "vending_meter"

    meter_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    drn: Mapped[str] = mapped_column(String(13), unique=True)
    sgc: Mapped[int] = mapped_column(Integer)
    ti: Mapped[int] = mapped_column(Integer)
    krn: Mapped[int] = mapped_column(Integer)
    kt: Mapped[int] = mapped_column(Integer)
    ken: Mapped[int] = mapped_column(Integer)
    base_date: Mapped[int] = mapped_column(Integer)
    last_tid: Mapped[int | None] = mapped_column(Integer)
    blocked_reason: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    ACKNOWLEDGED = "acknowledged"
    #: The meter answered and refused a token.
    REFUSED = "refused"
    #: No meter answer after every try.
    UNACKNOWLEDGED = "unacknowledged"


class HesDelivery(CentralBase):
    """Tokens of a sale the HES pushes to the meter, with its tries."""

    __tablename__ = "hes_delivery"
    __table_args__ = (Index("ix_hes_delivery_status_next", "status", "next_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vend_id: Mapped[uuid.UUID] = mapped_column(index=True)
    drn: Mapped[str] = mapped_column(String(13))
    #: Space-separated, in the order to enter them; ``delivered`` of them the meter took.
    tokens: Mapped[str] = mapped_column(String(200))
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[DeliveryStatus] = mapped_column(default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_answer: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SmsStatusCentral(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class SmsMessage(CentralBase):
    """The SMS outbox: a message waits here until the gateway took it (or every try failed)."""

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_status_next", "status", "next_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    vend_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    text: Mapped[str] = mapped_column(String(160))
    status: Mapped[SmsStatusCentral] = mapped_column(default=SmsStatusCentral.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class EdifactSupplier(CentralBase):
    """A supplier whose EDIFACT invoices are integrated, by its ``NAD+SU`` party identification."""

    __tablename__ = "edifact_supplier"

    code: Mapped[str] = mapped_column(String(35), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdifactSite(CentralBase):
    """A supplier's site or delivery point (``NAD+DP`` / ``LOC+7``) and the agency owning it."""

    __tablename__ = "edifact_site"

    supplier_code: Mapped[str] = mapped_column(String(35), primary_key=True)
    reference: Mapped[str] = mapped_column(String(35), primary_key=True)
    agency_id: Mapped[uuid.UUID]
    agency_code: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EdifactInterchange(CentralBase):
    """An interchange integrated once: its sender and reference (``UNB``) are the guard."""

    __tablename__ = "edifact_interchange"
    __table_args__ = (UniqueConstraint("sender", "reference"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sender: Mapped[str] = mapped_column(String(35))
    reference: Mapped[str] = mapped_column(String(14))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Empty while it is being integrated (an interrupted import resumes it).
    completed_at: Mapped[datetime | None]
    messages: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    #: The rejected messages: ``[{message, reason}]``.
    rejections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
