"""Bulk loading for demo data and snapshots: rows converted once to the database's own storage
form and sent with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), bypassing per-value
SQLAlchemy processing, which dominates at millions of rows. Values must be the same Python types
the ORM uses (UUID, aware datetime, date, enums, Decimal for scaled columns)."""

from __future__ import annotations

import enum
import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Date, Engine, Table, Uuid
from sqlalchemy.types import Enum as SAEnum

from app.models.types import ScaledDecimal, UTCDateTime

Converter = Callable[[Any], Any]


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _converter(column: Column[Any], dialect: str) -> Converter | None:
    type_ = column.type
    if isinstance(type_, ScaledDecimal):
        scale = type_.scale
        return lambda v: None if v is None else int(v.scaleb(scale))
    if isinstance(type_, SAEnum):
        return _enum_value
    if isinstance(type_, JSON):
        return lambda v: None if v is None else json.dumps(v)
    if dialect != "sqlite":
        return None
    if isinstance(type_, Uuid):
        return lambda v: None if v is None else v.hex
    if isinstance(type_, UTCDateTime):
        return lambda v: None if v is None else _sqlite_datetime(v)
    if isinstance(type_, Date):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(type_, Boolean):
        return lambda v: None if v is None else int(v)
    return None


_REQUIRED = object()


def _fallback(column: Any) -> Any:
    """What a row that leaves this column out gets: the column's plain default, or NULL when it
    may be null; a column with neither must be given."""
    default = column.default
    if default is not None and getattr(default, "is_scalar", False):
        return default.arg
    return None if column.nullable else _REQUIRED


