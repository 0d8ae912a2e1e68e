"""What every use case needs: the database, this desk's installation facts, who is signed in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.models.capture import SYSTEM, Actor, mark_from_server, set_actor
from app.models.database import Database
from app.models.enums import Role
from app.models.ids import utcnow
from kernel.errors import STALE_MESSAGE, ConcurrentEditError, environment_problem
from kernel.money import Currency
from kernel.vocabulary import ROLE_LABELS


@dataclass(frozen=True)
class Installation:
    agency_id: uuid.UUID
    agency_code: str
    agency_name: str
    currency: Currency
    zone: ZoneInfo
    #: Above this amount (major units) a payment is confirmed by the agent.
    payment_confirm_above: Decimal = Decimal(500_000)

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)


@dataclass(frozen=True)
class SignedInUser:
    user_id: uuid.UUID
    username: str
    full_name: str
    role: Role

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]


class UnitOfWork:
    """One business transaction: commit explicitly, anything else rolls back.

    Usage: ``with ctx.unit_of_work() as uow: ...; uow.commit()``.
    """

    def __init__(self, db: Database, actor: Actor, *, from_server: bool = False) -> None:
        self._db = db
        self._actor = actor
        self._from_server = from_server
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._db.session()
        set_actor(self.session, self._actor)
        if self._from_server:
            mark_from_server(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()
        if isinstance(exc, DBAPIError):  # a flush inside the block: read by its cause too
            problem = environment_problem(exc)
            if problem is not None:
                raise problem from exc

    def commit(self) -> None:
        """Commits; a row changed by someone else since it was read is a ConcurrentEditError,
        a lock, a full disk or a lost connection an EnvironmentProblem, anything else a bug."""
        try:
            self.session.commit()
        except StaleDataError as error:
            self.session.rollback()
            raise ConcurrentEditError(STALE_MESSAGE) from error
        except DBAPIError as error:
            problem = environment_problem(error)
            if problem is None:
                raise
            raise problem from error


class ServiceContext:
    def __init__(
        self, db: Database, installation: Installation, user: SignedInUser | None = None
    ) -> None:
        self.db = db
        self.installation = installation
        self.user = user

    @property
    def actor(self) -> Actor:
        if self.user is None:
            return SYSTEM
        return Actor(
            username=self.user.username,
            user_id=self.user.user_id,
            agency_id=self.installation.agency_id,
        )

    def signed_in(self, user: SignedInUser) -> ServiceContext:
        return ServiceContext(self.db, self.installation, user)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.actor)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self.db.reading() as session:
            yield session
