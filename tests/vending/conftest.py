from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.models.database import Database
from tests.central.conftest import (  # noqa: F401
    central_pg_template,
    central_pg_url,
    central_sqlite_template,
    central_sqlite_url,
)

from .world import VendingWorld


@pytest.fixture
def world(central_sqlite_url: str) -> Iterator[VendingWorld]:  # noqa: F811
    db = Database(central_sqlite_url)
    yield VendingWorld(db)
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_world(request: pytest.FixtureRequest) -> Iterator[VendingWorld]:
    """The world on SQLite and on PostgreSQL (where the receipt is numbered in one statement
    after the commit number)."""
    name = "central_sqlite_url" if request.param == "sqlite" else "central_pg_url"
    db = Database(str(request.getfixturevalue(name)))
    yield VendingWorld(db)
    db.dispose()
