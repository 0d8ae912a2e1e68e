"""Adoption: a central that has never heard of this agency (the embedded central of a new
installation) receives the desk's whole agency once, as numbered batches of whole rows, before
the nightly exchange starts. It resumes table by table after an interruption."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import SyncJournalEntry
from app.models.database import Database
from app.sync import outbox, state
from kernel import wire
from kernel.faults import checkpoint

ROWS_PER_BATCH = 2000
_TABLE = "adoption.table"
_AFTER = "adoption.after"
_SEQ = "adoption.journal_seq"


def row_entry(tbl_name: str, row: dict[str, Any]) -> dict[str, Any]:
    wired = wire.row_to_wire(row)
    return {"seq": 0, "tx": str(row["id"]), "table": tbl_name, "row": wired["id"],
            "op": "insert", "base": 0, "new": row["version"], "at": wired["updated_at"],
            "schema": outbox.SCHEMA_VERSION,
            "changes": {k: [None, v] for k, v in wired.items() if k not in ("id", "version")}}


def seal_adoption(db: Database, agency_code: str, agency_id: uuid.UUID, central_last: int,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Seals the rest of the agency into adoption batches; returns how many rows it sealed."""
    tables = [t for t in wire.synced_tables() if t.name not in ("sync_conflict", "sync_parked")]
    sealed_rows = 0
    with db.session() as session:
        if not state.get(session, _SEQ):
            top = session.scalar(select(func.max(SyncJournalEntry.seq))) or 0
            state.put(session, _SEQ, str(top))
            session.commit()
        position = state.get(session, _TABLE, tables[0].name)
    names = [t.name for t in tables]
    if position == "done":
        return 0
    for index in range(names.index(position), len(tables)):
        tbl = tables[index]
        while True:
            with db.session() as session:
                after = state.get(session, _AFTER) if state.get(session, _TABLE) == tbl.name else ""
                query = select(tbl).where(wire.scope(tbl, agency_id)).order_by(tbl.c.id)
                if after:
                    query = query.where(tbl.c.id > uuid.UUID(after))
                rows = [dict(r) for r in session.execute(query.limit(ROWS_PER_BATCH)).mappings()]
                if not rows:
                    following = names[index + 1] if index + 1 < len(names) else "done"
                    state.put(session, _TABLE, following)
                    state.put(session, _AFTER, "")
                    session.commit()
                    break
                number = outbox.next_number(session, central_last)
                outbox.store(session, agency_code, number, "adoption",
                             [row_entry(tbl.name, r) for r in rows])
                state.put(session, _TABLE, tbl.name)
                state.put(session, _AFTER, str(rows[-1]["id"]))
                session.commit()
                checkpoint("adoption.sealed")
                sealed_rows += len(rows)
                if progress:
                    progress(index, len(tables))
    with db.session() as session:
        _journal_covered(session)
        session.commit()
    return sealed_rows


def _journal_covered(session: Session) -> None:
    """Journal entries older than the adoption are in its rows: they are not sent again."""
    top = int(state.get(session, _SEQ, "0") or 0)
    last = outbox.next_number(session, 0) - 1
    session.execute(update(SyncJournalEntry).where(
        SyncJournalEntry.seq <= top, SyncJournalEntry.batch_number.is_(None)
    ).values(batch_number=last))


def adoption_started(db: Database) -> bool:
    """Adoption batches were sealed at least once (a run began to hand the agency over)."""
    with db.session() as session:
        return bool(state.get(session, _TABLE)) or state.get(session, state.ADOPTED) == "yes"


def rows_to_adopt(db: Database, agency_id: uuid.UUID) -> dict[str, int]:
    """What adoption would send, per table (rows of the agency's scope): for a dry run."""
    counts: dict[str, int] = {}
    with db.reading() as session:
        for tbl in wire.synced_tables():
            if tbl.name in ("sync_conflict", "sync_parked"):
                continue
            found = session.scalar(select(func.count()).select_from(tbl)
                                   .where(wire.scope(tbl, agency_id))) or 0
            if found:
                counts[tbl.name] = int(found)
    return counts


def adoption_done(db: Database) -> bool:
    with db.session() as session:
        return state.get(session, state.ADOPTED) == "yes"


def mark_adopted(db: Database) -> None:
    with db.session() as session:
        state.put(session, state.ADOPTED, "yes")
        session.commit()
