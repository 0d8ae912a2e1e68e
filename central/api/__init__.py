"""The central API: ``create_app(settings)`` builds the FastAPI application.

Routers are plain ``APIRouter`` objects: ``create_app(settings, routers=[...])`` mounts more of
them behind the same authentication, error format, logging and size limit (the synchronisation
protocol is one of the default routers, with a larger size limit for its batches).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware import Middleware

from app.models.database import Database
from central.api.errors import error_response, install_error_handlers
from central.api.middleware import BodyLimit, RequestContext
from central.api.operator_credentials import OperatorCredentials
from central.api.operator_lane import OperatorLane
from central.api.routes import (
    admin,
    agency,
    desk_vending,
    night,
    operator,
    reference,
    sync,
    system,
)
from central.database import installation_currency, open_database
from central.logs import stamp_request_ids
from central.settings import CentralSettings
from central.vending.errors import VendingError
from central.vending.service import build as build_vending

DESCRIPTION = """Serveur central de Guichet (ODYSSEE Central) : référentiel, données des agences,
facturation. Chaque requête porte un identifiant de connexion (`Authorization: Bearer …`) :
celui d'une agence ne donne accès qu'aux données de cette agence."""


BATCH_PATH = r"^/agencies/\d{3}/sync/batches/"


def _vending_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VendingError)
    return error_response(exc.status, exc.code, exc.message)


def default_routers() -> list[APIRouter]:
    # The operators' first: a request is matched against the routes in this order, and a
    # purchase is the request made most often (the other paths never start /operator/).
    return [operator.router, system.router, reference.router, agency.router, sync.router,
            admin.router, night.router, desk_vending.router]


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
    currency = installation_currency(database, settings)
    vending, dispatcher = build_vending(database, settings, currency)
    credentials = OperatorCredentials(database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            dispatcher.stop()
        if owned:
            database.dispose()

    app = FastAPI(
        title="Guichet — serveur central",
        description=DESCRIPTION,
        version=system.package_version(),
        lifespan=lifespan,
        # No OpenTelemetry here: FastAPI's own would check for a provider on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        middleware=[
            Middleware(RequestContext),
            Middleware(BodyLimit, max_bytes=settings.max_request_bytes,
                       larger=((BATCH_PATH, settings.max_batch_bytes),)),
            Middleware(OperatorLane, platform=vending, credentials=credentials),
        ],
    )
    app.state.settings = settings
    app.state.db = database
    app.state.currency = currency
    app.state.platform = vending
    app.state.dispatcher = dispatcher
    app.state.operator_credentials = credentials
    install_error_handlers(app)
    app.add_exception_handler(VendingError, _vending_error)
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
    from central.collector import tune_for_server

    configure_logging(settings.log_level, log_file=settings.log_file, to_stderr=True)
    app = create_app(settings)
    tune_for_server()
    return app
