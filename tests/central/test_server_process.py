"""``python -m central serve`` as a real uvicorn process on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.models.database import Database
from central.embedded import free_port
from central.migrate import head_revision as central_head
from tests.central.api_world import build_two_agencies

ROOT = Path(__file__).resolve().parents[2]


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer")


def test_real_server(cdb: Database, tmp_path: Path) -> None:
    world = build_two_agencies(cdb)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "central", "--database-url", cdb.url, "--data-dir",
             str(tmp_path), "serve", "--port", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        wait_for(base, process)
        with httpx.Client(base_url=base, timeout=10) as client:
            mine = {"Authorization": f"Bearer {world.credential_101}"}
            assert client.get("/reference/tariffs").status_code == 401
            tariffs = client.get("/reference/tariffs", headers=mine).json()
            assert {t["code"] for t in tariffs} >= {"EAU-DOM", "ELEC-DOM"}
            assert client.get("/agencies/102/invoices", headers=mine).status_code == 403
            assert client.get(f"/agencies/101/customers/{world.customer_102}",
                              headers=mine).status_code == 404
            page = client.get("/agencies/101/customers?limit=3", headers=mine).json()
            assert len(page["items"]) == 3
            too_big = client.post("/agencies/101/works-invoices", headers=mine,
                                  content=b"x" * (21 * 1024 * 1024))
            assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
            assert client.get("/version").json()["schema"]["central"] == central_head()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry.get("path") == "/agencies/102/invoices"]
    assert access and access[0]["status"] == 403 and access[0]["agency"] == "101"
    assert access[0]["request_id"] and access[0]["duration_ms"] >= 0
    assert world.credential_101 not in log.read_text()
