"""Errors are JSON everywhere (never a traceback), bodies are limited, and every request leaves
one structured log line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter

from app.models.database import Database
from central.api import create_app
from central.logs import JsonFormatter
from central.settings import CentralSettings
from tests.central.api_world import TwoAgencies, build_two_agencies

pytestmark = pytest.mark.anyio
LIMIT = 64 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def db(central_sqlite_url: str) -> Iterator[Database]:
    database = Database(central_sqlite_url)
    yield database
    database.dispose()


@pytest.fixture
def world(db: Database) -> TwoAgencies:
    return build_two_agencies(db)


broken = APIRouter()


@broken.get("/broken")
def _broken() -> None:
    raise RuntimeError("secret internal detail")


@pytest.fixture
async def client(db: Database, world: TwoAgencies, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = CentralSettings(data_dir=tmp_path, database_url=db.url, max_request_bytes=LIMIT)
    app = create_app(settings, db=db, routers=[broken])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://central") as http:
        yield http


def check_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and body["message"] and body["request_id"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body  # type: ignore[no-any-return]


async def test_unknown_routes_methods_and_bad_parameters(client: httpx.AsyncClient,
                                                         world: TwoAgencies) -> None:
    headers = {"Authorization": f"Bearer {world.credential_101}"}
    check_error(await client.get("/nowhere", headers=headers), 404, "not_found")
    check_error(await client.delete("/health"), 405, "method_not_allowed")
    body = check_error(await client.get("/agencies/101/customers/not-a-uuid", headers=headers),
                       422, "invalid_request")
    assert "customer_id" in str(body["message"])
    check_error(await client.get("/agencies/1x1/customers", headers=headers), 422,
                "invalid_request")
    check_error(await client.get("/agencies/101/customers?limit=5000", headers=headers), 422,
                "invalid_request")


async def test_an_unexpected_error_is_a_json_500_with_a_reference(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="central.api"):
        response = await client.get("/broken", headers={"X-Request-ID": "ref-42"})
    body = check_error(response, 500, "internal_error")
    assert "ref-42" in str(body["message"]) and "secret internal detail" not in response.text
    logged = next(r for r in caplog.records if r.exc_info)
    assert "secret internal detail" in str(logged.exc_info[1]), "the log keeps the detail"


async def test_request_bodies_are_limited(client: httpx.AsyncClient, world: TwoAgencies) -> None:
    headers = {"Authorization": f"Bearer {world.credential_101}"}
    big = b"{" + b" " * (LIMIT + 10) + b"}"
    announced = await client.post("/agencies/101/works-invoices", content=big,
                                  headers=headers | {"content-type": "application/json"})
    body = check_error(announced, 413, "payload_too_large")
    assert "Mo" in str(body["message"])

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * (LIMIT // 4)

    streamed = await client.post("/agencies/101/works-invoices", content=chunks(),
                                 headers=headers | {"content-type": "application/json"})
    check_error(streamed, 413, "payload_too_large")


async def test_each_request_leaves_one_structured_log_line(
    client: httpx.AsyncClient, world: TwoAgencies, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="central.api"):
        await client.get("/agencies/101/customers", headers={
            "Authorization": f"Bearer {world.credential_101}", "X-Request-ID": "abc-123"})
    (record,) = [r for r in caplog.records if getattr(r, "path", None) == "/agencies/101/customers"]
    line = json.loads(JsonFormatter().format(record))
    assert line["agency"] == "101" and line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == "/agencies/101/customers" and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")
    everything = "".join(JsonFormatter().format(r) for r in caplog.records)
    assert world.credential_101 not in everything and "$argon2" not in everything


async def test_request_id_is_in_log_lines_written_during_the_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="central.api"):
        await client.get("/broken", headers={"X-Request-ID": "trace-7"})
    error = next(r for r in caplog.records if r.levelno == logging.ERROR)
    line = json.loads(JsonFormatter().format(error))
    assert line["request_id"] == "trace-7" and "RuntimeError" in line["exception"]
    access = next(r for r in caplog.records if getattr(r, "status", None) == 500)
    assert getattr(access, "path", None) == "/broken"
    assert json.loads(JsonFormatter().format(access))["request_id"] == "trace-7"
