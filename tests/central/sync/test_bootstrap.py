"""Bootstrap and reconciliation: the snapshot's head, the agency's rows page by page (every
column, its scope only), and checksums equal to ``wire.Checksum`` computed independently."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select

from app.models import Customer
from kernel import wire
from tests.central.sync.kit import Central, Desk


def _pages(desk: Desk, table: str, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = desk.get(f"rows/{table}", limit=limit, **({"after": after} if after else {}))
        rows += page["rows"]
        after = page["next_after"]
        if after is None:
            return rows


def test_snapshot_then_rows_give_the_agencys_scope_in_id_order(central: Central) -> None:
    desk = central.desks["101"]
    for n in range(3):
        desk.send([desk.insert("customer", {"last_name": f"Client S{n}"})])
    snapshot = desk.get("snapshot")
    assert snapshot["cursor"] == desk.get("state")["head"]
    assert snapshot["tables"] == [t.name for t in wire.synced_tables()]
    assert snapshot["tables"].index("customer") < snapshot["tables"].index("account")
    rows = _pages(desk, "customer", 2)
    with central.db.reading() as session:
        expected = list(session.scalars(select(Customer).where(
            or_(Customer.agency_id == desk.agency_id, Customer.agency_id.is_(None)))
            .order_by(Customer.id)))
    assert [r["id"] for r in rows] == [str(c.id) for c in expected] and len(rows) == 4
    assert set(rows[0]) == set(wire.table("customer").c.keys())
    assert all(r["agency_id"] == str(desk.agency_id) for r in rows)
    assert rows[1]["last_name"] == expected[1].last_name
    assert rows[1]["created_at"] == expected[1].created_at.isoformat()
    tariffs = _pages(desk, "tariff", 1000)
    assert len(tariffs) == 4  # reference rows (no agency) are in every agency's scope


def test_reconcile_checksums_equal_the_wire_checksum_of_the_scope(central: Central) -> None:
    desk = central.desks["101"]
    desk.send([desk.insert("customer", {"last_name": "Compté"}, row=uuid.uuid4())])
    answer = desk.get("reconcile")["tables"]
    assert list(answer) == [t.name for t in wire.synced_tables()]
    with central.db.reading() as session:
        for table in wire.synced_tables():
            rows = session.execute(select(table).where(wire.scope(table, desk.agency_id))
                                   ).mappings().all()
            expected = wire.Checksum().rows(table, rows)
            assert answer[table.name] == expected.as_dict(), table.name
    assert answer["customer"]["count"] == 2
    theirs = central.desks["102"].get("reconcile")["tables"]
    assert theirs["customer"]["count"] == 1
    assert theirs["customer"]["checksum"] != answer["customer"]["checksum"]


def test_stored_pages_keep_the_agencys_rows_when_others_come_between(central: Central) -> None:
    ours, theirs = central.desks["101"], central.desks["102"]
    for n in range(4):
        ours.send([ours.insert("customer", {"last_name": f"Nôtre {n}"})])
        for m in range(3):
            theirs.send([theirs.insert("customer", {"last_name": f"Autre {n}.{m}"})])
    pages, rows, after = 0, [], None
    while True:
        page = ours.get("rows/customer", limit=2, form="stored",
                        **({"after": after} if after else {}))
        pages += 1
        rows += page["rows"]
        after = page["next_after"]
        if after is None:
            break
    names = page["columns"]
    with central.db.reading() as session:
        expected = [c.hex for c in session.scalars(
            select(Customer.id).where(Customer.agency_id == ours.agency_id)
            .order_by(Customer.id))]
    ids = [r[wire.table("customer").c.keys().index("id")] for r in rows]
    assert ids == expected and len(ids) == 5, "no row lost nor taken from another agency"
    assert pages >= 3 and names == wire.table("customer").c.keys()
