"""Agents who sign in. Managed on central and synchronised to the desks (read-only there)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced
from app.models.enums import Role


class User(Synced, Base):
    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(default=Role.AGENT)
    #: Argon2id hash in PHC format; the password itself is never stored nor logged.
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: A head-office user (no agency) whose row, with its password hash, goes to every desk.
    #: Without it a head-office user travels to no desk: users sign in where they belong.
    roaming: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: A user made on this desk (the demo's): never synchronised, in either direction.
    desk_only: Mapped[bool] = mapped_column(default=False, server_default=false())


class SignInThrottle(Base):
    """Failed sign-in attempts per user name on this database (local, never synchronised)."""

    __tablename__ = "sign_in_throttle"

    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]
    #: Set after ``LOCK_AFTER`` failures in a row: no sign-in until a supervisor unlocks.
    locked_at: Mapped[datetime | None]
