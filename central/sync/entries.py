"""Central's journal entries in their wire form (docs/sync.md, "Wire form of an entry")."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Connection, select

from app.models import SyncJournalEntry
from app.models.enums import JournalOperation
from kernel import wire


def entry_to_wire(journal: Any, tx: uuid.UUID,
                  changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The entry's wire form; ``changes`` when they were read apart (from their stored text)."""
    return {
        "seq": journal.seq,
        "tx": str(tx),
        "table": journal.table_name,
        "row": str(journal.row_id),
        "op": JournalOperation(journal.operation).value,
        "base": journal.base_version,
        "new": journal.new_version,
        "at": wire.to_wire(journal.at),
        "schema": journal.schema_version,
        "changes": dict(journal.changes) if changes is None else changes,
    }


def fill_binary(connection: Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Binary fields are journaled as ``<n octets>``: they travel as the row's current value."""
    wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
    todo = []
    for entry in entries:
        if entry["op"] == JournalOperation.DELETE.value or entry["table"] not in _tables():
            continue
        binary = wire.binary_columns(entry["table"]) & set(entry["changes"])
        if binary:
            wanted[entry["table"]].add(uuid.UUID(entry["row"]))
            todo.append((entry, binary))
    if not todo:
        return
    rows: dict[tuple[str, uuid.UUID], Any] = {}
    for name, ids in wanted.items():
        table = wire.table(name)
        for found in connection.execute(select(table).where(table.c.id.in_(ids))).mappings():
            rows[(name, found["id"])] = found
    for entry, binary in todo:
        row = rows.get((entry["table"], uuid.UUID(entry["row"])))
        for column in binary:
            old = entry["changes"][column][0]
            value = None if row is None else wire.to_wire(row[column])
            entry["changes"][column] = [old, value]


@cache
def _tables() -> frozenset[str]:
    return frozenset(t.name for t in wire.synced_tables())


def journal_columns() -> list[Any]:
    j = SyncJournalEntry.__table__.c
    return [j.seq, j.table_name, j.row_id, j.operation, j.base_version, j.new_version, j.at,
            j.schema_version, j.changes, j.agency_id]
