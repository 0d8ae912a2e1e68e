"""Where synchronisation stands: the database generation and each agency's state, whose row is
also the lock that makes an agency's uploads follow one another (and only that agency's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.models.ids import utcnow
from central.models import AgencySyncState, DatabaseGeneration, SyncBatch
from kernel import wire


def generation(session: Session) -> uuid.UUID:
    return session.scalars(
        select(DatabaseGeneration.generation).where(DatabaseGeneration.id == 1)
    ).one()


def rotate_generation(session: Session) -> uuid.UUID:
    """A new generation: after a restore, desks must not trust the commits they saw."""
    fresh = uuid.uuid4()
    session.execute(
        update(DatabaseGeneration).where(DatabaseGeneration.id == 1)
        .values(generation=fresh, since=utcnow())
    )
    return fresh


def locked_state(session: Session, agency_id: uuid.UUID) -> AgencySyncState:
    """The agency's state row, locked until the end of the transaction (created if needed)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(AgencySyncState).values(agency_id=agency_id, adopted=False, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["agency_id"])
    )
    return session.scalars(
        select(AgencySyncState).where(AgencySyncState.agency_id == agency_id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def read_state(session: Session, agency_id: uuid.UUID) -> AgencySyncState | None:
    return session.get(AgencySyncState, agency_id)


def agency_has_rows(session: Session, agency_id: uuid.UUID) -> bool:
    """Whether central holds rows of this agency (its own ``agency`` row aside)."""
    for table in wire.synced_tables():
        if table.name == "agency":
            continue
        if session.scalar(select(exists().where(table.c.agency_id == agency_id))):
            return True
    return False


#: How long an adoption may last from its first batch: past it, adoption is over whether the
#: desk closed it or not (the desk then rebuilds itself from central).
ADOPTION_WINDOW = timedelta(days=7)


def adoption_expired(session: Session, agency_id: uuid.UUID) -> bool:
    first = session.scalar(select(func.min(SyncBatch.received_at)).where(
        SyncBatch.agency_id == agency_id, SyncBatch.kind == "adoption"))
    if first is None:
        return False
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return utcnow() - first > ADOPTION_WINDOW


def adopted(session: Session, agency_id: uuid.UUID) -> bool:
    """No adoption is expected from the desk: it was closed (``POST adopted`` or a first
    batch of changes), its window is over, or central already held the agency's rows without
    one (they are bootstrapped from central)."""
    found = read_state(session, agency_id)
    if found is not None and found.adopted:
        return True
    if adoption_expired(session, agency_id):
        return True
    adopting = session.scalar(select(exists().where(
        SyncBatch.agency_id == agency_id, SyncBatch.kind == "adoption")))
    return not adopting and agency_has_rows(session, agency_id)


def last_batch(session: Session, agency_id: uuid.UUID) -> int:
    return int(session.scalar(
        select(func.coalesce(func.max(SyncBatch.number), 0)).where(SyncBatch.agency_id == agency_id)
    ) or 0)


@dataclass(frozen=True)
class Agency:
    """The agency a request or a bundle speaks for."""

    id: uuid.UUID
    code: str
