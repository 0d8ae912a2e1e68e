"""Health and version: public (no credential), for monitors and for desks checking that they
speak to a compatible server."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from app.models import SCHEMA_VERSION
from central import migrate
from central.api.deps import Db
from central.api.errors import ApiError
from kernel import migrate as shared_migrate

API_VERSION = 1
router = APIRouter(tags=["système"])


def package_version() -> str:
    try:
        return version("guichet")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


@router.get("/health", summary="Le serveur répond et sa base aussi")
def health(db: Db) -> dict[str, str]:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        raise ApiError(503, "unavailable", "La base de données centrale ne répond pas.") from error
    return {"status": "ok"}


@router.get("/version", summary="Versions du serveur, de l'API et du schéma")
def server_version(request: Request, db: Db) -> dict[str, Any]:
    return {
        "name": "guichet-central",
        "version": package_version(),
        "api": API_VERSION,
        "schema_version": SCHEMA_VERSION,
        "schema": {
            "shared": shared_migrate.current_revision(db.engine),
            "central": migrate.current_revision(db.engine),
        },
        "currency": request.app.state.currency.code,
    }
