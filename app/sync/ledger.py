"""The run ledger: each phase is written when it starts and when it ends, in transactions of
its own, so the Synchronisation page shows a run while it happens and a killed run stays
visible (``running`` with no end: shown as interrupted)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from app.models import SyncRun
from app.models.database import Database
from app.models.ids import utcnow


@dataclass
class Phase:
    name: str
    label: str
    started: float = field(default_factory=time.perf_counter)
    rows: int = 0
    bytes: int = 0
    retries: int = 0
    detail: str = ""


class Ledger:
    def __init__(self, db: Database, *, trigger: str, dry_run: bool) -> None:
        self._db = db
        with db.session() as session:
            run = SyncRun(trigger=trigger, dry_run=dry_run, phases=[])
            session.add(run)
            session.commit()
            self.run_id: uuid.UUID = run.id
        self.phases: list[dict[str, Any]] = []
        self.totals: dict[str, Any] = {}

    def _save(self, **values: Any) -> None:
        with self._db.session() as session:
            run = session.get(SyncRun, self.run_id)
            if run is None:  # the database was replaced during the run (bootstrap)
                run = SyncRun(id=self.run_id, phases=[])
                session.add(run)
            run.phases = [dict(p) for p in self.phases]
            for key, value in {**self.totals, **values}.items():
                setattr(run, key, value)
            session.commit()

    def start(self, phase: Phase) -> None:
        self.phases.append({"name": phase.name, "label": phase.label, "status": "running",
                            "started_at": utcnow().isoformat(), "seconds": 0.0, "rows": 0,
                            "bytes": 0, "retries": 0, "detail": ""})
        self._save()

    def finish(self, phase: Phase, status: str = "done") -> None:
        self.phases[-1].update(status=status, seconds=round(time.perf_counter() - phase.started, 3),
                               rows=phase.rows, bytes=phase.bytes, retries=phase.retries,
                               detail=phase.detail)
        self._save()

    def add(self, **counts: int) -> None:
        for key, value in counts.items():
            self.totals[key] = self.totals.get(key, 0) + value

    def end(self, status: str, error: str = "", mismatches: list[str] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
        if mismatches is not None:
            values["mismatches"] = mismatches
        self._save(**values)
