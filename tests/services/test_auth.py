import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEntry, User
from app.models.enums import Role
from app.models.ids import utcnow
from app.services.auth import LOCK_AFTER, locked_users, sign_in, unlock, wait_after
from kernel.context import ServiceContext
from kernel.errors import (
    BusinessError,
    PermissionDeniedError,
    SignInError,
    SignInLockedError,
    SignInThrottledError,
)


def test_demo_users_sign_in_with_their_role(ctx: ServiceContext) -> None:
    user = sign_in(ctx.db, "Superviseur", "Guichet-Sup-2026")
    assert (user.username, user.role) == ("superviseur", Role.SUPERVISOR)
    assert sign_in(ctx.db, "agent", "Guichet-Agent-2026").role is Role.AGENT
    assert sign_in(ctx.db, "admin", "Guichet-Admin-2026").role is Role.ADMINISTRATOR


def test_wrong_password_and_unknown_user_get_the_same_answer(ctx: ServiceContext) -> None:
    with pytest.raises(SignInError) as wrong:
        sign_in(ctx.db, "agent", "mauvais")
    with pytest.raises(SignInError) as unknown:
        sign_in(ctx.db, "personne", "mauvais")
    assert wrong.value.message == unknown.value.message == "Identifiant ou mot de passe incorrect."


def test_passwords_are_hashed_and_never_logged(ctx: ServiceContext, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with ctx.db.reading() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == "agent")).one()
    assert stored.startswith("$argon2id$") and "Guichet-Agent-2026" not in stored
    sign_in(ctx.db, "agent", "Guichet-Agent-2026")
    with pytest.raises(SignInError):
        sign_in(ctx.db, "agent", "secret-typo")
    assert "Guichet-Agent-2026" not in caplog.text and "secret-typo" not in caplog.text


def test_three_failures_slow_down_further_attempts(ctx: ServiceContext) -> None:
    now = utcnow()
    for _ in range(3):
        with pytest.raises(SignInError):
            sign_in(ctx.db, "agent", "faux", now=now)
    with pytest.raises(SignInThrottledError) as throttled:
        sign_in(ctx.db, "agent", "Guichet-Agent-2026", now=now + timedelta(seconds=1))
    assert 0 < throttled.value.retry_after_seconds <= 5
    assert "Réessayez dans" in throttled.value.message
    user = sign_in(ctx.db, "agent", "Guichet-Agent-2026", now=now + timedelta(seconds=6))
    assert user.username == "agent"
    with pytest.raises(SignInError) as again:
        sign_in(ctx.db, "agent", "faux", now=now + timedelta(seconds=7))
    assert not isinstance(again.value, SignInThrottledError), "a success resets the count"


def test_the_wait_grows_and_is_capped() -> None:
    assert [wait_after(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [0, 0, 5, 10, 20]
    assert wait_after(50) == timedelta(minutes=5)


def test_disabled_user_is_refused(ctx: ServiceContext) -> None:
    with ctx.unit_of_work() as uow:
        user = uow.session.scalars(select(User).where(User.username == "agent")).one()
        user.is_active = False
        uow.commit()
    with pytest.raises(SignInError, match="désactivé"):
        sign_in(ctx.db, "agent", "Guichet-Agent-2026")


def _fail(ctx: ServiceContext, username: str, times: int, start: datetime) -> datetime:
    """``times`` wrong passwords, each after the wait the previous one imposed."""
    now = start
    for _ in range(times):
        with pytest.raises(SignInError):
            sign_in(ctx.db, username, "faux", now=now)
        now += wait_after(LOCK_AFTER) + timedelta(seconds=1)
    return now


def test_ten_failures_in_a_row_lock_the_user_until_a_supervisor_unlocks(
        ctx: ServiceContext) -> None:
    now = _fail(ctx, "agent", LOCK_AFTER - 1, utcnow())
    assert locked_users(ctx.db) == []
    with pytest.raises(SignInLockedError) as locked:
        sign_in(ctx.db, "agent", "faux", now=now)
    assert "superviseur" in locked.value.message
    later = now + timedelta(days=2)
    with pytest.raises(SignInLockedError):
        sign_in(ctx.db, "agent", "Guichet-Agent-2026", now=later)  # even the right password
    [entry] = locked_users(ctx.db)
    assert (entry.username, entry.failures) == ("agent", LOCK_AFTER)

    supervisor = sign_in(ctx.db, "superviseur", "Guichet-Sup-2026")
    unlock(ctx.db, supervisor, "agent")
    assert locked_users(ctx.db) == []
    assert sign_in(ctx.db, "agent", "Guichet-Agent-2026", now=later).username == "agent"
    with pytest.raises(BusinessError):
        unlock(ctx.db, supervisor, "agent")

    with ctx.db.reading() as session:
        audits = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name == "sign_in_throttle").order_by(AuditEntry.at)).all()
    assert [(a.username, a.changes["verrouille"]) for a in audits] == [
        ("connexion", [False, True]), ("superviseur", [True, False])]
    assert "Déverrouillage par superviseur" in audits[1].reason


def test_an_agent_cannot_unlock_and_the_lock_holds_for_an_unknown_name(
        ctx: ServiceContext) -> None:
    now = _fail(ctx, "inconnu", LOCK_AFTER, utcnow())
    with pytest.raises(SignInLockedError):
        sign_in(ctx.db, "inconnu", "faux", now=now)
    agent = sign_in(ctx.db, "agent", "Guichet-Agent-2026")
    with pytest.raises(PermissionDeniedError):
        unlock(ctx.db, agent, "inconnu")
    assert [u.username for u in locked_users(ctx.db)] == ["inconnu"]
