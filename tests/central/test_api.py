"""The API in process (httpx ASGITransport) on SQLite and PostgreSQL: authentication, agency
isolation, reference data, administration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.models.database import Database
from app.models.enums import Role
from central.api import create_app
from central.migrate import head_revision as central_head
from central.settings import CentralSettings
from tests.central.api_world import TwoAgencies, build_two_agencies
from tests.central.test_corrections_and_works import works_invoice

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world(cdb: Database) -> TwoAgencies:
    return build_two_agencies(cdb)


@pytest.fixture
async def client(cdb: Database, world: TwoAgencies, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = CentralSettings(data_dir=tmp_path, database_url=cdb.url)
    app = create_app(settings, db=cdb)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://central") as http:
        yield http


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_health_version_and_docs_need_no_credential(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    version = (await client.get("/version")).json()
    assert version["name"] == "guichet-central" and version["currency"] == "XOF"
    from kernel.migrate import HEAD

    assert version["schema"] == {"shared": HEAD, "central": central_head()}
    assert "swagger" in (await client.get("/docs")).text.lower()
    spec = (await client.get("/openapi.json")).json()
    assert "/agencies/{code}/customers" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


async def test_every_other_request_needs_a_valid_credential(client: httpx.AsyncClient,
                                                            world: TwoAgencies) -> None:
    missing = await client.get("/reference/tariffs")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error"] == "unauthorized"
    wrong = await client.get("/reference/tariffs", headers=auth(world.credential_101 + "x"))
    assert wrong.status_code == 401 and "inconnu" in wrong.json()["message"]
    renewed = await client.post("/admin/agencies/101/credentials?revoke_others=true",
                                headers=auth(world.admin))
    assert renewed.status_code == 201
    revoked = await client.get("/reference/tariffs", headers=auth(world.credential_101))
    assert revoked.status_code == 401, "a revoked credential no longer opens anything"
    fresh = await client.get("/reference/tariffs", headers=auth(renewed.json()["credential"]))
    assert fresh.status_code == 200


async def test_reference_data(client: httpx.AsyncClient, world: TwoAgencies) -> None:
    headers = auth(world.credential_102)
    tariffs = (await client.get("/reference/tariffs", headers=headers)).json()
    water = next(t for t in tariffs if t["code"] == "EAU-DOM" and t["fixed_charge_minor"] == 1500
                 and len(t["bands"]) == 3)
    assert [b["lower_bound"] for b in water["bands"]] == [0, 10, 30]
    assert water["vat_rate"] in ("0.18", "0.1800") and water["valid_from"] == "2020-01-01"
    catalogue = (await client.get("/reference/works-catalogue", headers=headers)).json()
    assert {"DEP-CPT", "BR-EAU-15"} <= {item["code"] for item in catalogue}
    communes = (await client.get("/reference/communes", headers=headers)).json()
    assert any(len(c["streets"]) == 24 for c in communes)
    agencies = (await client.get("/reference/agencies", headers=headers)).json()
    assert [a["code"] for a in agencies] == ["101", "102"]


async def test_an_agency_reads_its_own_data_page_by_page(client: httpx.AsyncClient,
                                                         world: TwoAgencies) -> None:
    headers = auth(world.credential_101)
    first = (await client.get("/agencies/101/customers?limit=10", headers=headers)).json()
    assert len(first["items"]) == 10 and first["next_after"]
    rest = (await client.get(f"/agencies/101/customers?limit=10&after={first['next_after']}",
                             headers=headers)).json()
    assert len(rest["items"]) == 5 and rest["next_after"] is None
    one = await client.get(f"/agencies/101/customers/{first['items'][0]['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["id"] == first["items"][0]["id"]
    invoices = (await client.get("/agencies/101/invoices?period=2026-10", headers=headers)).json()
    number = invoices["items"][0]["number"]
    detail = (await client.get(f"/agencies/101/invoices/{number}", headers=headers)).json()
    assert detail["total_minor"] == sum(line["amount_minor"] for line in detail["lines"])
    sales = (await client.get("/agencies/101/vend-transactions", headers=headers)).json()
    assert [s["id"] for s in sales["items"]] == [str(world.vend_101)]
    assert sales["items"][0]["token"] == "12345678901234567890"


async def test_an_agency_cannot_read_another_agencys_customers_invoices_or_tokens(
    client: httpx.AsyncClient, world: TwoAgencies
) -> None:
    headers = auth(world.credential_101)
    for path in ("/agencies/102/customers", "/agencies/102/invoices",
                 "/agencies/102/vend-transactions", f"/agencies/102/customers/{world.customer_102}",
                 f"/agencies/102/invoices/{world.invoice_102}",
                 f"/agencies/102/vend-transactions/{world.vend_102}", "/agencies/102/users"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 403, path
        assert response.json()["error"] == "forbidden" and "101" in response.json()["message"]
    # Another agency's rows looked up under one's own code are simply not there.
    for path in (f"/agencies/101/customers/{world.customer_102}",
                 f"/agencies/101/invoices/{world.invoice_102}",
                 f"/agencies/101/vend-transactions/{world.vend_102}"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, path
    listed = (await client.get("/agencies/101/vend-transactions", headers=headers)).json()
    assert str(world.vend_102) not in {s["id"] for s in listed["items"]}
    admin = auth(world.admin)
    assert (await client.get(f"/agencies/102/invoices/{world.invoice_102}",
                             headers=admin)).status_code == 200


async def test_an_agency_writes_only_its_own_data(client: httpx.AsyncClient,
                                                  world: TwoAgencies) -> None:
    body = works_invoice(world.account_102, "FT102-2026-000007").model_dump(mode="json")
    refused = await client.post("/agencies/102/works-invoices", json=body,
                                headers=auth(world.credential_101))
    assert refused.status_code == 403
    foreign = works_invoice(world.account_102, "FT101-2026-000007").model_dump(mode="json")
    hidden = await client.post("/agencies/101/works-invoices", json=foreign,
                               headers=auth(world.credential_101))
    assert hidden.status_code == 404, "another agency's account is unknown here"
    created = await client.post("/agencies/102/works-invoices", json=body,
                                headers=auth(world.credential_102))
    assert created.status_code == 201 and created.json()["created"] is True
    again = await client.post("/agencies/102/works-invoices", json=body,
                              headers=auth(world.credential_102))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["balance_minor"] == created.json()["balance_minor"]


async def test_users_and_their_hashes_go_only_to_their_agency(client: httpx.AsyncClient,
                                                              world: TwoAgencies,
                                                              cdb: Database) -> None:
    from central.users import add_user

    add_user(cdb, "siege.partout", "Siège itinérant", Role.ADMINISTRATOR, "mot-de-passe-siege",
             None, roaming=True)
    add_user(cdb, "siege.bureau", "Siège au bureau", Role.ADMINISTRATOR, "mot-de-passe-siege",
             None)
    mine = (await client.get("/agencies/102/users", headers=auth(world.credential_102))).json()
    names = {u["username"] for u in mine}
    assert names == {"agent102", "siege.partout"}, \
        "its agents and the roaming head-office ones; never the demo's (admin, agent)"
    assert "agent" not in names, "agency 101's agents stay with agency 101"
    assert all(u["password_hash"].startswith("$argon2") for u in mine)
    summary = (await client.get("/admin/users", headers=auth(world.admin))).json()
    assert {"agent", "agent102"} <= {u["username"] for u in summary}
    assert all("password_hash" not in u for u in summary)


async def test_administration_is_for_the_administrator(client: httpx.AsyncClient,
                                                       world: TwoAgencies) -> None:
    assert (await client.get("/admin/billing-runs",
                             headers=auth(world.credential_101))).status_code == 403
    runs = (await client.get("/admin/billing-runs", headers=auth(world.admin))).json()
    assert runs[0]["period"] == "2026-11" and runs[0]["status"] == "completed"
    created = await client.post("/admin/agencies", json={"code": "103", "name": "Agence 103"},
                                headers=auth(world.admin))
    assert created.status_code == 201
    secret = created.json()["credential"]
    assert (await client.get("/agencies/103/customers", headers=auth(secret))).json()["items"] == []
    assert (await client.get("/agencies/101/customers", headers=auth(secret))).status_code == 403
    duplicate = await client.post("/admin/agencies", json={"code": "103", "name": "Encore"},
                                  headers=auth(world.admin))
    assert duplicate.status_code == 409 and "existe déjà" in duplicate.json()["message"]
    user = await client.post("/admin/users", headers=auth(world.admin), json={
        "username": "kone", "full_name": "Awa Koné", "role": "supervisor",
        "agency_code": "103", "password": "un-mot-de-passe"})
    assert user.status_code == 201 and user.json()["agency_code"] == "103"
    disabled = await client.post("/admin/users/kone/disable", headers=auth(world.admin))
    assert disabled.json()["is_active"] is False
    correction = await client.post(f"/admin/invoices/{world.invoice_102}/correct",
                                   headers=auth(world.admin), json={"reason": "contrôle"})
    assert correction.status_code == 200
    assert correction.json()["credit_note_number"].startswith("AV")
