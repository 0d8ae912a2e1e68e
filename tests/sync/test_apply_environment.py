"""Central's page that meets a lock held too long on the desk fails the run (tried again at
the next one), it is not parked as if central's rows were wrong."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from app.models import Street, SyncParked
from app.models.database import Database
from app.settings import Settings
from app.sync import state
from app.sync.download import apply_page
from tests.conftest import make_demo


@pytest.fixture
def pg_db(pg_url: str, settings: Settings) -> Iterator[Database]:
    database = Database(pg_url)
    make_demo(database)
    yield database
    database.dispose()


@pytest.mark.postgres
def test_a_lock_timeout_while_applying_central_fails_the_page_instead_of_parking(
        pg_db: Database) -> None:
    @event.listens_for(pg_db.engine, "connect")
    def _short_lock_wait(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        dbapi_connection.commit()

    pg_db.engine.dispose()
    with pg_db.reading() as session:
        commune = session.scalars(select(Street.commune_id)).first()
    street = uuid.uuid4()
    page = {"commits": [{"no": 7, "tx": str(uuid.uuid4()), "at": "2026-11-21T20:00:00+00:00",
                         "entries": [{
                             "seq": 1, "tx": "", "table": "street", "row": str(street),
                             "op": "insert", "base": 0, "new": 1,
                             "at": "2026-11-21T20:00:00+00:00", "schema": 2,
                             "changes": {"name": [None, "Rue Patiente"],
                                         "commune_id": [None, str(commune)],
                                         "agency_id": [None, None]}}]}]}
    holder = create_engine(pg_db.url)
    try:
        with holder.begin() as connection:  # another program holds the table
            connection.execute(text("LOCK TABLE street IN EXCLUSIVE MODE"))
            with pg_db.session() as session, pytest.raises(OperationalError, match="lock timeout"):
                apply_page(session, page)
    finally:
        holder.dispose()
    with pg_db.session() as session:
        assert session.scalar(select(func.count()).select_from(SyncParked)) == 0
        assert state.cursor(session) == 0, "the page is asked for again"
        counts = apply_page(session, page)
        session.commit()
    assert (counts.applied, counts.parked) == (1, 0)
