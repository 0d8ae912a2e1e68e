"""Reconciliation: per table of the agency's scope, the row count and the checksum of the rows'
content (``wire.content_checksum``: id, version and every compared column), which the desk
computes the same way."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection

from kernel import wire


def reconcile(connection: Connection, agency_id: uuid.UUID) -> dict[str, Any]:
    return {"tables": {table.name: wire.content_checksum(connection, table, agency_id)
                       for table in wire.synced_tables()}}
