"""Reconciliation: per table of the agency's scope, the row count and the checksum of
``(id, version)`` pairs (``wire.checksum_of``), which the desk computes the same way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select

from app.sync import wire


def reconcile(connection: Connection, agency_id: uuid.UUID) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table in wire.synced_tables():
        query = select(table.c.id, table.c.version).where(wire.scope(table, agency_id))
        if table.name == "sync_parked":
            query = query.where(table.c.side != "desk")
        tables[table.name] = wire.checksum_of(connection, query)
    return {"tables": tables}
