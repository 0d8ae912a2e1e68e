"""Bootstrap of a desk: the head a snapshot starts from, then every table of the agency's
scope in id order, page by page (docs/sync.md §8-9)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from sqlalchemy import JSON, Connection, Date, LargeBinary, Uuid, select

from app.models.types import UTCDateTime
from central.sync.numbering import anchor_of, head
from kernel import wire


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


def _pg_expression(column: Any) -> str:
    name = f't."{column.name}"'
    type_ = column.type
    if isinstance(type_, Uuid):
        return f"replace({name}::text, '-', '')"
    if isinstance(type_, UTCDateTime):
        return f"to_char({name} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    if isinstance(type_, Date):
        return f"to_char({name}, 'YYYY-MM-DD')"
    if isinstance(type_, LargeBinary):
        return f"translate(encode({name}, 'base64'), E'\\n', '')"
    return name


def stored_page(connection: Connection, table_name: str, agency_id: uuid.UUID,
                after: str | None, limit: int) -> bytes:
    """A page of rows in the storage form (``wire.stored_loader``), already as JSON bytes:
    ``{"columns", "rows": [[…]], "next_after"}``. On PostgreSQL the server builds the JSON."""
    table = wire.table(table_name)
    columns = [c.name for c in table.columns]
    after_id = uuid.UUID(after) if after else None
    if connection.dialect.name == "postgresql":
        # The page walks the primary key (``id > after``, then the agency filter on what it
        # read): one plan whatever the statistics say, each page a short index range. Filtering
        # by agency inside the scan let the planner pick bitmap plans that read the agency's
        # whole table for every page. A page can hold fewer rows than it read (other agencies'
        # rows): ``next_after`` is the last id read.
        values = ", ".join(_pg_expression(c) for c in table.columns)
        condition = 'WHERE t0."id" > %(after)s ' if after_id is not None else ""
        mine = '(t."agency_id" = %(agency)s OR t."agency_id" IS NULL)'
        if table.name == wire.USERS:  # as wire.scope: users only where they sign in
            mine = ('(NOT t."desk_only" AND (t."agency_id" = %(agency)s '
                    'OR (t."agency_id" IS NULL AND t."roaming")))')
        sql = (f"SELECT coalesce(json_agg(json_build_array({values}) ORDER BY t.id) "
               f"FILTER (WHERE {mine}), '[]')::text, count(*), "
               f"replace((array_agg(t.id ORDER BY t.id DESC))[1]::text, '-', '') "
               f'FROM (SELECT * FROM "{table.name}" t0 {condition}'
               f'ORDER BY t0."id" LIMIT %(limit)s) t')
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, {"agency": agency_id, "after": after_id, "limit": limit})
            rows_json, count, last = cursor.fetchone()
        more = count == limit
        head = json.dumps({"columns": columns, "next_after": last if more else None})
        return (head[:-1] + ', "rows": ' + rows_json + "}").encode()
    query = select(*table.columns).where(wire.scope(table, agency_id)).order_by(table.c.id)
    if after_id is not None:
        query = query.where(table.c.id > after_id)
    compiled = query.limit(limit).compile(connection)
    raw = connection.connection.driver_connection
    fixes = [(i, c.type) for i, c in enumerate(table.columns)
             if isinstance(c.type, JSON | LargeBinary)]
    rows: list[list[Any]] = []
    params = [p.hex if isinstance(p, uuid.UUID) else p for p in compiled.params.values()]
    for record in raw.execute(str(compiled), params):  # type: ignore[union-attr]
        row = list(record)
        for position, type_ in fixes:
            if row[position] is None:
                continue
            if isinstance(type_, JSON):
                row[position] = json.loads(row[position])
            else:
                row[position] = base64.b64encode(row[position]).decode("ascii")
        rows.append(row)
    more = len(rows) == limit
    return json.dumps({"columns": columns, "rows": rows,
                       "next_after": rows[-1][columns.index("id")] if more and rows else None}
                      ).encode()
