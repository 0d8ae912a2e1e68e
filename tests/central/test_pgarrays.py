"""Arrays encoded in one pass (central.pgarrays) read back on PostgreSQL as the values given,
NULL elements and empty arrays included, bound raw (psycopg) and through SQLAlchemy."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, func, select, text

from app.models.database import Database
from central import pgarrays
from central.ids import IdMaker

pytestmark = pytest.mark.postgres


def test_each_encoded_array_reads_back_as_the_values_given(central_pg_url: str) -> None:
    ids = IdMaker()
    cases = [
        (pgarrays.uuids, "uuid[]", [ids(), None, uuid.uuid4(), ids()]),
        (pgarrays.int8s, "bigint[]", [0, -1, None, 2**62, -(2**63)]),
        (pgarrays.int4s, "integer[]", [1, None, -(2**31), 2**31 - 1]),
        (pgarrays.dates, "date[]", [date(2026, 11, 30), None, date(1999, 12, 31),
                                    date(2000, 1, 1)]),
        (pgarrays.timestamps, "timestamptz[]", [
            datetime(2026, 12, 5, 10, 1, 2, 345678, tzinfo=UTC), None,
            datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5))),
            datetime(1990, 6, 1, 23, 59, 59, tzinfo=UTC)]),
        (pgarrays.uuids, "uuid[]", []),
        (pgarrays.texts, "text[]", ["Énergie « 25,5 kWh »", None, "", 'a"b\\c{,}', "x" * 300]),
        (pgarrays.texts, "text[]", []),
    ]
    db = Database(central_pg_url)
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        for encode, cast, values in cases:
            encoded = encode(values)
            assert len(encoded) == len(values)
            assert cursor.execute(f"SELECT %b::{cast}", [encoded]).fetchone()[0] == values
            assert [r[0] for r in cursor.execute(f"SELECT x FROM unnest(%b::{cast}) AS x",
                                                 [encoded]).fetchall()] == values
    finally:
        raw.close()
    wanted = [ids() for _ in range(3)]
    with db.engine.connect() as connection:
        t = func.unnest(bindparam("ids", pgarrays.uuids(wanted),
                                  type_=pgarrays.EncodedUuidArray())).column_valued("x")
        found = connection.execute(
            select(t).where(text("x = ANY(:again)").bindparams(
                bindparam("again", pgarrays.uuids(wanted[1:]),
                          type_=pgarrays.EncodedUuidArray())))
        ).scalars().all()
    db.dispose()
    assert found == wanted[1:]
