"""What a desk shows and does about synchronisation outside a run: the ledger of runs, whether the
night's run is late, the conflict queue and the parked rows.

Resolving a conflict and retrying or discarding a parked row are business writes: they go
through the unit of work, so the write path audits and journals them and they travel up to
central at the next synchronisation (docs/sync.md, "Resolution travelling up"). Only a supervisor
or an administrator may make them.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.base import Base
from app.models.enums import Role
from app.models.ids import utcnow
from app.models.sync import (
    ConflictChoice,
    ConflictStatus,
    ParkedStatus,
    SyncConflict,
    SyncParked,
    SyncRun,
)
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import (
    BusinessError,
    ConcurrentEditError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from kernel.identifiers import format_account_number
from kernel.vocabulary import (
    CONFLICT_CHOICE_LABELS,
    OPERATION_LABELS,
    PARKED_STATUS_LABELS,
    PHASE_STATUS_LABELS,
    RUN_STATUS_LABELS,
    TRIGGER_LABELS,
    phase_label,
    sync_field_label,
    table_label,
)

SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})

EMPTY_VALUE = "(vide)"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def readable(value: Any) -> str:
    """A stored (JSON) value as a person reads it."""
    if value is None or value == "":
        return EMPTY_VALUE
    if value is True:
        return "Oui"
    if value is False:
        return "Non"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"{moment:%d/%m/%Y %H:%M}" + (" UTC" if moment.utcoffset() == timedelta(0) else "")
    return str(value)


_CAPTION_COLUMNS = ("display_name", "number", "receipt_number", "serial", "reference", "name")


def _model_for(table: str) -> type[Any] | None:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    return None


def row_caption(session: Session, table: str, row_id: uuid.UUID) -> str:
    """Which row it is, as a person names it (a customer's name, an account number…)."""
    model = _model_for(table)
    row = session.get(model, row_id) if model is not None else None
    if row is None:
        return "— introuvable sur ce poste"
    if table == "account":
        return format_account_number(row.number)
    if table == "meter_reading":
        meter_model = _model_for("meter")
        meter = session.get(meter_model, row.meter_id) if meter_model is not None else None
        serial = f"compteur {meter.serial}, " if meter is not None else ""
        return f"{serial}relève du {row.reading_date:%d/%m/%Y}"
    for column in _CAPTION_COLUMNS:
        value = getattr(row, column, None)
        if isinstance(value, str) and value.strip():
            return value
    return f"…{str(row_id)[-8:]}"


def may_supervise(ctx: ServiceContext) -> bool:
    return ctx.user is not None and ctx.user.role in SUPERVISING_ROLES


def _require_supervisor(ctx: ServiceContext, what: str) -> None:
    if not may_supervise(ctx):
        raise PermissionDeniedError(
            f"Seul un superviseur ou un administrateur peut {what}."
        )


# --- the ledger ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseRecord:
    name: str
    label: str
    status: str
    status_label: str
    started_at: datetime | None
    seconds: float | None
    rows: int
    bytes: int
    retries: int
    detail: str


@dataclass(frozen=True)
class RunRecord:
    id: uuid.UUID
    started_at: datetime
    finished_at: datetime | None
    status: str
    status_label: str
    trigger: str
    trigger_label: str
    dry_run: bool
    seconds: float | None
    rows_up: int
    rows_down: int
    bytes_up: int
    bytes_down: int
    retries: int
    conflicts: int
    parked: int
    mismatches: tuple[str, ...]
    error: str
    phases: tuple[PhaseRecord, ...]


@dataclass(frozen=True)
class RunHistoryPage:
    runs: tuple[RunRecord, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.runs) < self.total


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _phase(raw: dict[str, Any]) -> PhaseRecord:
    name = str(raw.get("name", ""))
    status = str(raw.get("status", ""))
    seconds = raw.get("seconds")
    return PhaseRecord(
        name=name,
        label=str(raw.get("label") or phase_label(name)),
        status=status,
        status_label=PHASE_STATUS_LABELS.get(status, status),
        started_at=_moment(raw.get("started_at")),
        seconds=float(seconds) if isinstance(seconds, (int, float)) else None,
        rows=_int(raw.get("rows")),
        bytes=_int(raw.get("bytes")),
        retries=_int(raw.get("retries")),
        detail=str(raw.get("detail") or ""),
    )


def _run(run: SyncRun) -> RunRecord:
    seconds = (
        (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    )
    return RunRecord(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        status_label=RUN_STATUS_LABELS.get(run.status, run.status),
        trigger=run.trigger,
        trigger_label=TRIGGER_LABELS.get(run.trigger, run.trigger),
        dry_run=run.dry_run,
        seconds=seconds,
        rows_up=run.rows_up,
        rows_down=run.rows_down,
        bytes_up=run.bytes_up,
        bytes_down=run.bytes_down,
        retries=run.retries,
        conflicts=run.conflicts,
        parked=run.parked,
        mismatches=tuple(run.mismatches or ()),
        error=run.error,
        phases=tuple(_phase(p) for p in (run.phases or ()) if isinstance(p, dict)),
    )


def run_history(ctx: ServiceContext, *, offset: int = 0, limit: int = 50) -> RunHistoryPage:
    """The runs of this desk, newest first, one page at a time."""
    with ctx.reading() as session:
        total = session.scalar(select(func.count()).select_from(SyncRun)) or 0
        runs = session.scalars(
            select(SyncRun)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
        return RunHistoryPage(tuple(_run(r) for r in runs), total, offset, limit)


def get_run(ctx: ServiceContext, run_id: uuid.UUID) -> RunRecord:
    with ctx.reading() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise NotFoundError("Synchronisation introuvable.")
        return _run(run)


def last_successful_run(ctx: ServiceContext) -> RunRecord | None:
    """The last real (not simulated) run that succeeded."""
    with ctx.reading() as session:
        run = session.scalars(
            select(SyncRun)
            .where(SyncRun.status == "succeeded", SyncRun.dry_run.is_(False))
            .order_by(SyncRun.finished_at.desc())
            .limit(1)
        ).first()
        return _run(run) if run is not None else None


# --- the night's deadline --------------------------------------------------------------------
def _deadline_time(deadline: str | time) -> time:
    return deadline if isinstance(deadline, time) else time.fromisoformat(deadline)


def last_deadline(now: datetime, zone: ZoneInfo, deadline: str | time) -> datetime:
    """The latest deadline (local time of day in ``zone``) at or before ``now``, in UTC."""
    at = _deadline_time(deadline)
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), at, tzinfo=zone)
    if today > local:
        today = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return today.astimezone(ZoneInfo("UTC"))


def night_warning(
    last_success: datetime | None, now: datetime, zone: ZoneInfo, deadline: str | time
) -> str | None:
    """The warning to show when the night's run has not succeeded by the deadline, else None.

    The night's run is the one due by the latest deadline passed: it counts when it succeeded
    after the deadline before (a late run that finally succeeded clears the warning)."""
    due = last_deadline(now, zone, deadline)
    local_due = due.astimezone(zone)
    previous = datetime.combine(
        local_due.date() - timedelta(days=1), local_due.timetz().replace(tzinfo=None), tzinfo=zone
    )
    if last_success is not None and last_success > previous:
        return None
    at = _deadline_time(deadline)
    message = (
        f"La synchronisation de la nuit n'a pas abouti avant {at:%H:%M} "
        f"le {local_due:%d/%m/%Y} : les données de l'agence et du site central ne sont pas à jour. "
    )
    if last_success is None:
        message += "Aucune synchronisation réussie n'est enregistrée sur ce poste."
    else:
        message += (
            f"Dernière synchronisation réussie : {last_success.astimezone(zone):%d/%m/%Y à %H:%M}."
        )
    return message + " Lancez « Synchroniser maintenant » ou prévenez le support."


def night_run_warning(
    ctx: ServiceContext,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
    deadline: str | time = "07:30",
) -> str | None:
    """``night_warning`` for this desk's ledger."""
    last = last_successful_run(ctx)
    return night_warning(
        last.finished_at if last is not None else None,
        now or utcnow(),
        zone or ctx.installation.zone,
        deadline,
    )


# --- conflicts ------------------------------------------------------------------------------
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
    _require_supervisor(ctx, "résoudre un conflit de synchronisation")
    assert ctx.user is not None
    with ctx.unit_of_work() as uow:
        row = _get_for_write(uow, SyncConflict, conflict_id, expected_version, "Conflit")
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


# --- parked rows ----------------------------------------------------------------------------
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
    _require_supervisor(ctx, f"{verb} une ligne en attente")
    assert ctx.user is not None
    with ctx.reading() as session:
        side = session.scalar(select(SyncParked.side).where(SyncParked.id == parked_id))
    if side is None:
        raise NotFoundError("Ligne en attente introuvable : elle a peut-être déjà été traitée.")
    # A row parked here while applying central's changes is this desk's own bookkeeping (not
    # journaled); one parked at central travels back up with the decision.
    uow = UnitOfWork(ctx.db, ctx.actor, from_server=side == "desk")
    with uow:
        row = _get_for_write(uow, SyncParked, parked_id, expected_version, "Ligne en attente")
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


def _get_for_write(
    uow: UnitOfWork, model: type[Any], row_id: uuid.UUID, expected_version: int, what: str
) -> Any:
    session = uow.session
    lock = session.get_bind().dialect.name == "postgresql"
    row = session.get(model, row_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"{what} introuvable : elle a peut-être déjà été traitée.")
    if row.version != expected_version:
        raise ConcurrentEditError(
            f"{what} a été modifié(e) depuis son affichage (par la synchronisation ou un autre "
            "poste). Actualisez la liste puis recommencez."
        )
    return row
