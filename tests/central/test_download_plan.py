"""An agency's download reads central's own commits only, never the other agencies' upload
commits of the night, and keeps that plan before the table has any statistics (a bulk-loaded
night, autovacuum off or late)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql

from central.sync.changes import _query

pytestmark = pytest.mark.postgres


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan] if "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


def test_the_download_skips_the_uploads_commits_without_statistics(central_pg_url: str) -> None:
    engine = create_engine(central_pg_url)
    with engine.begin() as connection:
        for table in ("sync_commit", "sync_journal"):
            connection.exec_driver_sql(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        # a night: 50,000 upload commits of other agencies, one in a thousand central's own
        connection.exec_driver_sql(
            "INSERT INTO sync_commit (no, transaction_id, origin_agency_id, at) "
            "SELECT g, gen_random_uuid(), CASE WHEN mod(g, 1000) = 0 THEN NULL "
            "ELSE gen_random_uuid() END, now() FROM generate_series(1, 50000) AS g")
        connection.exec_driver_sql(
            "INSERT INTO sync_journal (transaction_id, at, agency_id, table_name, row_id, "
            "operation, base_version, new_version, changes, schema_version) "
            "SELECT transaction_id, now(), origin_agency_id, 'payment', gen_random_uuid(), "
            "'insert', 0, 1, '{}', 2 FROM sync_commit")
    query = _query(uuid.uuid4(), 10, 50000).limit(1001)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        analysed = connection.exec_driver_sql(
            "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
            "WHERE relname = 'sync_commit'").one()
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql).scalar_one()
    engine.dispose()
    assert analysed == (None, None), "the plan is checked without statistics"
    plan = plan if isinstance(plan, list) else json.loads(plan)
    commits = [s for s in _scans(plan[0]["Plan"]) if s["Relation Name"] == "sync_commit"]
    assert [s.get("Index Name") for s in commits] == ["ix_sync_commit_central"], commits
