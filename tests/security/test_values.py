"""Issue 10's findings 6 and 9 over HTTP: values central would not take from a desk's own
services are parked with their reason (never a 500, never applied), and malformed requests are
answered 4xx."""

from __future__ import annotations

import gzip
import hashlib
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import Account, Payment, SyncParked
from tests.security.conftest import Scene
from tests.security.test_attacks import payment


def _parked_error(scene: Scene, row: str) -> str:
    with scene.db.reading() as session:
        return str(session.scalars(select(SyncParked.error).where(
            SyncParked.agency_id == scene.template.agency_b,
            SyncParked.row_id == uuid.UUID(row))).one())


@pytest.mark.parametrize(("amount", "paid_at"), [
    (-5_000, None), (0, None), (2**62, None), (1.5, None), ("5000", None), (True, None),
    (5_000, "0001-01-01T10:00:00+00:00"), (5_000, "9999-12-31T10:00:00+00:00"),
    (5_000, "2031-01-01T10:00:00+00:00"),
], ids=["negative", "zero", "2^62", "fractional", "text", "boolean", "year 1", "year 9999",
        "future"])
def test_a_payment_the_counter_would_refuse_is_parked(scene: Scene, amount: Any,
                                                      paid_at: str | None) -> None:
    entry = payment(scene, scene.template.account_b)
    entry["changes"]["amount_minor"] = [None, amount]
    if paid_at is not None:
        entry["changes"]["paid_at"] = [None, paid_at]
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send([entry])
    assert (answer["applied"], answer["parked"]) == (0, 1), answer
    scene.assert_untouched(before, head)
    assert "payment." in _parked_error(scene, entry["row"])


def test_payments_that_would_overflow_a_balance_never_block_the_agency(scene: Scene) -> None:
    huge = [payment(scene, scene.template.account_b, 2**62) for _ in range(2)]
    before, head = scene.snapshot(), scene.head()
    first = scene.b.post(huge)
    assert first.status_code == 200 and first.json()["parked"] == 2, first.text
    number = first.json()["number"]
    again = scene.b.post_body(number, *_packed(scene, huge, number))
    assert again.status_code == 200 and again.json()["status"] == "duplicate", again.text
    scene.assert_untouched(before, head)
    fine = scene.b.send([payment(scene, scene.template.account_b, 5_000)])
    assert fine["applied"] == 1
    with scene.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Payment).where(
            Payment.amount_minor > 10**12)) == 0
        assert session.get(Account, scene.template.account_b) is not None


def _packed(scene: Scene, entries: list[dict[str, Any]], number: int
            ) -> tuple[bytes, str, int]:
    from kernel import wire

    payload = {"agency": scene.b.code, "number": number, "kind": "changes", "protocol": 1,
               "schema": 2, "entries": entries}
    _data, digest, packed = wire.pack(payload)
    return packed, digest, len(entries)


# --- finding 9: malformed requests are answered 4xx -------------------------------------------
@pytest.mark.parametrize("row", ["pas-un-uuid", {"id": str(uuid.uuid4())}, 12, None, "1" * 10_000])
def test_an_entry_whose_row_is_not_a_uuid_is_a_bad_batch(scene: Scene, row: Any) -> None:
    entry = payment(scene, scene.template.account_b)
    entry["row"] = row
    before, head = scene.snapshot(), scene.head()
    response = scene.b.post([entry])
    assert response.status_code == 400 and response.json()["error"] == "bad_batch", response.text
    scene.assert_untouched(before, head)


@pytest.mark.parametrize(("key", "value"), [("tx", {"a": 1}), ("op", "upsert"), ("base", -1),
                                           ("new", 10**30), ("seq", "1"), ("changes", [1, 2]),
                                           ("table", ["payment"])])
def test_an_entry_with_a_malformed_field_is_a_bad_batch(scene: Scene, key: str,
                                                        value: Any) -> None:
    entry = payment(scene, scene.template.account_b)
    entry[key] = value
    response = scene.b.post([entry])
    assert response.status_code == 400 and response.json()["error"] == "bad_batch", response.text


@pytest.mark.parametrize("value", [{"id": "x"}, "pas-un-uuid", 42, ["a"]])
def test_a_foreign_key_that_is_not_a_uuid_is_parked(scene: Scene, value: Any) -> None:
    entry = payment(scene, scene.template.account_b)
    entry["changes"]["account_id"] = [None, value]
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send([entry])
    assert (answer["applied"], answer["parked"]) == (0, 1), answer
    scene.assert_untouched(before, head)


def test_deeply_nested_json_is_a_bad_batch(scene: Scene) -> None:
    depth = 200_000
    data = b'{"agency":"102","entries":' + b"[" * depth + b"]" * depth + b"}"
    number = scene.b.state()["last_batch"] + 1
    response = scene.b.post_body(number, gzip.compress(data), hashlib.sha256(data).hexdigest(), 1)
    assert response.status_code == 400 and response.json()["error"] == "bad_batch", response.text
    assert scene.http.get("/health").status_code == 200


@pytest.mark.parametrize(("path", "params"), [
    ("changes", {"after": 10**30}), ("state", {"cursor": 10**30}),
    ("changes", {"after": -1}), ("changes", {"after": "x"}),
])
def test_out_of_range_cursors_are_answered_422(scene: Scene, path: str,
                                              params: dict[str, Any]) -> None:
    response = scene.http.get(scene.b.url(path), params=params, headers=scene.b.auth)
    assert response.status_code == 422, response.text


def test_a_batch_number_beyond_range_is_answered_422(scene: Scene) -> None:
    entry = payment(scene, scene.template.account_b)
    body, digest, rows = _packed(scene, [entry], 10**30)
    response = scene.b.post_body(10**30, body, digest, rows)
    assert response.status_code == 422, response.text
