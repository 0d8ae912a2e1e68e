import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import User
from app.models.enums import Role
from app.models.ids import utcnow
from app.services.auth import sign_in, wait_after
from app.services.context import ServiceContext
from app.services.errors import SignInError, SignInThrottledError


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
