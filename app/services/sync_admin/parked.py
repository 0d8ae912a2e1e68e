"""The parked rows: changes that could not be applied, retried or discarded by a supervisor
(with the rows they block)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.models.ids import utcnow
from app.models.sync import ParkedStatus, SyncParked
from app.services.sync_admin.supervision import get_for_write, require_supervisor
from app.services.sync_admin.texts import readable, row_caption
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import BusinessError, NotFoundError
from kernel.vocabulary import (
    OPERATION_LABELS,
    PARKED_STATUS_LABELS,
    sync_field_label,
    table_label,
)


@dataclass(frozen=True)
class ParkedRecord:
    id: uuid.UUID
    version: int
    parked_at: datetime
    side: str
    side_label: str
    batch_number: int | None
    transaction_id: uuid.UUID
    seq: int
    table_name: str
    table_label: str
    row_id: uuid.UUID
    row_caption: str
    operation: str
    operation_label: str
    error: str
    blocked_by: uuid.UUID | None
    status: ParkedStatus
    status_label: str
    resolved_by: str
    resolved_at: datetime | None
    changes_text: str


def _changes_text(entry: dict[str, Any]) -> str:
    changes = entry.get("changes") if isinstance(entry, dict) else None
    if not isinstance(changes, dict):
        return ""
    parts = []
    for field, pair in changes.items():
        new = pair[1] if isinstance(pair, list) and len(pair) == 2 else pair
        parts.append(f"{sync_field_label(field)} : {readable(new)}")
    return " · ".join(parts)


def _parked(row: SyncParked, caption: str = "") -> ParkedRecord:
    return ParkedRecord(
        id=row.id,
        version=row.version,
        parked_at=row.created_at,
        side=row.side,
        side_label="Site central" if row.side == "central" else "Ce poste",
        batch_number=row.batch_number,
        transaction_id=row.transaction_id,
        seq=row.seq,
        table_name=row.table_name,
        table_label=table_label(row.table_name),
        row_id=row.row_id,
        row_caption=caption,
        operation=row.operation,
        operation_label=OPERATION_LABELS.get(row.operation, row.operation),
        error=row.error or ("Bloquée par une ligne en attente" if row.blocked_by else ""),
        blocked_by=row.blocked_by,
        status=row.status,
        status_label=PARKED_STATUS_LABELS.get(row.status, str(row.status)),
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        changes_text=_changes_text(row.entry),
    )


def list_parked(
    ctx: ServiceContext, statuses: Sequence[ParkedStatus] | None = (ParkedStatus.PARKED,),
    limit: int = 500,
) -> list[ParkedRecord]:
    """Parked rows in the order they travelled."""
    with ctx.reading() as session:
        query = select(SyncParked)
        if statuses:
            query = query.where(SyncParked.status.in_(list(statuses)))
        query = query.order_by(SyncParked.seq, SyncParked.created_at, SyncParked.id)
        return [
            _parked(r, row_caption(session, r.table_name, r.row_id))
            for r in session.scalars(query.limit(limit))
        ]


def count_parked(ctx: ServiceContext) -> int:
    with ctx.reading() as session:
        return session.scalar(
            select(func.count()).select_from(SyncParked)
            .where(SyncParked.status == ParkedStatus.PARKED)
        ) or 0


def retry_parked(ctx: ServiceContext, parked_id: uuid.UUID, expected_version: int) -> int:
    """Asks for the row (and the rows it blocks) to be applied again at the next run; returns
    how many rows were marked."""
    return _settle_parked(ctx, parked_id, expected_version, ParkedStatus.RETRY, "réessayer")


def discard_parked(ctx: ServiceContext, parked_id: uuid.UUID, expected_version: int) -> int:
    """Drops the row and the rows it blocks; returns how many rows were marked."""
    return _settle_parked(ctx, parked_id, expected_version, ParkedStatus.DISCARDED, "abandonner")


def _settle_parked(
    ctx: ServiceContext,
    parked_id: uuid.UUID,
    expected_version: int,
    status: ParkedStatus,
    verb: str,
) -> int:
    require_supervisor(ctx, f"{verb} une ligne en attente")
    assert ctx.user is not None
    with ctx.reading() as session:
        side = session.scalar(select(SyncParked.side).where(SyncParked.id == parked_id))
    if side is None:
        raise NotFoundError("Ligne en attente introuvable : elle a peut-être déjà été traitée.")
    # A row parked here while applying central's changes is this desk's own bookkeeping (not
    # journaled); one parked at central travels back up with the decision.
    uow = UnitOfWork(ctx.db, ctx.actor, from_server=side == "desk")
    with uow:
        row = get_for_write(uow, SyncParked, parked_id, expected_version, "Ligne en attente")
        if row.status is not ParkedStatus.PARKED:
            raise BusinessError(
                "Cette ligne n'est plus en attente "
                f"({PARKED_STATUS_LABELS.get(row.status, str(row.status)).lower()})."
            )
        rows = [row]
        rows += uow.session.scalars(
            select(SyncParked)
            .where(
                SyncParked.blocked_by == row.id,
                SyncParked.status == ParkedStatus.PARKED,
                SyncParked.id != row.id,
            )
            .order_by(SyncParked.seq)
        ).all()
        now = utcnow()
        for each in rows:
            each.status = status
            each.resolved_by = ctx.user.username
            each.resolved_at = now
        uow.commit()
        return len(rows)
