"""Upload: a batch is applied once, in order, whole or not at all."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

from sqlalchemy import func, select

from app.models import AuditEntry, Customer, SyncJournalEntry
from central.api import create_app
from central.models import SyncBatch, SyncCommit
from central.settings import CentralSettings
from kernel import wire
from tests.central.sync.kit import Central, Desk, TestClient


def _customer(central: Central, customer_id: uuid.UUID) -> Customer | None:
    with central.db.reading() as session:
        return session.get(Customer, customer_id)


def _batches(central: Central) -> int:
    with central.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(SyncBatch)) or 0)


def test_a_batch_is_applied_with_the_desk_versions_and_a_replay_is_a_no_op(
        central: Central) -> None:
    desk = central.desks["101"]
    row = uuid.uuid4()
    insert = desk.insert("customer", {"last_name": "Kouassi", "phone": "0102030405"}, row=row)
    update = desk.entry("customer", row, "update", 1, 2, {"phone": ("0102030405", "0700000000")})
    payload = desk.payload([insert, update])
    first = desk.post(payload)
    assert first.status_code == 200, first.text
    assert first.json() == {"status": "applied", "number": 1, "applied": 2, "skipped": 0,
                            "merged": 0, "conflicts": 0, "parked": 0, "refused": 0}
    stored = _customer(central, row)
    assert stored is not None
    assert (stored.last_name, stored.phone, stored.version) == ("Kouassi", "0700000000", 2)
    with central.db.reading() as session:
        journal = session.execute(
            select(SyncJournalEntry.operation, SyncJournalEntry.base_version,
                   SyncJournalEntry.new_version, SyncCommit.origin_agency_id)
            .join(SyncCommit, SyncCommit.transaction_id == SyncJournalEntry.transaction_id)
            .where(SyncJournalEntry.row_id == row).order_by(SyncJournalEntry.seq)).all()
        audited = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.row_id == row))
    assert [(op.value, b, n) for op, b, n, _ in journal] == [("insert", 0, 1), ("update", 1, 2)]
    assert {origin for *_, origin in journal} == {desk.agency_id}
    assert audited == 2
    again = desk.post(payload)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _customer(central, row).version == 2  # type: ignore[union-attr]
    assert _batches(central) == 1
    assert desk.get("state")["last_batch"] == 1


def test_same_number_with_another_content_and_gaps_are_refused(central: Central) -> None:
    desk = central.desks["101"]
    desk.send([desk.insert("customer", {"last_name": "Un"})])
    other = desk.post(desk.payload([desk.insert("customer", {"last_name": "Autre"})], number=1))
    assert other.status_code == 409 and other.json()["error"] == "batch_mismatch"
    gap = desk.post(desk.payload([desk.insert("customer", {"last_name": "Trois"})], number=3))
    assert gap.status_code == 409
    assert gap.json()["error"] == "batch_gap" and gap.json()["last_batch"] == 1
    assert _batches(central) == 1


def _flip_middle_byte(body: bytes) -> bytes:
    """A body damaged in transit: the gzip header is intact, the deflate stream is not."""
    damaged = bytearray(body)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def test_corrupt_or_inconsistent_bodies_are_refused_and_nothing_is_applied(
        central: Central) -> None:
    desk = central.desks["101"]
    row = uuid.uuid4()
    payload = desk.payload([desk.insert("customer", {"last_name": "Altéré"}, row=row)])
    cases = [
        desk.post(payload, body=b"not gzip at all"),
        desk.post(payload, body=_flip_middle_byte(gzip.compress(json.dumps(payload).encode() * 50))),
        desk.post(payload, body=gzip.compress(b"{not json")),
        desk.post(payload, sha="0" * 64),
        desk.post(payload, rows=2),
        desk.post({**payload, "agency": "102"}),
        desk.post({**payload, "kind": "everything"}),
    ]
    for response in cases:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_batch"
    assert _customer(central, row) is None
    assert _batches(central) == 0


def test_dry_run_answers_with_details_and_changes_nothing(central: Central) -> None:
    desk = central.desks["101"]
    row = uuid.uuid4()
    payload = desk.payload([desk.insert("customer", {"last_name": "Essai"}, row=row),
                            desk.insert("tariff", {"code": "X", "agency_id": None})])
    with central.db.reading() as session:
        journal_before = session.scalar(select(func.count()).select_from(SyncJournalEntry))
    response = desk.post(payload, dry_run=True)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["applied"] == 1 and answer["refused"] == 1 and answer["dry_run"] is True
    assert [d["outcome"] for d in answer["details"]] == ["applied", "refused"]
    assert answer["details"][0]["row"] == str(row)
    assert _customer(central, row) is None
    assert _batches(central) == 0
    with central.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(SyncJournalEntry)) == journal_before
    assert desk.send(payload["entries"])["applied"] == 1
    assert _customer(central, row) is not None


def test_batches_have_their_own_size_limit(central: Central, tmp_path: Path) -> None:
    settings = CentralSettings(data_dir=tmp_path, database_url=central.db.url,
                               max_request_bytes=1024, max_batch_bytes=1024 * 1024)
    with TestClient(create_app(settings, db=central.db)) as small:
        desk = Desk("101", central.desks["101"].agency_id, central.desks["101"].credential,
                    small)
        notes = "".join(f"{n:08x}" for n in range(400))
        payload = desk.payload([desk.insert("customer", {"last_name": "Gros", "notes": notes})])
        assert len(wire.pack(payload)[2]) > 1024
        assert desk.post(payload).status_code == 200
        other = small.post("/agencies/101/works-invoices", content=b"x" * 2048,
                           headers={**desk.auth, "Content-Type": "application/json"})
        assert other.status_code == 413


def test_a_body_that_inflates_beyond_the_limit_is_refused(
        central: Central, tmp_path: Path) -> None:
    settings = CentralSettings(data_dir=tmp_path, database_url=central.db.url,
                               max_batch_uncompressed_bytes=4096)
    with TestClient(create_app(settings, db=central.db)) as small:
        desk = Desk("101", central.desks["101"].agency_id, central.desks["101"].credential,
                    small)
        row = uuid.uuid4()
        payload = desk.payload([desk.insert("customer", {"last_name": "Gonflé",
                                                         "notes": "x" * 8000}, row=row)])
        response = desk.post(payload)
        assert response.status_code == 400 and "décompressé" in response.json()["message"]
        assert _customer(central, row) is None
        assert desk.get("state")["last_batch"] == 0
