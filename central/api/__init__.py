"""The central API: ``create_app(settings)`` builds the FastAPI application.

Routers are plain ``APIRouter`` objects: ``create_app(settings, routers=[...])`` mounts more of
them behind the same authentication, error format, logging and size limit (the synchronisation
protocol is one of the default routers, with a larger size limit for its batches).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware

from app.models.database import Database
from central.api.errors import install_error_handlers
from central.api.middleware import BodyLimit, RequestContext
from central.api.routes import admin, agency, night, reference, sync, system
from central.database import installation_currency, open_database
from central.logs import stamp_request_ids
from central.settings import CentralSettings

DESCRIPTION = """Serveur central de Guichet (ODYSSEE Central) : référentiel, données des agences,
facturation. Chaque requête porte un identifiant de connexion (`Authorization: Bearer …`) :
celui d'une agence ne donne accès qu'aux données de cette agence."""


BATCH_PATH = r"^/agencies/\d{3}/sync/batches/"


def default_routers() -> list[APIRouter]:
    return [system.router, reference.router, agency.router, sync.router, admin.router,
            night.router]


def create_app(
    settings: CentralSettings,
    *,
    db: Database | None = None,
    routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The application on ``db`` (opened from the settings, already migrated, when not given)."""
    stamp_request_ids()
    database = db or open_database(settings, upgrade=False)
    owned = db is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            database.dispose()

    app = FastAPI(
        title="Guichet — serveur central",
        description=DESCRIPTION,
        version=system.package_version(),
        lifespan=lifespan,
        middleware=[
            Middleware(RequestContext),
            Middleware(BodyLimit, max_bytes=settings.max_request_bytes,
                       larger=((BATCH_PATH, settings.max_batch_bytes),)),
        ],
    )
    app.state.settings = settings
    app.state.db = database
    app.state.currency = installation_currency(database, settings)
    install_error_handlers(app)
    for router in (*default_routers(), *routers):
        app.include_router(router)
    return app


def app_from_environment() -> FastAPI:
    """The application of one worker of ``serve --workers N`` (uvicorn's factory): the
    settings the supervisor resolved, passed in ``GUICHET_CENTRAL_SERVE_SETTINGS``."""
    import json
    import os

    from central.commands import SERVE_SETTINGS
    from central.logs import configure_logging

    settings = CentralSettings(**json.loads(os.environ[SERVE_SETTINGS]))
    configure_logging(settings.log_level, log_file=settings.log_file, to_stderr=True)
    return create_app(settings)
