"""ASGI middleware of the API: request id and structured access log, a last-resort JSON 500,
and the request body size limit. Plain ASGI (not ``BaseHTTPMiddleware``) so bodies stream."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from central.api.errors import error_body
from central.logs import request_id

log = logging.getLogger("central.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def _send_json(send: Send, status: int, body: dict[str, Any], request: str) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"x-request-id", request.encode()),
        ],
    })
    await send({"type": "http.response.body", "body": payload})


def _log_request(scope: Scope, state: dict[str, Any], status: int, started: float) -> None:
    principal = state.get("principal")
    log.info(
        "%s %s %s", scope.get("method"), scope.get("path"), status,
        extra={
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "agency": getattr(principal, "agency_code", None)
            or ("admin" if principal is not None else None),
            "operator": state.get("operator"),
            "client": (scope.get("client") or (None,))[0],
        },
    )


class RequestContext:
    """Gives each request an id (``X-Request-ID``, kept if the client sent a sane one), logs one
    line when it ends, and turns any exception that escaped the app into a JSON 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not response_started:
                status = 500
                await _send_json(send, 500, error_body(
                    "internal_error",
                    f"Erreur interne du serveur. Référence à transmettre au support : {rid}.",
                ), rid)
        finally:
            if log.isEnabledFor(logging.INFO):
                _log_request(scope, state, status, started)
            request_id.reset(token)


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses request bodies above ``max_bytes`` (or the limit of the first ``larger`` path
    pattern that matches) with a JSON 413, whether the client announced the length or streams
    the body in chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 larger: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple((re.compile(pattern), limit) for pattern, limit in larger)

    def _limit(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.match(path):
                return limit
        return self.max_bytes

    def _refusal(self, limit: int) -> dict[str, Any]:
        megabytes = limit / (1024 * 1024)
        return error_body(
            "payload_too_large",
            f"Requête trop volumineuse : la limite est de {megabytes:g} Mo.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = request_id.get() or ""
        limit = self._limit(scope.get("path") or "")
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_json(send, 413, self._refusal(limit), rid)
            return
        received = 0
        exceeded = False
        replaced = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def watch(message: Message) -> None:
            # The framework may turn the interrupted read into its own error response: once
            # the limit is passed, whatever the app answers is replaced by the 413.
            nonlocal replaced, started
            if not exceeded or started:
                started = started or message["type"] == "http.response.start"
                await send(message)
            elif not replaced:
                replaced = True
                await _send_json(send, 413, self._refusal(limit), rid)

        try:
            await self.app(scope, limited_receive, watch)
        except _TooLarge:
            if not (replaced or started):
                await _send_json(send, 413, self._refusal(limit), rid)
