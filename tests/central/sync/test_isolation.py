"""One agency's trouble never holds another: uploads lock their own agency only, and a batch
that fails on central leaves the other agencies' batches going through."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from app.models import Customer
from central.sync import batches
from central.sync.state import locked_state
from tests.central.sync.kit import Central


def test_a_failing_batch_of_one_agency_leaves_the_others_working(
        central: Central, monkeypatch: pytest.MonkeyPatch) -> None:
    desk, other = central.desks["101"], central.desks["102"]
    real = batches.Applier.apply

    def broken(self: Any, entries: list[dict[str, Any]]) -> None:
        if self.agency.code == "101":
            raise RuntimeError("panne simulée")
        real(self, entries)

    monkeypatch.setattr(batches.Applier, "apply", broken)
    failed = desk.post(desk.payload([desk.insert("customer", {"last_name": "Perdu"})]))
    assert failed.status_code == 500 and failed.json()["error"] == "internal_error"
    row = uuid.uuid4()
    assert other.send([other.insert("customer", {"last_name": "Passé"}, row=row)])["applied"] == 1
    assert desk.get("state")["last_batch"] == 0 and other.get("state")["last_batch"] == 1
    monkeypatch.undo()
    assert desk.send([desk.insert("customer", {"last_name": "Repris"})])["applied"] == 1


@pytest.mark.postgres
def test_an_agency_busy_uploading_does_not_hold_another(pg_central: Central) -> None:
    db = pg_central.db
    desk, other = pg_central.desks["101"], pg_central.desks["102"]
    row = uuid.uuid4()
    done: dict[str, Any] = {}

    def upload() -> None:
        done["answer"] = other.send([other.insert("customer", {"last_name": "Libre"}, row=row)])

    def same_agency() -> None:
        desk.send([desk.insert("customer", {"last_name": "Attend"})])

    with db.session() as busy, busy.begin():
        locked_state(busy, desk.agency_id)
        thread = threading.Thread(target=upload)
        thread.start()
        thread.join(15)
        assert not thread.is_alive() and done["answer"]["applied"] == 1
        blocked = threading.Thread(target=same_agency)
        blocked.start()
        blocked.join(1.0)
        assert blocked.is_alive(), "the same agency's upload waits for its lock"
    blocked.join(15)
    assert desk.get("state")["last_batch"] == 1
    with db.reading() as session:
        assert session.get(Customer, row) is not None
