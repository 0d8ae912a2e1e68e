"""The desk client asks a busy central again: a 500 (a pool that ran dry), 502/503/504 or a
dropped connection is retried with back-off on every step (they are all idempotent); a 4xx is
not."""

from __future__ import annotations

import httpx
import pytest

from app.sync.client import CentralClient, CentralError
from app.sync.endpoint import Endpoint


def _client(answers: list[object], waits: list[float]) -> tuple[CentralClient, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return httpx.Response(answer, json={"status": "applied", "last_batch": 3}
                              if answer == 200 else {"error": "internal_error",
                                                     "message": "occupé"})

    client = CentralClient(Endpoint("http://127.0.0.1:1", "gc1.101.x", "101"),
                           transport=httpx.MockTransport(handler), attempts=5, backoff=0.5,
                           sleep=waits.append)
    return client, seen


def test_a_busy_central_is_asked_again_with_back_off() -> None:
    waits: list[float] = []
    client, seen = _client([500, 503, httpx.ConnectError("refusé"), 200], waits)
    with client:
        answer = client.send_batch(4, b"\x1f\x8b", "0" * 64, 1)
    assert answer["status"] == "applied"
    assert seen == ["POST /agencies/101/sync/batches/4"] * 4
    assert client.retries == 3 and len(waits) == 3
    assert waits[0] < waits[2], "the wait grows"


def test_a_central_that_stays_in_error_fails_after_the_attempts() -> None:
    waits: list[float] = []
    client, seen = _client([500] * 5, waits)
    with client, pytest.raises(CentralError) as failed:
        client.close()
    assert len(seen) == 5 and "après 5 tentatives" in failed.value.message


def test_a_refusal_is_not_retried() -> None:
    client, seen = _client([403], [])
    with client, pytest.raises(CentralError) as refused:
        client.state()
    assert len(seen) == 1 and refused.value.status == 403
