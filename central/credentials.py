"""Bearer credentials of agencies and administrators.

A credential is 256 random bits: guessing is hopeless, so a plain SHA-256 of it is a safe thing
to store (a slow password hash would only slow every request down). It is shown once, when it is
made; the database keeps only the hash, looked up by its unique index.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models.ids import utcnow
from central.models import Credential, CredentialKind

PREFIX = "gc1"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agency (its id and code) or an administrator."""

    credential_id: uuid.UUID
    kind: CredentialKind
    agency_id: uuid.UUID | None
    agency_code: str | None

    @property
    def is_admin(self) -> bool:
        return self.kind is CredentialKind.ADMIN

    def may_act_for(self, agency_id: uuid.UUID) -> bool:
        return self.is_admin or self.agency_id == agency_id


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret(scope: str) -> str:
    return f"{PREFIX}.{scope}.{secrets.token_urlsafe(32)}"


def issue_agency_credential(
    session: Session, agency_id: uuid.UUID, agency_code: str, label: str = ""
) -> str:
    """A new credential for the agency; returns the secret (the only time it is known)."""
    secret = _new_secret(agency_code)
    session.add(
        Credential(
            kind=CredentialKind.AGENCY,
            agency_id=agency_id,
            agency_code=agency_code,
            label=label or f"agence {agency_code}",
            secret_hash=hash_secret(secret),
        )
    )
    return secret


def issue_admin_credential(session: Session, label: str = "") -> str:
    secret = _new_secret("admin")
    session.add(
        Credential(
            kind=CredentialKind.ADMIN, label=label or "administration", secret_hash=hash_secret(secret)
        )
    )
    return secret


def revoke_agency_credentials(session: Session, agency_id: uuid.UUID) -> int:
    result = session.execute(
        update(Credential)
        .where(Credential.agency_id == agency_id, Credential.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal of a presented secret, or None (unknown, malformed or revoked)."""
    if not secret.startswith(PREFIX + ".") or len(secret) > 200:
        return None
    row = session.scalars(
        select(Credential).where(Credential.secret_hash == hash_secret(secret))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return Principal(row.id, row.kind, row.agency_id, row.agency_code)
