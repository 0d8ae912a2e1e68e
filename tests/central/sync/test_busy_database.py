"""A batch that meets a lock held too long is refused whole (503, sent again later), never
parked as if its rows were wrong: parking is for data central cannot accept, a supervisor
settles it by hand."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text

from app.models import Customer, SyncParked
from tests.central.sync.kit import Central


@pytest.mark.postgres
def test_a_lock_timeout_refuses_the_batch_instead_of_parking_it(pg_central: Central) -> None:
    @event.listens_for(pg_central.db.engine, "connect")
    def _short_lock_wait(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        dbapi_connection.commit()  # kept for the connection's life, not only this transaction

    pg_central.db.engine.dispose()
    desk = pg_central.desks["101"]
    payload = desk.payload([desk.insert("customer", {"last_name": "Patiente"})])
    holder = create_engine(pg_central.db.url)
    try:
        with holder.begin() as connection:  # another program holds the table
            connection.execute(text("LOCK TABLE customer IN EXCLUSIVE MODE"))
            refused = desk.post(payload)
    finally:
        holder.dispose()
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"] == "unavailable"
    with pg_central.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(SyncParked)) == 0
    again = desk.post(payload)  # the desk sends the same batch at its next attempt
    assert again.status_code == 200, again.text
    assert (again.json()["applied"], again.json()["parked"]) == (1, 0)
    with pg_central.db.reading() as session:
        assert session.scalar(select(Customer.last_name).where(
            Customer.last_name == "Patiente")) == "Patiente"
