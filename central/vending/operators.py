"""Mobile-money operators' credentials: separate from the agencies' (their own table, their
own prefix), shown once, kept as a SHA-256 (256 random bits: a slow hash would only slow every
request), revocable, with the operator's limits."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.models.database import Database
from app.models.ids import utcnow
from central.credentials import hash_secret
from central.models import VendingOperator
from kernel.errors import BusinessError, NotFoundError, ValidationError

PREFIX = "gop1"
_CODE = re.compile(r"[a-z][a-z0-9_-]{1,19}")


@dataclass(frozen=True)
class OperatorInfo:
    id: uuid.UUID
    code: str
    name: str
    min_amount_minor: int
    max_amount_minor: int
    max_payer_day_minor: int
    revoked: bool
    #: The SHA-256 of the credential it was recognised by: a purchase checks it is still the
    #: operator's, unrevoked, in its first statement (empty: a desk sale, no credential).
    secret_hash: str = ""


def _info(row: VendingOperator) -> OperatorInfo:
    return OperatorInfo(row.id, row.code, row.name, row.min_amount_minor, row.max_amount_minor,
                        row.max_payer_day_minor, row.revoked_at is not None, row.secret_hash)


def _secret(code: str) -> str:
    return f"{PREFIX}.{code}.{secrets.token_urlsafe(32)}"


def check_limits(minimum: int, maximum: int, daily: int) -> None:
    if not 0 < minimum <= maximum <= daily:
        raise ValidationError(
            {"limits": "0 < minimum ≤ maximum ≤ plafond journalier"},
            "Limites invalides : il faut 0 < minimum ≤ maximum par vente ≤ plafond par payeur "
            "et par jour.")


def add_operator(db: Database, code: str, name: str = "", *, min_amount_minor: int = 100,
                 max_amount_minor: int = 500_000,
                 max_payer_day_minor: int = 1_000_000) -> tuple[OperatorInfo, str]:
    """A new operator; returns the secret (the only time it is known)."""
    code = code.strip().lower()
    if not _CODE.fullmatch(code):
        raise ValidationError({"code": "2 à 20 caractères a-z, 0-9, - ou _"},
                              f"Code d'opérateur « {code} » invalide (ex. moov, orange-ci).")
    check_limits(min_amount_minor, max_amount_minor, max_payer_day_minor)
    secret = _secret(code)
    with db.session() as session, session.begin():
        if session.scalars(select(VendingOperator).where(VendingOperator.code == code)).first():
            raise BusinessError(f"L'opérateur {code} existe déjà (nouvel identifiant : "
                                f"operator credential {code}).")
        row = VendingOperator(code=code, name=name or code, secret_hash=hash_secret(secret),
                              min_amount_minor=min_amount_minor,
                              max_amount_minor=max_amount_minor,
                              max_payer_day_minor=max_payer_day_minor)
        session.add(row)
        session.flush()
        return _info(row), secret


def _find(session: object, code: str) -> VendingOperator:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    row = session.scalars(select(VendingOperator).where(VendingOperator.code == code)).first()
    if row is None:
        raise NotFoundError(f"Opérateur {code} inconnu.")
    return row


def new_operator_secret(db: Database, code: str) -> str:
    """A new credential for an operator; the previous one stops working at once."""
    secret = _secret(code)
    with db.session() as session, session.begin():
        row = _find(session, code)
        row.secret_hash = hash_secret(secret)
        row.revoked_at = None
    return secret


def revoke_operator(db: Database, code: str) -> None:
    with db.session() as session, session.begin():
        row = _find(session, code)
        if row.revoked_at is None:
            row.revoked_at = utcnow()


def set_limits(db: Database, code: str, *, min_amount_minor: int | None = None,
               max_amount_minor: int | None = None,
               max_payer_day_minor: int | None = None) -> OperatorInfo:
    with db.session() as session, session.begin():
        row = _find(session, code)
        minimum = row.min_amount_minor if min_amount_minor is None else min_amount_minor
        maximum = row.max_amount_minor if max_amount_minor is None else max_amount_minor
        daily = row.max_payer_day_minor if max_payer_day_minor is None else max_payer_day_minor
        check_limits(minimum, maximum, daily)
        row.min_amount_minor, row.max_amount_minor, row.max_payer_day_minor = (
            minimum, maximum, daily)
        return _info(row)


def list_operators(db: Database) -> list[OperatorInfo]:
    with db.reading() as session:
        return [_info(r) for r in session.scalars(
            select(VendingOperator).order_by(VendingOperator.code))]


def authenticate_operator(db: Database, secret: str) -> OperatorInfo | None:
    """The operator of a presented secret, or None (unknown, malformed, revoked — and an
    agency's or administrator's credential, which is never an operator's)."""
    if not secret.startswith(PREFIX + ".") or len(secret) > 200:
        return None
    return operator_by_digest(db, hash_secret(secret))


def operator_by_digest(db: Database, digest: str) -> OperatorInfo | None:
    """The unrevoked operator whose credential has this SHA-256, or None."""
    with db.reading() as session:
        row = session.scalars(select(VendingOperator).where(
            VendingOperator.secret_hash == digest)).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        return _info(row)
