"""Every sync endpoint belongs to its agency: another agency's credential is refused (403),
an unknown agency is not found (404), no credential is unauthorised (401)."""

from __future__ import annotations

from tests.central.sync.kit import Central

ENDPOINTS = [
    ("get", "state"), ("post", "batches/1"), ("post", "adopted"), ("post", "close"),
    ("get", "changes"), ("get", "snapshot"), ("get", "rows/customer"), ("get", "reconcile"),
]


def test_another_agency_cannot_reach_an_agencys_sync(central: Central) -> None:
    desk, other = central.desks["101"], central.desks["102"]
    payload = desk.payload([desk.insert("customer", {"last_name": "Intrus"})])
    for method, path in ENDPOINTS:
        url = desk.url(path)
        if path.startswith("batches"):
            response = desk.post(payload, auth=other.auth)
        else:
            response = getattr(central.client, method)(url, headers=other.auth)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"] == "forbidden"
        assert central.client.request(method.upper(), url).status_code == 401
        admin = {"Authorization": f"Bearer {central.admin}"}
        missing = central.client.request(method.upper(), f"/agencies/999/sync/{path}",
                                         headers=admin)
        assert missing.status_code == 404, (path, missing.text)
    assert desk.get("state")["last_batch"] == 0


def test_rows_of_unknown_or_local_tables_are_not_found(central: Central) -> None:
    desk = central.desks["101"]
    for table in ("sync_journal", "central_credential", "audit_entry", "nope"):
        response = central.client.get(desk.url(f"rows/{table}"), headers=desk.auth)
        assert response.status_code == 404, table
