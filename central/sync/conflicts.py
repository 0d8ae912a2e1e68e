"""The conflict queue: concurrent changes of a shared field that no rule merges, opened while
applying an agency's batch (they travel down to its desk), and the resolutions that come back
up from a desk (docs/sync.md, "Resolution travelling up").

A resolution is accepted only for a conflict central opened and that is still open, on a row of
the answering agency, for a field that agency may change, with a value it may write: the
conflict's row, field and values are central's (``ownership``), only the answer is the desk's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.models import SyncConflict, Synced
from app.models.ownership import TABLE_OWNER, Owner, agency_may_change
from app.models.sync import ConflictChoice, ConflictStatus
from central.sync import values
from central.sync.parking import Refusal
from central.sync.recording import Recorder
from central.sync.tables import UnknownTable, get_value, jsonable, model_of
from kernel import wire

if TYPE_CHECKING:
    from central.sync.apply import Applier

WHOLE_ROW = "*"
_ANSWER = frozenset({"status", "choice", "chosen_value"})


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


@dataclass(frozen=True)
class Resolution:
    """What a checked resolution does to its row: delete it, set the field, or nothing."""

    row: Synced | None = None
    delete: bool = False
    value: Any = None
    sets: bool = False


def check_answer(applier: Applier, conflict: SyncConflict,
                 answer: dict[str, Any]) -> Resolution | None:
    """The resolution the desk's answer asks for, checked before anything is written;
    ``Refusal`` for an answer the agency may not give, ``ParkError`` for a value it may not
    write. None when the answer resolves nothing."""
    if not _ANSWER & set(answer):
        return None
    if conflict.status is not ConflictStatus.OPEN:
        raise Refusal("conflit déjà résolu au central")
    if answer.get("status", conflict.status) is not ConflictStatus.RESOLVED:
        if "status" in answer and answer["status"] is not ConflictStatus.OPEN:
            raise Refusal("état de conflit inconnu")
        return None
    choice = answer.get("choice", conflict.choice)
    if choice is None:
        raise Refusal("conflit résolu sans choix")
    name, field = conflict.table_name, conflict.field
    try:
        model = model_of(name)
    except UnknownTable as error:
        raise Refusal(f"conflit sur une table inconnue : {name}") from error
    row = applier.session.get(model, conflict.row_id)
    if row is None:
        return Resolution()
    if row.agency_id != applier.agency.id:
        raise Refusal("conflit sur une ligne qui n'est pas celle de l'agence")
    if field == WHOLE_ROW:
        if choice is ConflictChoice.CUSTOM:
            raise Refusal("une suppression en conflit ne prend pas de valeur choisie")
        if choice is ConflictChoice.INCOMING and TABLE_OWNER[name] is Owner.CENTRAL:
            raise Refusal("table gérée par le central")
        return Resolution(row, delete=choice is ConflictChoice.INCOMING)
    table = wire.table(name)
    if field not in table.c or not agency_may_change(name, field):
        raise Refusal(f"champ géré par le central : {name}.{field}")
    if choice is ConflictChoice.CURRENT:
        return Resolution(row)
    chosen = conflict.incoming_value if choice is ConflictChoice.INCOMING \
        else answer.get("chosen_value", conflict.chosen_value)
    value = values.to_python(table, field, chosen)
    values.check(table, {field: value}, applier.limits)
    applier._check_parents(name, {field: value})  # noqa: SLF001  (the one rule for pointers)
    return Resolution(row, value=value, sets=True)


def resolve(recorder: Recorder, conflict: SyncConflict, resolution: Resolution | None) -> None:
    """Applies a checked resolution to the row as a central change: ``current`` keeps it,
    ``incoming`` takes the agency's value, ``custom`` the chosen one."""
    if resolution is None or resolution.row is None:
        return
    row = resolution.row
    if resolution.delete:
        recorder.delete(row, row.version + 1, central=True)
    elif resolution.sets:
        recorder.update(row, {conflict.field: resolution.value}, row.version + 1, central=True)


def became_resolved(before: Any, conflict: SyncConflict) -> bool:
    return before != ConflictStatus.RESOLVED and conflict.status is ConflictStatus.RESOLVED
