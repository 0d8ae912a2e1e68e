"""Engines and sessions for SQLite (one desk) and PostgreSQL (several desks, or central)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

import app.models.capture  # noqa: F401  (registers the write path's capture)
import app.models.changes  # noqa: F401  (notes what each commit wrote, for the screens)
import app.models.search_index  # noqa: F401  (keeps the search index up to date)

_READONLY = "guichet_readonly"
T = TypeVar("T")


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and write transactions that take the write lock when they begin.

    ``BEGIN IMMEDIATE`` makes a second writer wait (busy timeout) instead of failing half-way
    when it upgrades from reading to writing; read-only sessions keep a plain deferred BEGIN.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get(_READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, **({"pool_pre_ping": True} | kwargs))


class Database:
    """One database: its engine and the sessions made on it."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._engine_kwargs = engine_kwargs
        self._read_engine = self.engine.execution_options(**{_READONLY: True})
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)
        #: Engines whose connections start with given settings (PostgreSQL) or pragmas (SQLite):
        #: ``reading_connection``.
        self._set_engines: dict[tuple[tuple[str, str], ...], Engine] = {}
        #: The read-only views of the SQLite ones.
        self._pragma_engines: dict[tuple[tuple[str, str], ...], Engine] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it never blocks a writer."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def reading_connection(
        self, settings: Mapping[str, str] | None = None, pragmas: Mapping[str, str] | None = None
    ) -> Iterator[Connection]:
        """``reading`` without a Session, for Core statements only: the customer search at every
        keystroke, where making and closing a Session costs more than some of its queries.

        On PostgreSQL with ``settings`` (``enable_seqscan``: ``off``…): a pool of its own whose
        connections start with them, in autocommit. Under read committed a transaction gives each
        statement a snapshot of its own all the same; without one, a search is spared the BEGIN,
        ``set_config`` and ROLLBACK round trips, each a wait for a core on a busy machine. A
        statement that needs a setting of its own opens a transaction for it.

        On SQLite with ``pragmas`` (``cache_size``…): a pool of its own whose connections start
        with them, the one used last taken first (its page cache is the warm one)."""
        if settings and self.dialect == "postgresql":
            with self._engine_with(settings).connect() as connection:
                yield connection
            return
        engine = self._sqlite_engine_with(pragmas) if pragmas else self._read_engine
        with engine.connect() as connection:
            connection.begin()  # now, not at the first Core statement: some go to the driver
            yield connection  # closing rolls back

    def reading_with(
        self,
        work: Callable[[Connection], T],
        settings: Mapping[str, str],
        pragmas: Mapping[str, str] | None = None,
    ) -> T:
        """``work`` done on a ``reading_connection`` with ``settings``. On PostgreSQL those
        connections are not pinged when taken from their pool (a round trip at every keystroke):
        when the server closed them since (a restart), the first statement fails, the pool is
        renewed and ``work`` runs once more."""
        for attempt in (1, 2):
            with self.reading_connection(settings, pragmas) as connection:
                try:
                    return work(connection)
                except Exception as error:
                    if attempt == 2 or not self._disconnected(connection, error):
                        raise
                    connection.invalidate()
            self._engine_with(settings).dispose()
        raise AssertionError("unreachable")

    def _disconnected(self, connection: Connection, error: Exception) -> bool:
        """Whether the server closed this connection (a statement sent through SQLAlchemy or to
        the driver itself)."""
        if isinstance(error, DBAPIError):
            return error.connection_invalidated
        dialect = self.engine.dialect
        return isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
            error, connection.connection.dbapi_connection, None
        )

    def _engine_with(self, settings: Mapping[str, str]) -> Engine:
        key = tuple(sorted(settings.items()))
        engine = self._set_engines.get(key)
        if engine is None:
            kwargs = dict(self._engine_kwargs)
            options = " ".join(f"-c {name}={value}" for name, value in key)
            kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "options": options}
            kwargs["isolation_level"] = "AUTOCOMMIT"
            kwargs["pool_pre_ping"] = False  # see ``reading_with``
            engine = self._set_engines.setdefault(key, make_engine(self.url, **kwargs))
        return engine

    def _sqlite_engine_with(self, pragmas: Mapping[str, str]) -> Engine:
        if make_url(self.url).database in (None, "", ":memory:"):
            return self._read_engine  # another engine would open another, empty, database
        key = tuple(sorted(pragmas.items()))
        engine = self._pragma_engines.get(key)
        if engine is None:
            made = make_engine(self.url, **(self._engine_kwargs | {"pool_use_lifo": True}))

            @event.listens_for(made, "connect")
            def _start(dbapi_connection: Any, _record: Any) -> None:
                for name, value in key:
                    dbapi_connection.execute(f"PRAGMA {name}={value}")

            self._set_engines[key] = made
            engine = self._pragma_engines.setdefault(key, made.execution_options(**{_READONLY: True}))
        return engine

    def describe(self, *, short: bool = False) -> str:
        """Where the data lives, for the status bar (never the password)."""
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite":
            return f"SQLite · {Path(url.database or '').name if short else url.database}"
        return f"PostgreSQL · {url.host or 'local'}/{url.database}"

    def dispose(self) -> None:
        self.engine.dispose()
        for engine in self._set_engines.values():
            engine.dispose()
