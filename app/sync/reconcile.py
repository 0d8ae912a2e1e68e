"""Reconciliation ends every run: per table, row count and an order-independent checksum of
(id, version) on both sides. A table that differs is synchronised again from central's rows,
never losing what the desk has not sent yet, and reported in the ledger."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from app.models import SyncParked
from app.models.capture import mark_from_server
from app.models.database import Database
from app.models.search_index import refresh_rows
from app.sync import wire
from app.sync.apply import _pending_local_fields
from app.sync.client import CentralClient

ROWS_PAGE = 5000


def _rows_in_scope(tbl: Table, agency_id: uuid.UUID) -> Any:
    query = select(tbl.c.id, tbl.c.version).where(wire.scope(tbl, agency_id))
    if tbl.name == "sync_parked":
        query = query.where(tbl.c.side != "desk")
    return query


def local_checksums(session: Session, agency_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    connection = session.connection()
    return {tbl.name: wire.checksum_of(connection, _rows_in_scope(tbl, agency_id))
            for tbl in wire.synced_tables()}


@dataclass
class ReconcileReport:
    tables: int = 0
    mismatches: list[str] = field(default_factory=list)
    repaired_rows: int = 0


def reconcile(db: Database, client: CentralClient, agency_id: uuid.UUID, *,
              repair: bool = True) -> ReconcileReport:
    report = ReconcileReport()
    # Both sides count at the same time: central's answer is awaited in a thread meanwhile.
    with ThreadPoolExecutor(1, thread_name_prefix="rapprochement") as asking:
        answer = asking.submit(client.reconcile)
        with db.reading() as session:
            ours = local_checksums(session, agency_id)
        theirs = answer.result()["tables"]
    report.tables = len(ours)
    for tbl in wire.synced_tables():
        if ours.get(tbl.name) != theirs.get(tbl.name):
            report.mismatches.append(tbl.name)
    if repair:
        for name in report.mismatches:
            report.repaired_rows += resync_table(db, client, wire.table(name), agency_id)
    return report


def resync_table(db: Database, client: CentralClient, tbl: Table, agency_id: uuid.UUID) -> int:
    """Takes central's rows of one table: missing or older rows are written, rows central lacks
    are removed, except rows with changes not yet acknowledged and rows parked at central."""
    changed = 0
    seen: set[uuid.UUID] = set()
    with db.session() as session:
        mark_from_server(session)
        protected = set(_pending_local_fields(session))
        protected.update(session.scalars(
            select(SyncParked.row_id).where(SyncParked.status == "parked")))
        after: str | None = None
        touched: set[uuid.UUID] = set()
        while True:
            page = client.rows(tbl.name, after, ROWS_PAGE)
            ids = [uuid.UUID(r["id"]) for r in page["rows"]]
            local = dict(session.execute(select(tbl.c.id, tbl.c.version)
                                         .where(tbl.c.id.in_(ids))).all())
            for raw in page["rows"]:
                row = wire.row_from_wire(tbl, raw)
                seen.add(row["id"])
                if row["id"] in protected or local.get(row["id"]) == row["version"]:
                    continue
                if row["id"] in local:
                    session.execute(update(tbl).where(tbl.c.id == row["id"]).values(**row))
                else:
                    session.execute(insert(tbl).values(**row))
                touched.add(row["id"])
                changed += 1
            after = page.get("next_after")
            if not after:
                break
        extra = [row_id for (row_id, _v) in session.execute(_rows_in_scope(tbl, agency_id))
                 if row_id not in seen and row_id not in protected]
        for start in range(0, len(extra), 500):
            session.execute(delete(tbl).where(tbl.c.id.in_(extra[start:start + 500])))
        changed += len(extra)
        refresh_rows(session, {tbl.name: touched})
        session.commit()
    return changed
