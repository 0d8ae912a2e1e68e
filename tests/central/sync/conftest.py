"""A central with two agencies for every sync test, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models.database import Database
from tests.central.sync.kit import Central, build_central


@pytest.fixture
def central(cdb: Database, tmp_path: Path) -> Iterator[Central]:
    yield from build_central(cdb, tmp_path)


@pytest.fixture
def pg_central(central_pg_url: str, tmp_path: Path) -> Iterator[Central]:
    """The same central on PostgreSQL only (tests of concurrent transactions)."""
    database = Database(central_pg_url)
    try:
        yield from build_central(database, tmp_path)
    finally:
        database.dispose()
