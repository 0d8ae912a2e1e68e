"""Agents, managed on central and carried to the desks by synchronisation."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Agency, User
from app.models.database import Database
from app.models.enums import Role
from central.actors import ADMINISTRATION
from central.agencies import find_agency
from kernel.context import UnitOfWork
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.vocabulary import ROLE_LABELS

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class UserInfo:
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    agency_code: str | None
    is_active: bool
    roaming: bool = False

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


def _hash(password: str) -> str:
    # Imported here: kernel.passwords computes an Argon2 hash when imported (~0.4 s),
    # which every server start would otherwise pay.
    from kernel.passwords import hash_password

    return hash_password(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {"password": f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères."},
            f"Le mot de passe doit faire au moins {MIN_PASSWORD_LENGTH} caractères.",
        )


def _find(session: Session, username: str) -> User:
    user = session.scalars(
        select(User).where(User.username == username.strip().lower())
    ).one_or_none()
    if user is None:
        raise NotFoundError(f"L'utilisateur {username} n'existe pas.")
    return user


def _codes(session: Session) -> dict[uuid.UUID, str]:
    return {row[0]: row[1] for row in session.execute(select(Agency.id, Agency.code))}


def _info(user: User, codes: dict[uuid.UUID, str]) -> UserInfo:
    code = codes.get(user.agency_id) if user.agency_id else None
    return UserInfo(user.id, user.username, user.full_name, user.role, code, user.is_active,
                    bool(user.roaming))


def add_user(
    db: Database,
    username: str,
    full_name: str,
    role: Role,
    password: str,
    agency_code: str | None,
    roaming: bool = False,
) -> UserInfo:
    """A new agent of an agency (or of the head office when ``agency_code`` is empty). A user
    reaches the desks of its agency only; a head-office user reaches none unless ``roaming``
    (then every desk: an explicit choice)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError(
            {"username": "3 à 40 caractères : lettres minuscules, chiffres, point, tiret."},
            "Identifiant invalide : 3 à 40 caractères (lettres minuscules, chiffres, . _ -).",
        )
    if not full_name.strip():
        raise ValidationError({"full_name": "Le nom complet est obligatoire."},
                              "Le nom complet est obligatoire.")
    _check_password(password)
    if roaming and agency_code:
        raise ValidationError({"roaming": "siège seulement"},
                              "Seul un agent du siège (sans agence) peut être itinérant.")
    with UnitOfWork(db, ADMINISTRATION) as uow:
        session = uow.session
        if session.scalars(select(User.id).where(User.username == username)).first():
            raise BusinessError(f"L'utilisateur {username} existe déjà.")
        agency_id = find_agency(session, agency_code).id if agency_code else None
        user = User(
            username=username,
            full_name=full_name.strip(),
            role=role,
            password_hash=_hash(password),
            agency_id=agency_id,
            roaming=roaming,
        )
        session.add(user)
        session.flush()
        info = _info(user, _codes(session))
        uow.commit()
    return info


def list_users(db: Database, agency_code: str | None = None) -> list[UserInfo]:
    with db.reading() as session:
        query = select(User).order_by(User.username)
        if agency_code:
            query = query.where(User.agency_id == find_agency(session, agency_code).id)
        codes = _codes(session)
        return [_info(user, codes) for user in session.scalars(query)]


def set_active(db: Database, username: str, active: bool) -> UserInfo:
    with UnitOfWork(db, ADMINISTRATION) as uow:
        user = _find(uow.session, username)
        user.is_active = active
        uow.session.flush()
        info = _info(user, _codes(uow.session))
        uow.commit()
    return info


def set_password(db: Database, username: str, password: str) -> None:
    _check_password(password)
    with UnitOfWork(db, ADMINISTRATION) as uow:
        _find(uow.session, username).password_hash = _hash(password)
        uow.commit()


def set_roaming(db: Database, username: str, roaming: bool) -> UserInfo:
    """Whether a head-office user's row (and password hash) goes to every desk. Turned off,
    the desks drop it at their next reconciliation (central no longer counts it in their
    scope)."""
    with UnitOfWork(db, ADMINISTRATION) as uow:
        user = _find(uow.session, username)
        if roaming and user.agency_id is not None:
            raise ValidationError({"roaming": "siège seulement"},
                                  "Seul un agent du siège (sans agence) peut être itinérant.")
        user.roaming = roaming
        uow.session.flush()
        info = _info(user, _codes(uow.session))
        uow.commit()
    return info
