"""Tables an upload grows are analysed again once their statistics lag (autovacuum may be
off or late): after a batch that changed enough rows, never for a few rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app.models.database import Database
from central.sync import statistics

pytestmark = pytest.mark.postgres


def _analysed(db: Database) -> object:
    with db.engine.connect() as connection:
        return connection.execute(text(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'sync_commit'")
        ).scalar_one()


def _commits(db: Database, first: int, count: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO sync_commit (no, transaction_id, origin_agency_id, at) "
            "SELECT g, gen_random_uuid(), gen_random_uuid(), now() "
            "FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g"), {"first": first, "last": first + count - 1})
        connection.execute(text("SELECT pg_stat_force_next_flush()"))


def test_a_table_grown_past_its_statistics_is_analysed_once(central_pg_url: str) -> None:
    db = Database(central_pg_url)
    try:
        _commits(db, 1, 50)
        assert statistics.refresh(db, ["sync_commit", "payment"], least=100) == []
        assert _analysed(db) is None, "fifty rows: not worth an analysis"
        _commits(db, 51, 500)
        assert statistics.refresh(db, ["sync_commit", "payment"], least=100) == ["sync_commit"]
        assert _analysed(db) is not None
        assert statistics.refresh(db, ["sync_commit"], least=100) == [], "statistics fresh"
        _commits(db, 551, 100)
        assert statistics.stale(db, ["sync_commit"], least=100) == [], \
            "a fifth of 550 rows is more than 100"
    finally:
        db.dispose()


def test_sqlite_keeps_no_statistics_to_refresh(central_sqlite_url: str) -> None:
    db = Database(central_sqlite_url)
    try:
        assert statistics.refresh(db, ["sync_commit"], least=0) == []
    finally:
        db.dispose()
