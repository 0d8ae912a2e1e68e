"""A database error is an EnvironmentProblem only by its cause (a lock held elsewhere, a full or
failing disk, a server gone); anything else ("no such column", a constraint the code should
have checked) is a bug that must reach the crash dialog, not a "try again later"."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from app.models.database import Database
from app.services.customer_edit import create_customer
from kernel.context import ServiceContext
from kernel.errors import EnvironmentProblem, environment_problem
from tests import pg_server
from tests.services.helpers import new_customer_input


def _sqlite(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def _pg(state: str, message: str) -> psycopg.Error:
    return psycopg.errors.lookup(state)(message)


@pytest.mark.parametrize(("driver", "environmental"), [
    (_sqlite("database is locked", 5), True),                     # SQLITE_BUSY
    (_sqlite("database table is locked", 6), True),               # SQLITE_LOCKED
    (_sqlite("disk I/O error", 10 | (3 << 8)), True),             # SQLITE_IOERR_WRITE
    (_sqlite("database or disk is full", 13), True),              # SQLITE_FULL
    (_sqlite("no such column: nope", 1), False),                  # SQLITE_ERROR
    (_sqlite("near \"selec\": syntax error", 1), False),
    (_pg("40001", "could not serialize access"), True),
    (_pg("40P01", "deadlock detected"), True),
    (_pg("55P03", "canceling statement due to lock timeout"), True),
    (_pg("57014", "canceling statement due to statement timeout"), True),
    (_pg("08006", "connection failure"), True),
    (_pg("53100", "could not extend file: No space left on device"), True),
    (_pg("57P01", "terminating connection due to administrator command"), True),
    (psycopg.OperationalError("connection failed: Connection refused"), True),
    (_pg("42703", "column \"nope\" does not exist"), False),
    (_pg("42601", "syntax error at or near \"selec\""), False),
    (_pg("22P02", "invalid input syntax for type uuid"), False),
])
def test_the_cause_decides_not_the_type(driver: Exception, environmental: bool) -> None:
    wrapped = OperationalError("select 1", {}, driver)
    assert (environment_problem(wrapped) is not None) is environmental
    assert (environment_problem(driver) is not None) is environmental


def test_a_constraint_broken_by_the_code_is_a_bug() -> None:
    duplicate = IntegrityError("insert", {}, _pg("23505", "duplicate key value"))
    assert environment_problem(duplicate) is None


# --- SQLite file ----------------------------------------------------------------------------


def _on_connect(db: Database, statement: str) -> None:
    """Runs ``statement`` on every new connection of ``db`` (after its own settings)."""

    @event.listens_for(db.engine, "connect")
    def _run(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # PostgreSQL: kept for the connection's life

    db.engine.dispose()  # the connections already open do not have it


@pytest.fixture
def sqlite_ctx(sqlite_url: str, settings: Any) -> Iterator[ServiceContext]:
    from app.services.installation import load_installation
    from tests.conftest import make_demo

    database = Database(sqlite_url)
    make_demo(database)
    yield ServiceContext(database, load_installation(database, settings))
    database.dispose()


def test_sqlite_locked_by_another_program_is_an_environment_problem(
        sqlite_ctx: ServiceContext) -> None:
    data = new_customer_input(sqlite_ctx)
    _on_connect(sqlite_ctx.db, "PRAGMA busy_timeout=50")
    other = sqlite3.connect(make_url(sqlite_ctx.db.url).database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(EnvironmentProblem, match="occupée") as raised:
            create_customer(sqlite_ctx, data)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "database is locked" in str(raised.value.__cause__)


def test_sqlite_full_disk_is_an_environment_problem(sqlite_ctx: ServiceContext) -> None:
    data = new_customer_input(sqlite_ctx)
    _on_connect(sqlite_ctx.db, "PRAGMA max_page_count=1")  # capped at its current size
    with pytest.raises(EnvironmentProblem, match="disque de la base de données est plein"):
        for _ in range(50):  # the first ones may fit in the free pages
            create_customer(sqlite_ctx, data)


def test_sqlite_no_such_column_is_a_bug(sqlite_ctx: ServiceContext) -> None:
    data = new_customer_input(sqlite_ctx)
    with sqlite_ctx.db.engine.begin() as connection:  # the schema and the code disagree
        connection.execute(text("ALTER TABLE customer DROP COLUMN notes"))
    with pytest.raises(OperationalError, match="notes"):
        create_customer(sqlite_ctx, data)


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg_ctx(pg_url: str, settings: Any) -> Iterator[ServiceContext]:
    from app.services.installation import load_installation
    from tests.conftest import make_demo

    database = Database(pg_url)
    make_demo(database)
    yield ServiceContext(database, load_installation(database, settings))
    database.dispose()


@pytest.mark.postgres
def test_postgresql_lock_timeout_is_an_environment_problem(pg_ctx: ServiceContext) -> None:
    data = new_customer_input(pg_ctx)
    _on_connect(pg_ctx.db, "SET lock_timeout = '200ms'")
    holder = create_engine(pg_ctx.db.url)
    try:
        with holder.begin() as connection:
            connection.execute(text("LOCK TABLE customer IN EXCLUSIVE MODE"))
            with pytest.raises(EnvironmentProblem, match="occupée") as raised:
                create_customer(pg_ctx, data)
    finally:
        holder.dispose()
    assert isinstance(raised.value.__cause__, OperationalError)
    assert raised.value.__cause__.orig.sqlstate == "55P03"  # type: ignore[union-attr]


@pytest.mark.postgres
def test_postgresql_connection_killed_during_the_commit_is_an_environment_problem(
        pg_ctx: ServiceContext) -> None:
    admin = create_engine(pg_server.admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with pg_ctx.unit_of_work() as uow, pytest.raises(  # noqa: PT012
                EnvironmentProblem, match="ne répond pas"):
            pid = uow.session.execute(text("select pg_backend_pid()")).scalar_one()
            uow.session.execute(text("update customer set notes = 'x'"))
            with admin.connect() as connection:
                connection.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
            uow.commit()
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_server_unreachable_is_an_environment_problem(
        pg_ctx: ServiceContext) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = Database(make_url(pg_ctx.db.url).set(port=port).render_as_string(hide_password=False))
    data = new_customer_input(pg_ctx)
    try:
        with pytest.raises(EnvironmentProblem, match="ne répond pas"):
            create_customer(ServiceContext(dead, pg_ctx.installation), data)
    finally:
        dead.dispose()


@pytest.mark.postgres
def test_postgresql_undefined_column_is_a_bug(pg_ctx: ServiceContext) -> None:
    data = new_customer_input(pg_ctx)
    with pg_ctx.db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE customer DROP COLUMN notes"))
    with pytest.raises(ProgrammingError, match="notes"):
        create_customer(pg_ctx, data)


@pytest.mark.postgres
def test_postgresql_serialization_failure_is_an_environment_problem(
        pg_ctx: ServiceContext) -> None:
    """Two serializable transactions that each read what the other writes: one fails 40001."""
    one, other = (Database(pg_ctx.db.url, isolation_level="SERIALIZABLE") for _ in range(2))
    both_read = threading.Barrier(2, timeout=10)
    outcomes: list[BaseException | None] = []

    def write(ctx: ServiceContext, note: str) -> None:
        try:
            with ctx.unit_of_work() as uow:
                uow.session.execute(text("select count(*) from customer where notes = 'a'"))
                uow.session.execute(text("select count(*) from customer where notes = 'b'"))
                both_read.wait()
                uow.session.execute(text("update customer set notes = :n where last_name = :who"),
                                    {"n": note, "who": "Koné" if note == "a" else "Traoré"})
                uow.commit()
        except BaseException as error:  # noqa: BLE001 — looked at below
            outcomes.append(error)
        else:
            outcomes.append(None)

    create_customer(pg_ctx, new_customer_input(pg_ctx))
    create_customer(pg_ctx, new_customer_input(pg_ctx, last_name="Traoré"))
    try:
        threads = [threading.Thread(target=write, args=(ServiceContext(d, pg_ctx.installation), n))
                   for d, n in ((one, "a"), (other, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        one.dispose()
        other.dispose()
    failures = [o for o in outcomes if o is not None]
    assert len(outcomes) == 2 and len(failures) == 1, outcomes
    assert isinstance(failures[0], EnvironmentProblem), repr(failures[0])
