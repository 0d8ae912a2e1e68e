"""Agency 101's credential plays against agency 102 on every desk endpoint of the prepaid module
(check, quote, sale, SMS re-send, token decoding, management tokens, the sales' look-up): every
attempt is refused (403 or 404), says nothing of 102's meter beyond the refusal, and writes
nothing (no sale, no reference, no audit, no SMS, no journal entry, no TID taken)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.models import Agency, AuditEntry, User, VendTransaction
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import Role
from app.models.journal import SyncJournalEntry
from central.agencies import add_agency
from central.api import create_app
from central.credentials import issue_agency_credential
from central.models import SmsMessage, VendingMeter, VendingRequest
from central.settings import CentralSettings
from central.sts.meter_number import luhn_check_digit
from kernel.context import UnitOfWork
from tests.central.conftest import central_sqlite_template, central_sqlite_url  # noqa: F401
from tests.vending.world import DRN_A, VendingWorld

pytestmark = pytest.mark.anyio

#: Tables an attempt must leave untouched.
WATCHED = (VendTransaction, VendingRequest, AuditEntry, SmsMessage, SyncJournalEntry, VendingMeter)


def _drn(serial: int) -> str:
    payload = f"47200{serial:05d}"
    return payload + str(luhn_check_digit(payload))


DRN_102 = _drn(1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Scene:
    db: Database
    http: httpx.AsyncClient
    a: dict[str, str]
    b: dict[str, str]
    sale_102: dict[str, Any]

    def counts(self) -> dict[str, int]:
        with self.db.reading() as session:
            found = {model.__tablename__: int(session.scalar(
                select(func.count()).select_from(model)) or 0) for model in WATCHED}
            found["last_tid"] = int(session.scalar(
                select(func.coalesce(func.sum(VendingMeter.last_tid), 0))) or 0)
            return found


@pytest.fixture
async def scene(central_sqlite_url: str, tmp_path: Path) -> AsyncIterator[Scene]:  # noqa: F811
    db = Database(central_sqlite_url)
    world = VendingWorld(db)
    b_info, _ = add_agency(db, "102", "Agence 102")
    world.agency_id = b_info.id
    world.add_meter(DRN_102, "Diabaté", "Salif")
    with db.session() as session, session.begin():
        a_id = session.scalars(select(Agency.id).where(Agency.code == "101")).one()
        secret_a = issue_agency_credential(session, a_id, "101")
        secret_b = issue_agency_credential(session, b_info.id, "102")
    with UnitOfWork(db, SYSTEM) as uow:
        for agency_id, name in ((a_id, "chef101"), (b_info.id, "chef102")):
            uow.session.add(User(agency_id=agency_id, username=name, full_name=name,
                                 role=Role.SUPERVISOR, password_hash="x"))
        uow.commit()
    settings = CentralSettings(data_dir=tmp_path, database_url=central_sqlite_url,
                               vending_test_keys=True,
                               sms_gateway_url="http://127.0.0.1:9/messages")
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://central") as http:
        b = {"Authorization": f"Bearer {secret_b}"}
        sold = await http.post("/agencies/102/vend-sales", headers=b, json={
            "reference": "B-REF-1", "meter": DRN_102, "amount": 2000,
            "phone": "0701010101", "agent": "agent102"})
        assert sold.status_code == 201, sold.text
        sale = sold.json()
        with db.reading() as session:
            sale["id"] = str(session.scalars(select(VendTransaction.id).where(
                VendTransaction.receipt_number == sale["receipt"])).one())
        yield Scene(db, http, {"Authorization": f"Bearer {secret_a}"}, b, sale)
    db.dispose()


def _refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (403, 404), (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    text = response.text
    for secret in ("Diabaté", "D***", "Salif", "0701010101"):
        assert secret not in text, f"{secret} leaked in {text}"
    return body


def _attacks(scene: Scene) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every desk endpoint, aimed at 102's meter, sale or token."""
    receipt, token = scene.sale_102["receipt"], scene.sale_102["token"]
    attacks: list[tuple[str, str, dict[str, Any] | None]] = []
    for code in ("101", "102"):  # 101's own path with 102's things, and 102's path
        base = f"/agencies/{code}"
        attacks += [
            ("GET", f"{base}/vend-meters/{DRN_102}", None),
            ("POST", f"{base}/vend-quotes", {"meter": DRN_102, "amount": 2000}),
            ("POST", f"{base}/vend-quotes", {"meter": DRN_102, "energy_kwh": "10"}),
            ("POST", f"{base}/vend-sales", {"reference": "A-REF-1", "meter": DRN_102,
                                            "amount": 2000, "phone": "0702020202",
                                            "agent": "agent101"}),
            # 102's own reference replayed by 101: never 102's sale
            ("POST", f"{base}/vend-sales", {"reference": "B-REF-1", "meter": DRN_102,
                                            "amount": 2000, "phone": "0701010101",
                                            "agent": "agent101"}),
            ("POST", f"{base}/vend-sales/{receipt}/sms", {"phone": "0702020202",
                                                          "agent": "agent101",
                                                          "reason": "vol de jeton"}),
            ("POST", f"{base}/vend-tokens/decode", {"meter": DRN_102, "token": token}),
            *[("POST", f"{base}/vend-management", {
                "reference": f"A-M-{kind}-{agent}", "meter": DRN_102, "kind": kind,
                "reason": "essai d'une autre agence", "agent": agent, "watts": 2000})
              for kind in ("clear_credit", "clear_tamper", "power_limit", "key_change")
              for agent in ("chef101", "chef102")],
            ("GET", f"{base}/vend-transactions/{scene.sale_102['id']}", None),
        ]
    attacks += [("GET", "/agencies/102/vend-transactions", None),
                ("GET", f"/agencies/102/vend-transactions?meter_serial={DRN_102}", None)]
    return attacks


