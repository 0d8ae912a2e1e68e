"""Reconciliation: per table of the agency's scope, the row count and the checksum of
``(id, version)`` pairs (``wire.Checksum``), which the desk computes the same way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, select

from app.sync import wire

_PAGE = 20_000


def reconcile(connection: Connection, agency_id: uuid.UUID) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    for table in wire.synced_tables():
        checksum = wire.Checksum()
        query = select(table.c.id, table.c.version).where(wire.scope(table, agency_id))
        if table.name == "sync_parked":
            query = query.where(table.c.side != "desk")
        result = connection.execution_options(yield_per=_PAGE).execute(query)
        for partition in result.partitions():
            checksum.update((row_id, version) for row_id, version in partition)
        tables[table.name] = checksum.as_dict()
    return {"tables": tables}
