"""Central's ``COPY`` writer stores a JSON column's value once encoded, whatever the column is
called, on both dialects; JSON text given as such is stored as that JSON. Binary arrays reach
a connection made before their module was imported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.adapt import AdaptersMap
from sqlalchemy import select

from app.models import SyncJournalEntry
from app.models.database import Database
from app.models.enums import JournalOperation
from app.models.ids import new_id
from central import pgarrays
from central.copying import FastLoader
from central.models import SyncBatch

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def batch_row(result: Any) -> dict[str, Any]:
    return {"id": new_id(), "agency_id": new_id(), "number": 1, "sha256": "0" * 64, "rows": 3,
            "kind": "changes", "received_at": NOW, "result": result}


@pytest.mark.parametrize("result", [
    {"status": "applied", "applied": 3, "détail": "reçu"},
    ["a", 1, None],
    "un texte",
    7,
])
def test_a_json_column_of_any_name_is_stored_as_its_value(cdb: Database, result: Any) -> None:
    loader = FastLoader(SyncBatch.__table__, cdb.dialect)  # type: ignore[arg-type]
    row = batch_row(result)
    with cdb.engine.begin() as connection:
        loader.load(connection, [row])
    with cdb.engine.connect() as connection:
        stored = connection.execute(
            select(SyncBatch.__table__.c.result).where(SyncBatch.__table__.c.id == row["id"])
        ).scalar_one()
    assert stored == result, "the value, not its JSON text as a JSON string"


def test_json_text_given_as_raw_is_stored_as_that_json(cdb: Database) -> None:
    table = SyncJournalEntry.__table__
    loader = FastLoader(table, cdb.dialect, skip=["seq"], raw=["changes"])  # type: ignore[arg-type]
    row = {"transaction_id": new_id(), "at": NOW, "agency_id": None, "table_name": "customer",
           "row_id": new_id(), "operation": JournalOperation.INSERT, "base_version": 0,
           "new_version": 1, "changes": '{"last_name": [null, "Koné"]}', "schema_version": 2,
           "batch_number": None}
    with cdb.engine.begin() as connection:
        loader.load(connection, [row])
    with cdb.reading() as session:
        entry = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.row_id == row["row_id"])).one()
    assert entry.changes == {"last_name": [None, "Koné"]}


def test_only_a_json_column_may_be_given_as_text() -> None:
    with pytest.raises(TypeError):
        FastLoader(SyncBatch.__table__, "postgresql", raw=["sha256"])  # type: ignore[arg-type]


@pytest.mark.postgres
def test_arrays_reach_a_connection_whose_adapters_predate_them(central_pg_url: str) -> None:
    """An engine's adapters are copied when it is made: one made before ``central.pgarrays``
    was imported knows no array dumper until ``ready`` gives them."""
    url = central_pg_url.replace("postgresql+psycopg://", "postgresql://")
    ids = [new_id(), None, new_id()]
    before = AdaptersMap(types=psycopg.postgres.types)  # psycopg's own adapters alone
    psycopg.postgres.register_default_adapters(before)
    with psycopg.connect(url, context=before) as raw:
        with pytest.raises(psycopg.ProgrammingError):
            raw.execute("SELECT %s", [pgarrays.uuids(ids)])
        raw.rollback()
        pgarrays.ready(raw)
        found = raw.execute("SELECT array_to_string(%s, ',', '-')",
                            [pgarrays.uuids(ids)]).fetchone()
    assert found is not None and found[0] == f"{ids[0]},-,{ids[2]}"
