"""The ledger of runs as the Synchronisation page shows it: runs, their phases, one page at a time."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.models.sync import SyncRun
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.vocabulary import (
    PHASE_STATUS_LABELS,
    RUN_STATUS_LABELS,
    TRIGGER_LABELS,
    phase_label,
)


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
