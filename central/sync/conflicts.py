"""The conflict queue: concurrent changes of a shared field that no rule merges, opened while
applying an agency's batch (they travel down to its desk), and the resolutions that come back
up from a desk (docs/sync.md, "Resolution travelling up")."""

from __future__ import annotations

from typing import Any

from app.models import SyncConflict, Synced
from app.models.sync import ConflictChoice, ConflictStatus
from app.sync import wire
from central.sync.recording import Recorder
from central.sync.tables import get_value, jsonable, model_of

WHOLE_ROW = "*"


def open_conflict(recorder: Recorder, obj: Synced, field: str, base: int, old: Any,
                  incoming: Any, batch_number: int | None) -> SyncConflict:
    conflict = SyncConflict(
        agency_id=recorder.agency_id,
        table_name=obj.__tablename__,  # type: ignore[attr-defined]
        row_id=obj.id,
        field=field,
        detected_by="agency",
        batch_number=batch_number,
        base_version=base,
        current_version=obj.version,
        old_value=jsonable(old),
        incoming_value=jsonable(incoming),
        current_value=None if field == WHOLE_ROW else jsonable(get_value(obj, field)),
        status=ConflictStatus.OPEN,
        version=1,
    )
    recorder.insert(conflict, central=True)
    return conflict


def resolve(recorder: Recorder, conflict: SyncConflict) -> None:
    """Applies a resolution to the row as a central change: ``current`` keeps it,
    ``incoming`` takes the agency's value, ``custom`` the chosen one."""
    if conflict.choice in (None, ConflictChoice.CURRENT):
        return
    value = conflict.incoming_value if conflict.choice is ConflictChoice.INCOMING \
        else conflict.chosen_value
    session = recorder.session
    row = session.get(model_of(conflict.table_name), conflict.row_id)
    if row is None or row.agency_id != recorder.agency_id:
        return
    if conflict.field == WHOLE_ROW:
        if conflict.choice is ConflictChoice.INCOMING:
            recorder.delete(row, row.version + 1, central=True)
        return
    python = wire.from_wire(wire.table(conflict.table_name), conflict.field, value)
    recorder.update(row, {conflict.field: python}, row.version + 1, central=True)


def became_resolved(before: Any, conflict: SyncConflict) -> bool:
    return before != ConflictStatus.RESOLVED and conflict.status is ConflictStatus.RESOLVED