async def test_agency_101_cannot_touch_102s_meters_sales_or_tokens(scene: Scene) -> None:
    before = scene.counts()
    for method, path, body in _attacks(scene):
        response = await scene.http.request(method, path, headers=scene.a, json=body)
        _refused(response)
        assert scene.counts() == before, f"{method} {path} wrote something"


async def test_listing_with_101s_own_path_shows_none_of_102s_sales(scene: Scene) -> None:
    listed = await scene.http.get("/agencies/101/vend-transactions",
                                  params={"meter_serial": DRN_102}, headers=scene.a)
    assert listed.status_code == 200 and listed.json()["items"] == []
    everything = await scene.http.get("/agencies/101/vend-transactions", headers=scene.a)
    assert scene.sale_102["token"] not in everything.text
    # 102's token typed against 101's own meter: explained without naming 102's meter or sale
    why = await scene.http.post("/agencies/101/vend-tokens/decode", headers=scene.a,
                                json={"meter": DRN_A, "token": scene.sale_102["token"]})
    assert why.status_code == 200 and why.json()["verdict"] == "not_this_meter"
    assert DRN_102 not in why.text and scene.sale_102["receipt"] not in why.text


async def test_the_same_calls_answer_101_for_its_own_meter(scene: Scene) -> None:
    """The refusals above are about the agency, not broken endpoints: 101's meter answers."""
    checked = await scene.http.get(f"/agencies/101/vend-meters/{DRN_A}", headers=scene.a)
    assert checked.status_code == 200 and checked.json()["owner"] == "K*** A."
    quoted = await scene.http.post("/agencies/101/vend-quotes", headers=scene.a,
                                   json={"meter": DRN_A, "amount": 2000})
    assert quoted.status_code == 200
    sold = await scene.http.post("/agencies/101/vend-sales", headers=scene.a, json={
        "reference": "A-REF-2", "meter": DRN_A, "amount": 2000, "phone": "0702020202",
        "agent": "agent101"})
    assert sold.status_code == 201
    # 102's own check of its meter still answers (its owner masked)
    own = await scene.http.get(f"/agencies/102/vend-meters/{DRN_102}", headers=scene.b)
    assert own.status_code == 200 and own.json()["owner"] == "D*** S."
    tamper = await scene.http.post("/agencies/101/vend-management", headers=scene.a, json={
        "reference": "A-M-1", "meter": DRN_A, "kind": "clear_tamper",
        "reason": "alarme après contrôle", "agent": "chef101"})
    assert tamper.status_code == 201 and len(tamper.json()["token"]) == 20
    # 102's supervisor named through 101's credential is not 101's supervisor
    borrowed = await scene.http.post("/agencies/101/vend-management", headers=scene.a, json={
        "reference": "A-M-2", "meter": DRN_A, "kind": "clear_tamper",
        "reason": "alarme après contrôle", "agent": "chef102"})
    assert borrowed.status_code == 403


async def test_the_live_search_never_lists_102s_meters(scene: Scene) -> None:
    """``GET /agencies/{code}/vend-meters?q=…``: 101's own path answers only 101's meters (102's
    number or holder's name finds nothing); 102's path with 101's credential is refused."""
    before = scene.counts()
    for q in (DRN_102[:6], DRN_102, "Diab", "diabaté", "472"):
        own = await scene.http.get("/agencies/101/vend-meters", params={"q": q},
                                   headers=scene.a)
        assert own.status_code == 200 and own.json()["items"] == [], own.text
        _refused(await scene.http.get("/agencies/102/vend-meters", params={"q": q},
                                      headers=scene.a))
    mine = await scene.http.get("/agencies/101/vend-meters", params={"q": DRN_A[:10]},
                                headers=scene.a)
    assert [m["meter"] for m in mine.json()["items"]] == [DRN_A]
    theirs = await scene.http.get("/agencies/102/vend-meters", params={"q": "diab"},
                                  headers=scene.b)
    assert [m["meter"] for m in theirs.json()["items"]] == [DRN_102]
    assert "Diabaté" not in theirs.text and theirs.json()["items"][0]["owner"] == "D*** S."
    assert scene.counts() == before
