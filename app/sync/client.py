"""The desk's HTTP client for central's synchronisation endpoints.

Every request has a timeout; a dropped connection, a timeout or a 500/502/503/504 is retried
with exponential backoff and jitter, and counted (the ledger shows retries). Every step of the
protocol is idempotent (a batch is numbered and a re-sent one is answered ``duplicate``, a close
bills a period once, the rest reads), so a busy central that answered 500 (a connection pool
that ran dry) is simply asked again. Anything else that goes
wrong comes back as ``CentralError`` with a French message, never a traceback.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx

from app.sync.endpoint import Endpoint
from kernel.errors import EnvironmentProblem

log = logging.getLogger("app.sync")

_RETRY_STATUS = frozenset({500, 502, 503, 504})
#: Billing a month at close may take minutes.
CLOSE_TIMEOUT = 1800.0


class CentralError(EnvironmentProblem):
    """Central refused or could not be reached; ``status`` and ``code`` when it answered."""

    def __init__(self, message: str, status: int | None = None, code: str = "",
                 body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body or {}


class CentralClient:
    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeout: float = 60.0,
        attempts: int = 6,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.attempts = attempts
        self.backoff = backoff
        self.retries = 0
        self.bytes_sent = 0
        self.bytes_received = 0
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=f"{endpoint.url}/agencies/{endpoint.agency_code}/sync",
            headers={"Authorization": f"Bearer {endpoint.credential}"},
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
            verify=_verification(endpoint),
        )

    def close_connection(self) -> None:
        self._http.close()

    def __enter__(self) -> CentralClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close_connection()

    # --- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, accept: frozenset[int] = frozenset(),
                 timeout: float | None = None, **kwargs: Any) -> dict[str, Any]:
        last_problem = ""
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                delay = self.backoff * 2 ** (attempt - 1)
                self._sleep(min(delay, 30.0) * (0.5 + random.random() / 2))
            try:
                response = self._http.request(
                    method, path, timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                    **kwargs)
            except httpx.TimeoutException:
                last_problem = "le serveur central ne répond pas (délai dépassé)"
                continue
            except httpx.ConnectError as error:
                if _is_certificate_problem(error):
                    raise CentralError(
                        "Certificat du serveur central refusé : il n'est pas signé par une "
                        "autorité reconnue (réglez GUICHET_CENTRAL_CA_FILE) ou ne correspond "
                        f"pas à son adresse. ({error})") from error
                log.info("central unreachable: %r", error)
                last_problem = "connexion au serveur central impossible ou coupée"
                continue
            except httpx.TransportError as error:
                log.info("central unreachable: %r", error)
                last_problem = "connexion au serveur central impossible ou coupée"
                continue
            content = kwargs.get("content")
            self.bytes_sent += len(content) if isinstance(content, bytes) else 0
            self.bytes_received += len(response.content)
            if response.status_code in _RETRY_STATUS:
                last_problem = f"serveur central indisponible ({response.status_code})"
                continue
            body = _json(response)
            if response.status_code < 300 or response.status_code in accept:
                body.setdefault("_status", response.status_code)
                return body
            raise _refusal(response.status_code, body)
        raise CentralError(
            f"Synchronisation interrompue : {last_problem} après {self.attempts} tentatives."
        )

    # --- endpoints ---------------------------------------------------------------------------

    def state(self, cursor: int | None = None, anchor: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if cursor is not None:
            params["cursor"] = cursor
        if anchor:
            params["anchor"] = anchor
        return self._request("GET", "/state", params=params)

    def send_batch(self, number: int, body: bytes, sha256: str, rows: int,
                   dry_run: bool = False) -> dict[str, Any]:
        """Central's answer; a 409 (gap, mismatch) comes back as a dict with ``_status``."""
        return self._request(
            "POST", f"/batches/{number}", content=body, accept=frozenset({409}),
            params={"dry_run": "true"} if dry_run else None,
            headers={"Content-Type": "application/gzip", "X-Batch-Sha256": sha256,
                     "X-Batch-Rows": str(rows)},
        )

    def adopted(self) -> dict[str, Any]:
        return self._request("POST", "/adopted")

    def held_numbers(self, numbers: list[str]) -> dict[str, Any]:
        return self._request("POST", "/numbers", json={"numbers": numbers})

    def close(self) -> dict[str, Any]:
        return self._request("POST", "/close", timeout=CLOSE_TIMEOUT)

    def changes(self, after: int, limit: int) -> dict[str, Any]:
        return self._request("GET", "/changes", params={"after": after, "limit": limit})

    def version(self) -> dict[str, Any]:
        """``GET /version`` of the server (versions and the installation's currency)."""
        return self._request("GET", f"{self.endpoint.url}/version")

    def snapshot(self) -> dict[str, Any]:
        return self._request("GET", "/snapshot")

    def rows(self, table: str, after: str | None, limit: int,
             stored: bool = False) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if stored:
            params["form"] = "stored"
        if after:
            params["after"] = after
        return self._request("GET", f"/rows/{table}", params=params)

    def reconcile(self) -> dict[str, Any]:
        return self._request("GET", "/reconcile", timeout=600.0)

    def night_report(self, report: dict[str, Any]) -> dict[str, Any]:
        """The run's end (download, reconciliation) for central's night control room."""
        return self._request("POST", "/night-report", json=report, timeout=30.0)


def _is_certificate_problem(error: Exception) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(error)


def _verification(endpoint: Endpoint) -> ssl.SSLContext | bool:
    """Central's certificate is always verified: against the configured private authority, or
    the system's (``True``)."""
    if endpoint.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(endpoint.ca_file))
    except (OSError, ssl.SSLError) as error:
        raise CentralError(f"Autorité de certification {endpoint.ca_file} illisible : "
                           f"{error}.") from error


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"items": body}


def _refusal(status: int, body: dict[str, Any]) -> CentralError:
    message = str(body.get("message") or body.get("detail") or "")
    if status in (401, 403):
        text = "Le serveur central refuse l'identifiant de cette agence."
    elif status == 404:
        text = "Le serveur central ne connaît pas ce service ou cette agence."
    else:
        text = f"Le serveur central a refusé la demande ({status})."
    if message:
        text = f"{text} {message}"
    return CentralError(text, status, str(body.get("error", "")), body)
