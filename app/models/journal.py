"""The write path's records: audit entries, the sync journal, sync state and number series."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.enums import JournalOperation
from app.models.ids import new_id, utcnow


class AuditEntry(Base):
    """Who changed what and when, field by field (old → new). Append-only."""

    __tablename__ = "audit_entry"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    agency_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    username: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[uuid.UUID] = mapped_column(index=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[uuid.UUID] = mapped_column(index=True)
    operation: Mapped[JournalOperation]
    #: ``{field: [old, new]}`` in JSON-safe form.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(200), default="")


class SyncJournalEntry(Base):
    """One captured change waiting to be uploaded, in the order the desk committed it."""

    __tablename__ = "sync_journal"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    agency_id: Mapped[uuid.UUID | None]
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[uuid.UUID]
    operation: Mapped[JournalOperation]
    #: Version the edit started from (0 for an insert) and the version it produced.
    base_version: Mapped[int] = mapped_column(Integer)
    new_version: Mapped[int] = mapped_column(Integer)
    #: ``{field: [old, new]}`` of the changed fields only.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    schema_version: Mapped[int] = mapped_column(SmallInteger)
    #: Upload batch that carried it (empty until sent).
    batch_number: Mapped[int | None] = mapped_column(Integer, index=True)


class SyncState(Base):
    """Progress of synchronisation for one agency on this database, one row per key."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NumberSeries(Base):
    """The last number handed out per agency, series and year (gapless: it moves inside the
    transaction that uses the number, so a rollback gives it back)."""

    __tablename__ = "number_series"

    agency_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger, default=0)


class InstallationSetting(Base):
    """Facts fixed when this database was created (its currency, its agency), checked at start."""

    __tablename__ = "installation_setting"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
