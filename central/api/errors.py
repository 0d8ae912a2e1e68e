"""Every error the API returns is JSON: ``{"error": code, "message": French text,
"request_id": …}``. Nothing of a traceback ever reaches the client: unexpected errors are logged
with theirs and answered 500 with the request id to quote."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from central.logs import request_id
from kernel.errors import (
    BusinessError,
    ConcurrentEditError,
    EnvironmentProblem,
    GuichetError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

log = logging.getLogger("central.api")

_HTTP_MESSAGES = {
    400: ("bad_request", "Requête incorrecte."),
    401: ("unauthorized", "Identifiant de connexion manquant ou invalide."),
    403: ("forbidden", "Accès refusé."),
    404: ("not_found", "Ressource introuvable."),
    405: ("method_not_allowed", "Méthode non autorisée pour cette adresse."),
    409: ("conflict", "Conflit avec l'état actuel des données."),
    413: ("payload_too_large", "Requête trop volumineuse."),
    422: ("invalid_request", "Requête invalide."),
    503: ("unavailable", "Service momentanément indisponible."),
}


class ApiError(HTTPException):
    """An HTTP error with our code and French message."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code, message, headers)
        self.code = code


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, "request_id": request_id.get(), **extra}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status)


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_MESSAGES.get(exc.status_code, ("http_error", "Erreur."))
    if isinstance(exc, ApiError):
        code, message = exc.code, str(exc.detail)
    response = error_response(exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in error.get("loc", ())), "problem": error.get("msg", "")}
        for error in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details[:5])
    return error_response(422, "invalid_request", f"Requête invalide ({fields}).", details=details)


def _business_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GuichetError)
    return business_error_response(exc)


def business_error_response(exc: GuichetError) -> JSONResponse:
    """The answer to a refusal of the business layers (what ``install_error_handlers`` gives
    the framework)."""
    if isinstance(exc, NotFoundError):
        return error_response(404, "not_found", exc.message)
    if isinstance(exc, PermissionDeniedError):
        return error_response(403, "forbidden", exc.message)
    if isinstance(exc, ValidationError):
        return error_response(422, "invalid", exc.message, fields=exc.fields)
    if isinstance(exc, ConcurrentEditError):
        return error_response(409, "concurrent_edit", exc.message)
    if isinstance(exc, BusinessError):
        return error_response(409, "refused", exc.message)
    if isinstance(exc, EnvironmentProblem):
        return error_response(503, "unavailable", exc.message)
    log.error("installation problem: %s", exc.message)
    return error_response(500, "installation", exc.message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(GuichetError, _business_error)
