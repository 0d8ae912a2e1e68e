"""Request dependencies: the database, the caller (bearer credential) and the agency scope.

An agency credential reaches only ``/agencies/{its code}/…``: any other code is refused (403)
before anything is read, and rows are always looked up within the agency, so an id of another
agency's row answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agency
from app.models.database import Database
from central.api.errors import ApiError
from central.credentials import Principal, authenticate

bearer = HTTPBearer(
    auto_error=False,
    description="Identifiant de connexion d'une agence ou de l'administration "
    "(python -m central agency add / admin create).",
)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def reading(db: Annotated[Database, Depends(database)]) -> Iterator[Session]:
    with db.reading() as session:
        yield session


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def principal(
    request: Request,
    db: Annotated[Database, Depends(database)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None:
        raise _unauthorized("Identifiant de connexion manquant (en-tête Authorization: Bearer).")
    with db.reading() as session:
        found = authenticate(session, credentials.credentials)
    if found is None:
        raise _unauthorized("Identifiant de connexion inconnu ou révoqué.")
    request.state.principal = found
    return found


def administrator(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if not caller.is_admin:
        raise ApiError(403, "forbidden", "Opération réservée à l'administration centrale.")
    return caller


@dataclass(frozen=True)
class AgencyScope:
    id: uuid.UUID
    code: str
    caller: Principal


def agency_scope(
    code: Annotated[str, Path(pattern=r"^\d{3}$", description="Code de l'agence (3 chiffres)")],
    caller: Annotated[Principal, Depends(principal)],
    db: Annotated[Database, Depends(database)],
) -> AgencyScope:
    if not caller.is_admin and caller.agency_code != code:
        raise ApiError(
            403, "forbidden",
            f"Cet identifiant ne donne accès qu'aux données de l'agence {caller.agency_code}.",
        )
    # A session of its own, closed at once: a dependency's session would hold its connection
    # for the whole request (a close bills for minutes), and forty closes held the whole pool
    # while their billing waited for connections.
    with db.reading() as session:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == code)).one_or_none()
    if agency_id is None:
        raise ApiError(404, "not_found", f"L'agence {code} n'existe pas.")
    return AgencyScope(agency_id, code, caller)


Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(administrator)]
Scope = Annotated[AgencyScope, Depends(agency_scope)]
Reading = Annotated[Session, Depends(reading)]
Db = Annotated[Database, Depends(database)]
