"""Parking: a transaction that cannot be applied waits whole with its error, and so does what
depends on it (same row, or a foreign key to a parked row, in later batches too), without
blocking anything else; a retry from the desk applies it and its dependents once the parent is
there, a discard drops it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from app.models import Account, Customer, MeterReading, SyncParked
from app.models.sync import ParkedStatus
from tests.central.sync.kit import Central, Desk


def _parked(central: Central) -> list[SyncParked]:
    with central.db.reading() as session:
        return list(session.scalars(select(SyncParked).order_by(SyncParked.seq)))


def _get(central: Central, model: Any, row_id: uuid.UUID) -> Any:
    with central.db.reading() as session:
        return session.get(model, row_id)


def _reading(desk: Desk, meter: uuid.UUID, tx: uuid.UUID, row: uuid.UUID) -> dict[str, Any]:
    return desk.insert("meter_reading", {
        "meter_id": meter, "reading_date": date(2026, 11, 20),
        "read_at": datetime(2026, 11, 20, 9, tzinfo=UTC), "index_value": 321,
        "kind": "regular", "source": "agent"}, tx=tx, row=row)


def test_a_missing_parent_parks_its_transaction_and_dependents_until_a_retry(
        central: Central) -> None:
    desk = central.desks["101"]
    meter, reading, customer, other, account = (uuid.uuid4() for _ in range(5))
    tx = uuid.uuid4()
    first = desk.send([
        desk.insert("customer", {"last_name": "Attente"}, tx=tx, row=customer),
        _reading(desk, meter, tx, reading),
        desk.entry("customer", customer, "update", 1, 2, {"phone": ("", "0708091011")}),
        desk.insert("customer", {"last_name": "Indépendant"}, row=other),
    ])
    assert (first["parked"], first["applied"]) == (3, 1)
    assert _get(central, Customer, other).last_name == "Indépendant"
    assert _get(central, Customer, customer) is None
    parked = _parked(central)
    failing = next(p for p in parked if p.row_id == reading)
    assert "parente absente" in failing.error and failing.blocked_by is None
    assert all(p.blocked_by == failing.id for p in parked if p.transaction_id == tx
               and p is not failing)
    waiting = next(p for p in parked if p.transaction_id != tx)
    assert waiting.blocked_by is not None and waiting.row_id == customer

    second = desk.send([desk.insert("account", {
        "number": "A1019999999", "customer_id": customer, "opened_on": date(2026, 11, 1)},
        row=account)])
    assert second["parked"] == 1 and _get(central, Account, account) is None

    sub = central.subs["101"]
    third = desk.send([
        desk.insert("meter", {"serial": "M-NOUVEAU-1", "energy": "water",
                              "connection_id": sub.connection_id, "digits": 5,
                              "initial_index": 0, "installed_on": date(2026, 11, 1)}, row=meter),
        desk.entry("sync_parked", failing.id, "update", failing.version, failing.version + 1,
                   {"status": ("parked", "retry")}),
    ])
    assert third["applied"] == 2 and third["parked"] == 0
    assert _get(central, MeterReading, reading).index_value == 321
    stored = _get(central, Customer, customer)
    assert (stored.last_name, stored.phone, stored.version) == ("Attente", "0708091011", 2)
    assert _get(central, Account, account).customer_id == customer
    assert {p.status for p in _parked(central)} == {ParkedStatus.APPLIED}
    statuses = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
                if e["table"] == "sync_parked" and "status" in e["changes"]
                and e["changes"]["status"][1] == "applied"]
    assert len(statuses) == len(_parked(central))


def test_a_retry_that_fails_again_stays_parked_and_a_discard_drops_it(central: Central) -> None:
    desk = central.desks["101"]
    reading = uuid.uuid4()
    desk.send([_reading(desk, uuid.uuid4(), uuid.uuid4(), reading)])
    (parked,) = _parked(central)
    answer = desk.send([desk.entry("sync_parked", parked.id, "update", 1, 2,
                                   {"status": ("parked", "retry")})])
    assert answer["applied"] == 1
    (again,) = _parked(central)
    assert again.status is ParkedStatus.PARKED and "parente absente" in again.error
    assert again.version == 3
    desk.send([desk.entry("sync_parked", parked.id, "update", 3, 4,
                          {"status": ("parked", "discarded")})])
    (dropped,) = _parked(central)
    assert dropped.status is ParkedStatus.DISCARDED
    assert _get(central, MeterReading, reading) is None
    later = desk.send([desk.entry("meter_reading", reading, "update", 1, 2,
                                  {"index_value": (321, 322)})])
    assert later["parked"] == 1


def test_unknown_tables_fields_and_newer_schemas_are_parked(central: Central) -> None:
    desk = central.desks["101"]
    answer = desk.send([
        desk.entry("vaisseau", uuid.uuid4(), "insert", 0, 1, {"nom": (None, "x")}),
        desk.insert("customer", {"last_name": "X", "surnom": "y"}),
        {**desk.insert("customer", {"last_name": "Futur"}), "schema": 99},
    ])
    assert answer["parked"] == 3
    errors = sorted(p.error for p in _parked(central))
    assert any("table inconnue" in e for e in errors)
    assert any("surnom" in e for e in errors)
    assert any("schéma 99" in e for e in errors)
