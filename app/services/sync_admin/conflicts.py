"""The conflict queue: what a supervisor decides when the agency and central both changed a
field. The decision is a business write (audited, journaled) that travels up to central."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.models.ids import utcnow
from app.models.sync import ConflictChoice, ConflictStatus, SyncConflict
from app.services.sync_admin.supervision import get_for_write, require_supervisor
from app.services.sync_admin.texts import readable, row_caption
from kernel.context import ServiceContext
from kernel.errors import BusinessError, ValidationError
from kernel.vocabulary import CONFLICT_CHOICE_LABELS, sync_field_label, table_label


@dataclass(frozen=True)
class ConflictRecord:
    id: uuid.UUID
    version: int
    detected_at: datetime
    detected_by: str
    batch_number: int | None
    table_name: str
    table_label: str
    row_id: uuid.UUID
    row_caption: str
    field: str
    field_label: str
    old_text: str
    incoming_text: str
    current_text: str
    status: ConflictStatus
    choice: ConflictChoice | None
    choice_label: str
    chosen_text: str
    resolved_by: str
    resolved_at: datetime | None
    note: str
    incoming_value: Any
    current_value: Any


def _conflict(row: SyncConflict, caption: str = "") -> ConflictRecord:
    field = row.field
    return ConflictRecord(
        id=row.id,
        version=row.version,
        detected_at=row.created_at,
        detected_by=row.detected_by,
        batch_number=row.batch_number,
        table_name=row.table_name,
        table_label=table_label(row.table_name),
        row_id=row.row_id,
        row_caption=caption,
        field=field,
        field_label=sync_field_label(field),
        old_text=readable(row.old_value),
        incoming_text=readable(row.incoming_value),
        current_text=readable(row.current_value),
        status=row.status,
        choice=row.choice,
        choice_label=CONFLICT_CHOICE_LABELS.get(row.choice, "") if row.choice else "",
        chosen_text=_chosen_text(row),
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        note=row.note,
        incoming_value=row.incoming_value,
        current_value=row.current_value,
    )


def _chosen_text(row: SyncConflict) -> str:
    if row.choice is ConflictChoice.CURRENT:
        return readable(row.current_value)
    if row.choice is ConflictChoice.INCOMING:
        return readable(row.incoming_value)
    if row.choice is ConflictChoice.CUSTOM:
        return readable(row.chosen_value)
    return ""


def list_conflicts(
    ctx: ServiceContext, status: ConflictStatus | None = ConflictStatus.OPEN, limit: int = 500
) -> list[ConflictRecord]:
    """Conflicts, oldest open first (resolved ones: newest resolution first)."""
    with ctx.reading() as session:
        query = select(SyncConflict)
        if status is not None:
            query = query.where(SyncConflict.status == status)
        if status is ConflictStatus.RESOLVED:
            query = query.order_by(SyncConflict.resolved_at.desc(), SyncConflict.id)
        else:
            query = query.order_by(SyncConflict.created_at, SyncConflict.id)
        return [
            _conflict(r, row_caption(session, r.table_name, r.row_id))
            for r in session.scalars(query.limit(limit))
        ]


def count_open_conflicts(ctx: ServiceContext) -> int:
    with ctx.reading() as session:
        return session.scalar(
            select(func.count()).select_from(SyncConflict)
            .where(SyncConflict.status == ConflictStatus.OPEN)
        ) or 0


def _custom_value(text: str, like: Sequence[Any]) -> Any:
    """The agent's text in the type of the values in conflict (a number stays a number)."""
    stripped = text.strip()
    samples = [v for v in like if v is not None]
    if samples and all(isinstance(v, bool) for v in samples):
        lowered = stripped.lower()
        if lowered in ("oui", "vrai", "true", "1"):
            return True
        if lowered in ("non", "faux", "false", "0"):
            return False
        raise ValidationError({"value": "Saisissez « oui » ou « non »."})
    if samples and all(isinstance(v, int) and not isinstance(v, bool) for v in samples):
        try:
            return int(stripped.replace("\u202f", "").replace(" ", ""))
        except ValueError as error:
            raise ValidationError({"value": "Saisissez un nombre entier."}) from error
    if samples and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in samples):
        try:
            return float(stripped.replace(",", "."))
        except ValueError as error:
            raise ValidationError({"value": "Saisissez un nombre."}) from error
    return stripped or None


def resolve_conflict(
    ctx: ServiceContext,
    conflict_id: uuid.UUID,
    expected_version: int,
    choice: ConflictChoice,
    custom_text: str = "",
    note: str = "",
) -> ConflictRecord:
    """Records the supervisor's choice; central applies it when the resolution arrives."""
    require_supervisor(ctx, "résoudre un conflit de synchronisation")
    assert ctx.user is not None
    with ctx.unit_of_work() as uow:
        row = get_for_write(uow, SyncConflict, conflict_id, expected_version, "Conflit")
        if row.status is not ConflictStatus.OPEN:
            raise BusinessError("Ce conflit est déjà résolu.")
        if choice is ConflictChoice.CUSTOM:
            if not custom_text.strip():
                raise ValidationError({"value": "Saisissez la valeur à garder."})
            if row.field == "*":
                raise BusinessError(
                    "Une suppression en conflit se résout en gardant la ligne ou en la supprimant."
                )
            row.chosen_value = _custom_value(custom_text, (row.current_value, row.incoming_value))
        elif choice is ConflictChoice.INCOMING:
            row.chosen_value = row.incoming_value
        else:
            row.chosen_value = row.current_value
        row.choice = choice
        row.status = ConflictStatus.RESOLVED
        row.resolved_by = ctx.user.username
        row.resolved_at = utcnow()
        row.note = note.strip()
        uow.commit()
        return _conflict(row, row_caption(uow.session, row.table_name, row.row_id))
