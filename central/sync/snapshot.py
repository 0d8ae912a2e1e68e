"""Bootstrap of a desk: the head a snapshot starts from, then every table of the agency's
scope in id order, page by page (docs/sync.md §8-9)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select

from app.sync import wire
from central.sync.numbering import anchor_of, head


def snapshot(connection: Connection) -> dict[str, Any]:
    cursor = head(connection)
    anchor = anchor_of(connection, cursor) if cursor else None
    return {"cursor": cursor, "anchor": None if anchor is None else str(anchor),
            "tables": [t.name for t in wire.synced_tables()]}


def rows_page(connection: Connection, table_name: str, agency_id: uuid.UUID,
              after: uuid.UUID | None, limit: int) -> dict[str, Any]:
    """``KeyError`` when ``table_name`` is not synchronised."""
    table = wire.table(table_name)
    query = select(table).where(wire.scope(table, agency_id)).order_by(table.c.id).limit(limit + 1)
    if after is not None:
        query = query.where(table.c.id > after)
    rows = [wire.row_to_wire(dict(row)) for row in connection.execute(query).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"rows": rows, "next_after": rows[-1]["id"] if more else None}
