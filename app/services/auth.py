"""Sign-in, with a growing wait after three failed attempts on the same user name."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from app.models import SignInThrottle, User
from app.models.database import Database
from app.models.ids import utcnow
from app.services.context import SignedInUser
from app.services.errors import SignInError, SignInThrottledError
from app.services.passwords import verify_password

log = logging.getLogger(__name__)

FREE_ATTEMPTS = 3
FIRST_WAIT = timedelta(seconds=5)
MAX_WAIT = timedelta(minutes=5)


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
    if user is not None and valid and not user.is_active:
        raise SignInError("Ce compte est désactivé. Adressez-vous à votre administrateur.")
    raise SignInError("Identifiant ou mot de passe incorrect.")
