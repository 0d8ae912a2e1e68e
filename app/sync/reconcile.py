"""Reconciliation ends every run: per table, row count and an order-independent checksum of
the rows' content (id, version and every compared column) on both sides. A table that differs
is synchronised again from central's rows, never losing what the desk has not sent yet, and
reported in the ledger."""

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
from app.sync.apply import _pending_local_fields
from app.sync.client import CentralClient
from kernel import wire

ROWS_PAGE = 5000


def _rows_in_scope(tbl: Table, agency_id: uuid.UUID) -> Any:
    query = select(tbl.c.id).where(wire.scope(tbl, agency_id))
    if tbl.name == "sync_parked":
        query = query.where(tbl.c.side != "desk")
    return query


def local_checksums(session: Session, agency_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    connection = session.connection()
    return {tbl.name: wire.content_checksum(connection, tbl, agency_id)
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
    if repair and report.mismatches:
        report.repaired_rows = resync_tables(db, client, [wire.table(name) for name in
                                                          report.mismatches], agency_id)
    return report


@dataclass
class _Repair:
    write: list[dict[str, Any]] = field(default_factory=list)
    drop: list[uuid.UUID] = field(default_factory=list)


def resync_tables(db: Database, client: CentralClient, tables: list[Table],
                  agency_id: uuid.UUID) -> int:
    """Takes central's rows of these tables (parents first), in one transaction: rows that
    differ in content are written, rows central lacks are removed, except rows with changes not
    yet acknowledged and rows parked at central. Removals go first, children before parents (a
    central restored from a backup lost invoices the desk holds with their lines), then the
    writes, parents before children (a row written may take a number a removed row held)."""
    changed = 0
    with db.session() as session:
        mark_from_server(session)
        protected = set(_pending_local_fields(session))
        protected.update(session.scalars(
            select(SyncParked.row_id).where(SyncParked.status == "parked")))
        repairs = {tbl.name: _compare(session, client, tbl, agency_id, protected)
                   for tbl in tables}
        for tbl in reversed(tables):
            extra = repairs[tbl.name].drop
            for start in range(0, len(extra), 500):
                session.execute(delete(tbl).where(tbl.c.id.in_(extra[start:start + 500])))
            changed += len(extra)
        touched: dict[str, set[uuid.UUID]] = {}
        for tbl in tables:
            local = set(session.scalars(select(tbl.c.id).where(
                tbl.c.id.in_([row["id"] for row in repairs[tbl.name].write]))))
            for row in repairs[tbl.name].write:
                if row["id"] in local:
                    session.execute(update(tbl).where(tbl.c.id == row["id"]).values(**row))
                else:
                    session.execute(insert(tbl).values(**row))
                touched.setdefault(tbl.name, set()).add(row["id"])
                changed += 1
        refresh_rows(session, touched)
        session.commit()
    return changed


def _compare(session: Session, client: CentralClient, tbl: Table, agency_id: uuid.UUID,
             protected: set[uuid.UUID]) -> _Repair:
    """What differs between central's rows of a table and ours, by content."""
    repair = _Repair()
    seen: set[uuid.UUID] = set()
    after: str | None = None
    while True:
        page = client.rows(tbl.name, after, ROWS_PAGE)
        rows = [wire.row_from_wire(tbl, raw) for raw in page["rows"]]
        local = {row["id"]: dict(row) for row in session.execute(
            select(tbl).where(tbl.c.id.in_([r["id"] for r in rows]))).mappings()}
        for row in rows:
            seen.add(row["id"])
            if row["id"] in protected:
                continue
            mine = local.get(row["id"])
            if mine is not None and mine["version"] == row["version"] and \
                    wire.content_text(tbl, mine) == wire.content_text(tbl, row):
                continue
            repair.write.append(row)
        after = page.get("next_after")
        if not after:
            break
    repair.drop = [row_id for (row_id,) in session.execute(_rows_in_scope(tbl, agency_id))
                   if row_id not in seen and row_id not in protected]
    return repair
