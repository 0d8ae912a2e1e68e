"""Agencies and their credentials, as the administrator manages them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agency
from app.models.database import Database
from central.actors import ADMINISTRATION
from central.credentials import issue_agency_credential, revoke_agency_credentials
from kernel.context import UnitOfWork
from kernel.errors import BusinessError, NotFoundError, ValidationError

_CODE = re.compile(r"^\d{3}$")
#: Code "000" numbers central's own series (consumption invoices): no agency may take it.
RESERVED_CODE = "000"


@dataclass(frozen=True)
class AgencyInfo:
    id: uuid.UUID
    code: str
    name: str
    is_active: bool


def _info(agency: Agency) -> AgencyInfo:
    return AgencyInfo(agency.id, agency.code, agency.name, agency.is_active)


def find_agency(session: Session, code: str) -> Agency:
    agency = session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
    if agency is None:
        raise NotFoundError(f"L'agence {code} n'existe pas.")
    return agency


def _check(code: str, name: str) -> None:
    problems: dict[str, str] = {}
    if not _CODE.match(code):
        problems["code"] = "Le code agence doit faire 3 chiffres (ex. 101)."
    elif code == RESERVED_CODE:
        problems["code"] = "Le code 000 est réservé au site central."
    if not name.strip():
        problems["name"] = "Le nom de l'agence est obligatoire."
    elif len(name.strip()) > 120:
        problems["name"] = "Le nom de l'agence ne peut dépasser 120 caractères."
    if problems:
        raise ValidationError(problems, " ".join(problems.values()))


def add_agency(
    db: Database, code: str, name: str, agency_id: uuid.UUID | None = None
) -> tuple[AgencyInfo, str]:
    """Creates the agency and its first credential; returns the credential (shown once)."""
    _check(code, name)
    with UnitOfWork(db, ADMINISTRATION) as uow:
        session = uow.session
        if session.scalars(select(Agency.id).where(Agency.code == code)).first() is not None:
            raise BusinessError(f"L'agence {code} existe déjà.")
        if agency_id is not None and session.get(Agency, agency_id) is not None:
            raise BusinessError(f"Une agence porte déjà l'identifiant {agency_id}.")
        agency = Agency(code=code, name=name.strip())
        if agency_id is not None:
            agency.id = agency_id
        session.add(agency)
        session.flush()
        secret = issue_agency_credential(session, agency.id, code)
        info = _info(agency)
        uow.commit()
    return info, secret


def ensure_agency(
    db: Database, code: str, name: str, agency_id: uuid.UUID | None = None
) -> AgencyInfo:
    """The agency, created (without a credential) when it does not exist yet."""
    with db.reading() as session:
        existing = session.scalars(select(Agency).where(Agency.code == code)).one_or_none()
        if existing is not None:
            return _info(existing)
    _check(code, name)
    with UnitOfWork(db, ADMINISTRATION) as uow:
        agency = Agency(code=code, name=name.strip())
        if agency_id is not None:
            agency.id = agency_id
        uow.session.add(agency)
        uow.session.flush()
        info = _info(agency)
        uow.commit()
    return info


def new_agency_credential(db: Database, code: str, *, revoke_others: bool = False) -> str:
    """Another credential for the agency (a second desk, or a replacement after a leak)."""
    with UnitOfWork(db, ADMINISTRATION) as uow:
        agency = find_agency(uow.session, code)
        if revoke_others:
            revoke_agency_credentials(uow.session, agency.id)
        secret = issue_agency_credential(uow.session, agency.id, code)
        uow.commit()
    return secret


def list_agencies(db: Database) -> list[AgencyInfo]:
    with db.reading() as session:
        return [_info(a) for a in session.scalars(select(Agency).order_by(Agency.code))]