class BulkLoader:
    """Writes rows of one table, given as mappings; a column left out takes its plain default
    (or NULL), so that a column added later does not break every writer of the table."""

    def __init__(self, table: Table, dialect: str) -> None:
        self.table = table
        self.dialect = dialect
        self.columns = [c.name for c in table.columns]
        self.converters = [(c.name, _converter(c, dialect)) for c in table.columns]
        self.fallbacks = {c.name: _fallback(c) for c in table.columns}

    def tuples(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        converters = self.converters
        return [
            tuple(row[name] if conv is None else conv(row[name]) for name, conv in converters)
            for row in self.complete(rows)
        ]

    def complete(self, rows: Iterable[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        """The rows with the columns their writer left out (rows of one batch are built alike:
        the first one tells which)."""
        rows = rows if isinstance(rows, Sequence) else list(rows)
        if not rows:
            return rows
        first = rows[0]
        missing = {
            name: fallback
            for name, fallback in self.fallbacks.items()
            if name not in first and fallback is not _REQUIRED and name in self.columns
        }
        if not missing:
            return rows
        return [missing | dict(row) for row in rows]

    def load(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        data = self.tuples(rows)
        raw = connection.connection.driver_connection
        assert raw is not None
        columns = ", ".join(f'"{c}"' for c in self.columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(self.columns))
            raw.executemany(f'INSERT INTO "{self.table.name}" ({columns}) VALUES ({marks})', data)
            return
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{self.table.name}" ({columns}) FROM STDIN') as copy,
        ):
            for record in data:
                copy.write_row(record)


def write_stored(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows already in storage form (hex UUIDs, ISO dates and timestamps, enum values, scaled
    integers): only reordered into tuples, in C, before the bulk write."""
    if not rows:
        return
    columns = [c.name for c in table.columns]
    order = itemgetter(*columns)
    if any(len(row) < len(columns) for row in rows):
        fallbacks = {c.name: _fallback(c) for c in table.columns}
        missing = {k: v for k, v in fallbacks.items() if v is not _REQUIRED}
        rows = [row if len(row) >= len(columns) else missing | dict(row) for row in rows]
    send_stored(connection, table.name, columns, [order(row) for row in rows])


def send_stored(
    connection: Connection, table: str, columns: list[str], data: list[tuple[Any, ...]]
) -> None:
    """Tuples in storage form, in ``columns`` order: ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL."""
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', data)
        return
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for record in data:
            copy.write_row(record)


def loaders(tables: Mapping[str, Table], dialect: str) -> dict[str, BulkLoader]:
    return {name: BulkLoader(table, dialect) for name, table in tables.items()}


__all__ = ["BulkLoader", "create_indexes", "drop_secondary_indexes", "loaders", "send_stored"]


_FINISHED = object()


class BulkWriter:
    """Writes chunks of stored-form rows on one connection in a thread of its own, so the caller
    makes the next chunk while this one is written; each chunk is one transaction.

    With ``rebuild_indexes`` (an empty database being filled) secondary indexes are dropped first
    and built again at the end: one sorted build is much faster than millions of random inserts.
    On SQLite the load also uses a large page cache and skips foreign-key checks, which the
    generator guarantees by construction.
    """

    def __init__(
        self, engine: Engine, tables: Mapping[str, Table], *, rebuild_indexes: bool
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.rebuild_indexes = rebuild_indexes
        self.queue: queue.Queue[object] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self.connection: Connection | None = None
        self.saved_indexes: list[str] = []

    def __enter__(self) -> BulkWriter:
        self.connection = self.engine.connect()
        self._pragmas("PRAGMA cache_size=-262144", "PRAGMA foreign_keys=OFF")
        if self.rebuild_indexes:
            with self.connection.begin():
                self.saved_indexes = drop_secondary_indexes(self.connection, list(self.tables))
        self.thread.start()
        return self

    def _pragmas(self, *statements: str) -> None:
        """SQLite settings of this connection, outside any transaction (where they apply)."""
        assert self.connection is not None
        if self.connection.dialect.name == "sqlite":
            raw = self.connection.connection.driver_connection
            for statement in statements:
                raw.execute(statement)  # type: ignore[union-attr]

    def put(self, rows_by_table: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(rows_by_table)

    def _run(self) -> None:
        assert self.connection is not None
        while (item := self.queue.get()) is not _FINISHED:
            if self.error is not None:
                continue
            try:
                with self.connection.begin():
                    for name, rows in item.items():  # type: ignore[attr-defined]
                        write_stored(self.connection, self.tables[name], rows)
            except BaseException as error:  # noqa: BLE001 — re-raised in the caller's thread
                self.error = error

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.queue.put(_FINISHED)
        self.thread.join()
        assert self.connection is not None
        try:
            if self.saved_indexes:
                with self.connection.begin():
                    for ddl in self.saved_indexes:
                        self.connection.exec_driver_sql(ddl)
            self._pragmas("PRAGMA foreign_keys=ON")
        finally:
            self.connection.close()
        if self.error is not None and exc is None:
            raise self.error


def drop_secondary_indexes(connection: Connection, tables: list[str]) -> list[str]:
    """Drop the plain (non-constraint) indexes of ``tables``; returns the DDL to build them."""
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" * len(tables))
        found = connection.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            tuple(tables),
        ).all()
    else:
        found = connection.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(%(tables)s) AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint)",
            {"tables": tables},
        ).all()
    for name, _ddl in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [ddl for _name, ddl in found]


def create_indexes(connection: Connection, ddl: Sequence[str]) -> None:
    """Builds indexes dropped by ``drop_secondary_indexes`` again; one already there is left as
    it is (a load that resumes after an interruption)."""
    for statement in ddl:
        connection.exec_driver_sql(
            re.sub(r"^CREATE (UNIQUE )?INDEX ", r"CREATE \1INDEX IF NOT EXISTS ", statement, count=1)
        )


def analyse(connection: Connection, tables: Sequence[str] = ()) -> None:
    """Planner statistics after a bulk load (all tables, or these), on PostgreSQL: autovacuum may
    be off or hours late, and a planner without statistics guesses full scans where an index
    finds a few rows (a meter-number search took 11 s at 200,000 customers). SQLite keeps no
    statistics unless asked and its plans here are chosen from the indexes alone: nothing to do.
    """
    if connection.dialect.name != "postgresql":
        return
    names = ", ".join(f'"{t}"' for t in tables)
    connection.exec_driver_sql(f"ANALYZE {names}".strip())
