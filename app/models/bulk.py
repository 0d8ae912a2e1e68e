"""Bulk loading for demo data and snapshots: rows converted once to the database's own storage
form and sent with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL), bypassing per-value
SQLAlchemy processing, which dominates at millions of rows. Values must be the same Python types
the ORM uses (UUID, aware datetime, date, enums, Decimal for scaled columns)."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Date, Table, Uuid
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


class BulkLoader:
    """Writes rows of one table, given as mappings with every column present."""

    def __init__(self, table: Table, dialect: str) -> None:
        self.table = table
        self.dialect = dialect
        self.columns = [c.name for c in table.columns]
        self.converters = [(c.name, _converter(c, dialect)) for c in table.columns]

    def tuples(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        converters = self.converters
        return [
            tuple(row[name] if conv is None else conv(row[name]) for name, conv in converters)
            for row in rows
        ]

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


def loaders(tables: Mapping[str, Table], dialect: str) -> dict[str, BulkLoader]:
    return {name: BulkLoader(table, dialect) for name, table in tables.items()}


__all__ = ["BulkLoader", "loaders"]
