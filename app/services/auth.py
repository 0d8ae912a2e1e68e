"""Sign-in, with a growing wait after three failed attempts on the same user name, and a lock
after ten in a row that only a supervisor (or an administrator) lifts. Locks and unlocks are
audited (``audit_entry``, table ``sign_in_throttle``)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, SignInThrottle, User
from app.models.database import Database
from app.models.enums import JournalOperation, Role
from app.models.ids import new_id, utcnow
from kernel.context import SignedInUser
from kernel.errors import (
    BusinessError,
    PermissionDeniedError,
    SignInError,
    SignInLockedError,
    SignInThrottledError,
)
from kernel.passwords import verify_password

log = logging.getLogger(__name__)

FREE_ATTEMPTS = 3
FIRST_WAIT = timedelta(seconds=5)
MAX_WAIT = timedelta(minutes=5)
#: Failures in a row after which the user name is locked until a supervisor unlocks it.
LOCK_AFTER = 10
LOCKED_MESSAGE = ("Compte verrouillé après {n} tentatives infructueuses. Demandez à un "
                  "superviseur de le déverrouiller.")
UNLOCKERS = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def wait_after(failures: int) -> timedelta:
    """No wait for the first three failures, then 5 s, 10 s, 20 s… up to 5 minutes."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - FREE_ATTEMPTS, 10), MAX_WAIT)


def sign_in(
    db: Database, username: str, password: str, now: datetime | None = None
) -> SignedInUser:
    now = now or utcnow()
    username = username.strip().lower()
    if not username or not password:
        raise SignInError("Saisissez votre identifiant et votre mot de passe.")
    with db.session() as session, session.begin():
        throttle = session.get(SignInThrottle, username)
        if throttle and throttle.locked_at is not None:
            raise SignInLockedError(LOCKED_MESSAGE.format(n=LOCK_AFTER))
        if throttle and throttle.blocked_until and throttle.blocked_until > now:
            seconds = int((throttle.blocked_until - now).total_seconds()) + 1
            raise SignInThrottledError(
                f"Trop de tentatives infructueuses. Réessayez dans {seconds} secondes.", seconds
            )
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        valid = verify_password(user.password_hash if user else None, password)
        if user is not None and valid and user.is_active:
            if throttle:
                session.delete(throttle)
            log.info("sign-in of %s", username)
            return SignedInUser(user.id, user.username, user.full_name, user.role)
        if throttle is None:
            throttle = SignInThrottle(username=username, failures=0)
            session.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        wait = wait_after(throttle.failures)
        throttle.blocked_until = now + wait if wait else None
        log.warning("failed sign-in for %s (%d in a row)", username, throttle.failures)
        if throttle.failures >= LOCK_AFTER:
            throttle.locked_at = now
            _audit(session, username, user, None, {"verrouille": [False, True],
                                                   "echecs": [None, throttle.failures]},
                   f"Verrouillage après {throttle.failures} échecs de connexion")
            log.warning("user name %s locked after %d failures", username, throttle.failures)
            locked = True
        else:
            locked = False
    if locked:
        raise SignInLockedError(LOCKED_MESSAGE.format(n=LOCK_AFTER))
    if user is not None and valid and not user.is_active:
        raise SignInError("Ce compte est désactivé. Adressez-vous à votre administrateur.")
    raise SignInError("Identifiant ou mot de passe incorrect.")


def _row_id(username: str, user: User | None) -> uuid.UUID:
    # A user name that is not a user still gets a stable id in the audit.
    return user.id if user is not None else uuid.uuid5(uuid.NAMESPACE_URL,
                                                       f"guichet:user:{username}")


def _audit(session: Session, username: str, user: User | None, by: SignedInUser | None,
           changes: dict[str, list[object]], reason: str) -> None:
    session.add(AuditEntry(
        agency_id=user.agency_id if user is not None else None,
        user_id=by.user_id if by is not None else None,
        username=by.username if by is not None else "connexion",
        transaction_id=new_id(), table_name="sign_in_throttle",
        row_id=_row_id(username, user), operation=JournalOperation.UPDATE,
        changes=changes, reason=reason[:200]))


@dataclass(frozen=True)
class LockedUser:
    username: str
    full_name: str
    failures: int
    locked_at: datetime


def locked_users(db: Database) -> list[LockedUser]:
    """The user names locked on this database, oldest lock first."""
    with db.reading() as session:
        rows = session.execute(
            select(SignInThrottle, User.full_name)
            .outerjoin(User, User.username == SignInThrottle.username)
            .where(SignInThrottle.locked_at.is_not(None))
            .order_by(SignInThrottle.locked_at)
        ).all()
    return [LockedUser(t.username, name or "(identifiant inconnu)", t.failures, t.locked_at)
            for t, name in rows if t.locked_at is not None]


def unlock(db: Database, by: SignedInUser, username: str) -> None:
    """Lifts a lock (supervisor or administrator only), audited with who did it."""
    if by.role not in UNLOCKERS:
        raise PermissionDeniedError("Seul un superviseur ou un administrateur peut "
                                    "déverrouiller un compte.")
    username = username.strip().lower()
    with db.session() as session, session.begin():
        throttle = session.get(SignInThrottle, username)
        if throttle is None or throttle.locked_at is None:
            raise BusinessError(f"Le compte {username} n'est pas verrouillé.")
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        _audit(session, username, user, by, {"verrouille": [True, False],
                                             "echecs": [throttle.failures, 0]},
               f"Déverrouillage par {by.username}")
        session.delete(throttle)
    log.warning("user name %s unlocked by %s", username, by.username)
