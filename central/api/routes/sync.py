"""The synchronisation protocol, ``/agencies/{code}/sync/…`` (docs/sync.md): for the agency's
credential or the administrator; every answer speaks of that agency's rows only."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from app.models.ids import utcnow
from central.api.deps import Db, Scope
from central.api.errors import ApiError, error_response
from central.sync import changes, reconcile, snapshot
from central.sync.batches import BatchRefused, read_batch, receive_batch
from central.sync.closing import close
from central.sync.numbering import head
from central.sync.state import Agency, adopted, generation, last_batch, locked_state
from kernel.numbering import cover_central

log = logging.getLogger("central.sync")
router = APIRouter(prefix="/agencies/{code}/sync", tags=["synchronisation"])
#: Commit and batch numbers are 64-bit integers in the database: a larger one is a bad request.
MAX_NUMBER = 2**63 - 1
Cursor = Annotated[int, Query(ge=0, le=MAX_NUMBER,
                              description="Dernier numéro de commit appliqué")]


def _agency(scope: Any) -> Agency:
    return Agency(scope.id, scope.code)


@router.get("/state", summary="Où en est la synchronisation de l'agence")
def state(scope: Scope, db: Db, cursor: Annotated[int | None, Query(ge=0, le=MAX_NUMBER)] = None,
          anchor: str | None = None) -> dict[str, Any]:
    with db.reading() as session:
        connection = session.connection()
        return {
            "generation": str(generation(session)),
            "last_batch": last_batch(session, scope.id),
            "head": head(connection),
            "anchor_ok": changes.anchor_ok(connection, cursor, anchor),
            "adopted": adopted(session, scope.id),
            "server_time": utcnow().isoformat(),
        }


@router.post("/batches/{number}", summary="Recevoir un lot de changements (gzip)")
async def batch(
    request: Request,
    scope: Scope,
    db: Db,
    number: Annotated[int, Path(ge=1, le=2**31 - 1)],
    sha256: Annotated[str | None, Header(alias="X-Batch-Sha256")] = None,
    rows: Annotated[str | None, Header(alias="X-Batch-Rows")] = None,
    dry_run: bool = False,
) -> Any:
    agency = _agency(scope)
    # The body arrives through BodyLimit (compressed size checked while it streams); inflating
    # it (bounded, a megabyte at a time), hashing and parsing it run in the thread pool so the
    # event loop (``/health``, the other agencies) never waits for them.
    body = await request.body()
    limit = request.app.state.settings.max_batch_uncompressed_bytes
    try:
        parsed = await run_in_threadpool(read_batch, agency, number, body, sha256, rows, limit)
        del body
        return await run_in_threadpool(receive_batch, db, agency, parsed, dry_run=dry_run)
    except BatchRefused as refused:
        return refused_response(refused)


@router.post("/adopted", summary="Clore l'adoption des données du poste")
def close_adoption(scope: Scope, db: Db) -> dict[str, Any]:
    with db.session() as session, session.begin():
        locked_state(session, scope.id).adopted = True
    return {"adopted": True}


class HeldNumbers(BaseModel):
    """The highest numbers a desk holds, by series (after a restore of central's database)."""

    numbers: list[Annotated[str, StringConstraints(max_length=24)]] = Field(max_length=1000)


@router.post("/numbers", summary="Numéros déjà attribués que le poste détient")
def held_numbers(body: HeldNumbers, scope: Scope, db: Db) -> dict[str, Any]:
    """Central's series move past the numbers a desk holds (a central restored from a backup
    forgot invoices it had numbered and sent down): no number is given twice."""
    with db.session() as session, session.begin():
        moved = cover_central(session.connection(), body.numbers)
    if moved:
        log.warning("series moved past the numbers agency %s holds: %s", scope.code, moved)
    return {"moved": {f"{series}:{year}": counter for (series, year), counter in moved.items()}}


@router.post("/close", summary="Fin de l'envoi : facturer ce qui est dû pour l'agence")
def close_upload(request: Request, scope: Scope, db: Db) -> dict[str, Any]:
    settings = request.app.state.settings
    today = utcnow().astimezone(settings.zone).date()
    return close(db, request.app.state.currency, _agency(scope), today,
                 chunk_size=settings.billing_chunk_size,
                 payment_terms_days=settings.payment_terms_days)


@router.get("/changes", summary="Changements du central après un numéro de commit")
def changes_after(scope: Scope, db: Db, after: Cursor = 0,
                  limit: Annotated[int, Query(ge=1, le=20_000)] = 2000,
                  anchor: str | None = None) -> Response:
    with db.reading() as session:
        return Response(changes.changes_body(session.connection(), scope.id, after, limit,
                                             anchor), media_type="application/json")


@router.get("/snapshot", summary="Point de départ d'une initialisation du poste")
def snapshot_head(scope: Scope, db: Db) -> dict[str, Any]:
    with db.reading() as session:
        return snapshot.snapshot(session.connection())


@router.get("/rows/{table}", summary="Lignes de l'agence d'une table, par pages")
def rows(scope: Scope, db: Db, table: str, after: uuid.UUID | None = None,
         limit: Annotated[int, Query(ge=1, le=50000)] = 1000,
         form: Annotated[str, Query(pattern="^(wire|stored)$")] = "wire") -> Any:
    """``form=stored``: columns and rows as arrays in storage form (bootstrap; see
    ``wire.stored_loader``), up to 50,000 rows a page; otherwise rows as objects in wire form."""
    with db.reading() as session:
        try:
            if form == "stored":
                return Response(snapshot.stored_page(
                    session.connection(), table, scope.id,
                    None if after is None else after.hex, limit), media_type="application/json")
            if limit > 5000:
                raise ApiError(422, "limit_too_large", "Au plus 5 000 lignes par page.")
            return snapshot.rows_page(session.connection(), table, scope.id, after, limit)
        except KeyError as error:
            raise ApiError(404, "not_found", f"Table inconnue ou non synchronisée : {table}.") \
                from error


@router.get("/reconcile", summary="Comptes et sommes de contrôle par table")
def reconciliation(scope: Scope, db: Db) -> dict[str, Any]:
    with db.reading() as session:
        return reconcile.reconcile(session.connection(), scope.id)


def refused_response(refused: BatchRefused) -> JSONResponse:
    return error_response(refused.status, refused.code, refused.message, **refused.extra)
