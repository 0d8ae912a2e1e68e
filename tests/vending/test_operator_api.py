"""The operator API in process (the application as ``serve`` builds it): a purchase and its
replay, refusals with their codes and French messages, the credential kept a moment by its
digest and a revocation honoured (a purchase at once, any other request within the promised
time), the request's id carried into the sale's thread, one log line per request."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from central.api import create_app
from central.api.operator_credentials import SECONDS, OperatorCredentials
from central.api.routes.operator import _in_sale_thread
from central.credentials import hash_secret
from central.logs import JsonFormatter, request_id
from central.settings import CentralSettings
from central.vending.operators import new_operator_secret, revoke_operator

from .world import DRN_A, VendingWorld

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def api(world: VendingWorld, tmp_path: Path,
              ticks: Ticks) -> AsyncIterator[tuple[httpx.AsyncClient, OperatorCredentials]]:
    settings = CentralSettings(data_dir=tmp_path, database_url=world.db.url,
                               vending_test_keys=True, max_request_bytes=4096)
    app = create_app(settings, db=world.db)
    known: OperatorCredentials = app.state.operator_credentials
    known.clock = ticks
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://central") as client:
        yield client, known


def _body(reference: str, **changes: Any) -> dict[str, Any]:
    return {"reference": reference, "meter": DRN_A, "amount": 2000, "phone": "0701020304",
            **changes}


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_a_purchase_its_replay_and_refusals_in_french(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials]) -> None:
    client, _known = api
    _moov, secret = world.operator()
    sold = await client.post("/operator/v1/purchases", json=_body("P1"), headers=_auth(secret))
    assert sold.status_code == 201, sold.text
    sale = sold.json()
    assert sale["token"] and not sale["replayed"] and sale["receipt"].endswith("000001")
    assert sold.headers["x-request-id"]
    again = await client.post("/operator/v1/purchases", json=_body("P1"), headers=_auth(secret))
    assert again.status_code == 200 and again.json()["replayed"]
    assert again.json()["token"] == sale["token"]
    reused = await client.post("/operator/v1/purchases", json=_body("P1", amount=2500),
                               headers=_auth(secret))
    assert (reused.status_code, reused.json()["error"]) == (409, "reference_reused")
    for hostile in (_body("P2", amount=0), _body("P2", extra="x"), _body("P2", meter=""),
                    _body("P2", channel="sms"), {"reference": "P2"}):
        refused = await client.post("/operator/v1/purchases", json=hostile,
                                    headers=_auth(secret))
        assert refused.status_code == 422, hostile
        assert refused.json()["error"] == "invalid_request"
        assert refused.json()["message"].startswith("Requête invalide")
    unknown = await client.post("/operator/v1/purchases", json=_body("P3", meter="47100000067"),
                                headers=_auth(secret))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "meter_unknown")
    huge = await client.post("/operator/v1/purchases", headers=_auth(secret),
                             content=b'{"reference": "' + b"x" * 5000 + b'"}')
    assert (huge.status_code, huge.json()["error"]) == (413, "payload_too_large")


async def test_credentials_missing_malformed_unknown_or_of_an_agency_are_refused(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials]) -> None:
    client, known = api
    _moov, secret = world.operator()
    for headers in ({}, _auth("n'importe quoi"), _auth(secret[:-2] + "zz"),
                    _auth("gc1.agency." + secret.split(".")[-1]), _auth(secret + "x" * 300)):
        refused = await client.post("/operator/v1/purchases", json=_body("C1"),
                                    headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"] == "unauthorized"
        assert "Identifiant d'opérateur" in refused.json()["message"]
        assert refused.headers["www-authenticate"] == "Bearer"
    assert len(known._known) == 1, "only the well-formed unknown one was looked up and kept"


async def test_the_credential_is_kept_by_its_digest_and_looked_up_again_after_the_delay(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials],
        ticks: Ticks, monkeypatch: pytest.MonkeyPatch) -> None:
    client, known = api
    _moov, secret = world.operator()
    look_ups: list[str] = []
    real = known.look_up

    def counted(digest: str) -> Any:
        look_ups.append(digest)
        return real(digest)

    monkeypatch.setattr(known, "look_up", counted)
    for n in range(3):
        sold = await client.post("/operator/v1/purchases", json=_body(f"K{n}"),
                                 headers=_auth(secret))
        assert sold.status_code == 201
    assert look_ups == [hash_secret(secret)], "one look-up for three purchases"
    assert list(known._known) == [hash_secret(secret)], "the secret itself is never kept"
    ticks.now += SECONDS
    await client.post("/operator/v1/purchases", json=_body("K9"), headers=_auth(secret))
    assert len(look_ups) == 2


async def test_a_revoked_credential_sells_nothing_at_once_and_reads_nothing_after_the_delay(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials],
        ticks: Ticks) -> None:
    client, _known = api
    _moov, secret = world.operator()
    quote = {"meter": DRN_A, "amount": 2000}
    assert (await client.post("/operator/v1/purchases", json=_body("R1"),
                              headers=_auth(secret))).status_code == 201
    revoke_operator(world.db, "moov")
    sale = await client.post("/operator/v1/purchases", json=_body("R2"), headers=_auth(secret))
    assert (sale.status_code, sale.json()["error"]) == (401, "unauthorized"), \
        "a sale is refused at once, though the credential is still kept"
    ticks.now += SECONDS - 0.01
    kept = await client.post("/operator/v1/quotes", json=quote, headers=_auth(secret))
    assert kept.status_code == 200, "a quote within the delay: the kept credential"
    ticks.now += 0.01
    late = await client.post("/operator/v1/quotes", json=quote, headers=_auth(secret))
    assert (late.status_code, late.json()["error"]) == (401, "unauthorized")


async def test_a_new_credential_replaces_the_kept_one(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials],
        ticks: Ticks) -> None:
    client, _known = api
    _moov, old = world.operator()
    assert (await client.post("/operator/v1/purchases", json=_body("N1"),
                              headers=_auth(old))).status_code == 201
    fresh = new_operator_secret(world.db, "moov")
    refused = await client.post("/operator/v1/purchases", json=_body("N2"), headers=_auth(old))
    assert refused.status_code == 401
    sold = await client.post("/operator/v1/purchases", json=_body("N2"), headers=_auth(fresh))
    assert sold.status_code == 201
    ticks.now += SECONDS
    gone = await client.get("/operator/v1/purchases/N1", headers=_auth(old))
    assert gone.status_code == 401


async def test_each_purchase_leaves_one_log_line_with_its_request_id(
        world: VendingWorld, api: tuple[httpx.AsyncClient, OperatorCredentials],
        caplog: pytest.LogCaptureFixture) -> None:
    client, _known = api
    _moov, secret = world.operator()
    with caplog.at_level(logging.INFO, logger="central.api"):
        sold = await client.post("/operator/v1/purchases", json=_body("L1"),
                                 headers={**_auth(secret), "X-Request-ID": "op-42"})
    assert sold.headers["x-request-id"] == "op-42"
    (line,) = [r for r in caplog.records if getattr(r, "path", None) == "/operator/v1/purchases"]
    assert (getattr(line, "status", None), getattr(line, "request_id", None),
            getattr(line, "method", None)) == (201, "op-42", "POST")
    with caplog.at_level(logging.INFO, logger="central.api"):
        found = await client.get("/operator/v1/purchases/L1", headers=_auth(secret))
    assert found.status_code == 200
    (read,) = [r for r in caplog.records if getattr(r, "path", None) == "/operator/v1/purchases/L1"]
    # the operator is named on its requests, whichever way they were served (lane or routes)
    assert [json.loads(JsonFormatter().format(r)).get("operator") for r in (line, read)] == [
        "moov", "moov"]
    assert secret not in caplog.text


async def test_the_sale_thread_runs_with_the_request_context() -> None:
    token = request_id.set("abc")
    try:
        assert await _in_sale_thread(request_id.get) == "abc"
    finally:
        request_id.reset(token)


def test_a_flood_of_unknown_credentials_keeps_a_bounded_memory(world: VendingWorld) -> None:
    known = OperatorCredentials(world.db, max_entries=3)
    for n in range(10):
        assert known.look_up(hash_secret(f"gop1.x.{n}")) is None
        assert len(known._known) <= 3
    assert known.digest("gc1.admin.secret") is None


async def test_requests_finding_a_credential_expired_together_wait_for_one_look_up(
        world: VendingWorld, ticks: Ticks, monkeypatch: pytest.MonkeyPatch) -> None:
    _moov, secret = world.operator()
    known = OperatorCredentials(world.db, clock=ticks)
    look_ups: list[str] = []
    release = threading.Event()
    real = known.look_up

    def held(digest: str) -> Any:
        look_ups.append(digest)
        release.wait(5)
        return real(digest)

    monkeypatch.setattr(known, "look_up", held)
    waiting = [asyncio.ensure_future(known.bearer(f"Bearer {secret}")) for _ in range(8)]
    await asyncio.sleep(0.05)
    release.set()
    found = await asyncio.gather(*waiting)
    assert {o.code if o else None for o in found} == {"moov"}
    assert look_ups == [hash_secret(secret)], "eight requests, one look-up"
    ticks.now += SECONDS
    release.clear()
    again = [asyncio.ensure_future(known.bearer(f"Bearer {secret}")) for _ in range(3)]
    await asyncio.sleep(0.05)
    revoke_operator(world.db, "moov")
    release.set()
    assert await asyncio.gather(*again) == [None, None, None], \
        "the look-up made after the delay answers, revocation included"
    assert len(look_ups) == 2 and not known._pending


async def test_the_description_shows_the_operators_bearer_scheme(
        api: tuple[httpx.AsyncClient, OperatorCredentials]) -> None:
    client, _known = api
    spec = (await client.get("/openapi.json")).json()
    assert spec["paths"]["/operator/v1/purchases"]["post"]["security"] == [
        {"OperatorBearer": []}]
    assert spec["components"]["securitySchemes"]["OperatorBearer"]["scheme"] == "bearer"
    assert "PurchaseIn" in spec["components"]["schemas"]
