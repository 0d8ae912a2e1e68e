"""Synchronisation records.

``SyncConflict`` and ``SyncParked`` travel like business rows (a supervisor sees them on both
sides and a resolution made at a desk goes up to central); ``SyncOutboxBatch`` and ``SyncRun``
stay on the desk: the batches it numbered and the ledger of its runs.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced
from app.models.ids import new_id, utcnow


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ConflictChoice(enum.StrEnum):
    """What the supervisor kept: the value central holds, the one the agency sent, or another."""

    CURRENT = "current"
    INCOMING = "incoming"
    CUSTOM = "custom"


class ParkedStatus(enum.StrEnum):
    PARKED = "parked"
    RETRY = "retry"
    APPLIED = "applied"
    DISCARDED = "discarded"


class SyncConflict(Synced, Base):
    """A concurrent change that no declared rule could merge: one row and field, with the value
    the edit started from (``old``), the one that arrived (``incoming``) and the one in place
    (``current``). Until resolved the current value stays."""

    __tablename__ = "sync_conflict"

    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[uuid.UUID] = mapped_column(index=True)
    field: Mapped[str] = mapped_column(String(60))
    #: ``agency`` (found applying an agency's batch at central) or ``central``.
    detected_by: Mapped[str] = mapped_column(String(10), default="central")
    batch_number: Mapped[int | None] = mapped_column(Integer)
    base_version: Mapped[int] = mapped_column(Integer)
    current_version: Mapped[int] = mapped_column(Integer)
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    incoming_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    current_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[ConflictStatus] = mapped_column(default=ConflictStatus.OPEN, index=True)
    choice: Mapped[ConflictChoice | None]
    #: The value kept when ``choice`` is ``custom``.
    chosen_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    resolved_by: Mapped[str] = mapped_column(String(40), default="")
    resolved_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")


class SyncParked(Synced, Base):
    """A journal entry that could not be applied (validation, missing parent), kept with its
    error; the entries that depend on it are parked with it (``blocked_by``)."""

    __tablename__ = "sync_parked"

    #: Where it was parked: ``central`` (an agency's upload) or ``desk`` (a download).
    side: Mapped[str] = mapped_column(String(10), default="central")
    batch_number: Mapped[int | None] = mapped_column(Integer)
    transaction_id: Mapped[uuid.UUID] = mapped_column(index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[uuid.UUID] = mapped_column(index=True)
    operation: Mapped[str] = mapped_column(String(10))
    #: The whole entry as it travelled (wire form), to apply it again.
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    blocked_by: Mapped[uuid.UUID | None]
    status: Mapped[ParkedStatus] = mapped_column(default=ParkedStatus.PARKED, index=True)
    resolved_by: Mapped[str] = mapped_column(String(40), default="")
    resolved_at: Mapped[datetime | None]


class SyncOutboxBatch(Base):
    """An upload batch this desk numbered: which journal entries it carries and how it went."""

    __tablename__ = "sync_outbox_batch"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(10), default="changes")
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    #: The gzip of the canonical payload, kept to send it again byte for byte (a lost
    #: acknowledgement, a central restored from backup).
    payload: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acked_at: Mapped[datetime | None]


class SyncRun(Base):
    """The ledger: one synchronisation run, its phases and its figures."""

    __tablename__ = "sync_run"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    #: ``running``, ``succeeded``, ``failed`` or ``interrupted``.
    status: Mapped[str] = mapped_column(String(12), default="running")
    trigger: Mapped[str] = mapped_column(String(12), default="manual")
    dry_run: Mapped[bool] = mapped_column(default=False)
    #: ``[{name, status, started_at, seconds, rows, bytes, retries, detail}]`` in order.
    phases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rows_up: Mapped[int] = mapped_column(Integer, default=0)
    rows_down: Mapped[int] = mapped_column(Integer, default=0)
    bytes_up: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_down: Mapped[int] = mapped_column(BigInteger, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    parked: Mapped[int] = mapped_column(Integer, default=0)
    #: Tables whose reconciliation found a difference (re-synchronised).
    mismatches: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")
