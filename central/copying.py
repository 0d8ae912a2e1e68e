"""Bulk loading of rows: ``app.models.bulk.BulkLoader`` with rows taken by ``itemgetter``,
converters run only where the dialect needs one, and a binary ``COPY`` on PostgreSQL (nothing
to parse on either side: the bulk of a billing run's writes)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.types import Enum as SAEnum

from app.models.bulk import BulkLoader, _enum_value
from app.models.types import ScaledDecimal, UTCDateTime


def _pg_type(column: Column[Any]) -> str:
    """The PostgreSQL type a binary COPY sends for a column (storage type of ours)."""
    kind = column.type
    for python_type, name in (
        (ScaledDecimal, "int8"), (UTCDateTime, "timestamptz"), (SAEnum, "varchar"),
        (Uuid, "uuid"), (JSON, "json"), (Boolean, "bool"), (Date, "date"),
        (BigInteger, "int8"), (SmallInteger, "int2"), (Integer, "int4"), (Text, "text"),
        (String, "varchar"),
    ):
        if isinstance(kind, python_type):
            return name
    raise TypeError(f"no COPY type for {column}")


def _fast_enum(value: Any) -> Any:
    """``_enum_value`` with the common case first: bulk rows carry enum values as plain str."""
    return value if value.__class__ is str else _enum_value(value)


class FastLoader(BulkLoader):
    """``BulkLoader`` with rows taken by ``itemgetter`` and converters run only where the
    dialect needs one; ``skip`` leaves columns to the database.

    A JSON column is encoded by its type, once: its rows carry the Python value (a dict, a
    list, a string is a JSON string), which the binary ``COPY`` sends as ``json`` on
    PostgreSQL and ``json.dumps`` writes elsewhere. The columns named in ``raw`` carry JSON
    text already encoded, sent as it is on either dialect."""

    def __init__(
        self, table: Table, dialect: str, skip: Iterable[str] = (), raw: Iterable[str] = ()
    ) -> None:
        super().__init__(table, dialect)
        skipped, raws = set(skip), set(raw)
        for name in raws:
            if not isinstance(table.c[name].type, JSON):
                raise TypeError(f"{table.name}.{name}: only a JSON column is taken as text")
        self.columns = [c for c in self.columns if c not in skipped]
        binary_json = dialect == "postgresql"
        self.converters = [
            (name, None if name in raws or (binary_json and isinstance(table.c[name].type, JSON))
             else _fast_enum if conv is _enum_value else conv)
            for name, conv in self.converters
            if name not in skipped
        ]
        self._get = operator.itemgetter(*self.columns)
        self._convert = [(i, conv) for i, (_, conv) in enumerate(self.converters) if conv]
        self._raws = raws
        # JSON text goes as ``text``: json's binary input is its text, parsed by the server
        self._pg_types = [self._copy_type(name) for name in self.columns]
        self._tuple_plans: dict[tuple[str, ...], tuple[list[tuple[int, Any]], list[str]]] = {}

    def _copy_type(self, name: str) -> str:
        return "text" if name in self._raws else _pg_type(self.table.c[name])

    def load(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """On PostgreSQL a binary ``COPY``: nothing to parse on either side."""
        if self.dialect != "postgresql":
            super().load(connection, rows)
            return
        if not rows:
            return
        raw = connection.connection.driver_connection
        assert raw is not None
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{self.table.name}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy,
        ):
            copy.set_types(self._pg_types)
            for record in self.tuples(rows):
                copy.write_row(record)

    def load_tuples(
        self, connection: Connection, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None:
        """Rows as tuples of ``columns`` (PostgreSQL): a binary ``COPY`` of those columns with
        the dialect's converters on the columns that need one, no dictionary per row."""
        if not rows:
            return
        key = tuple(columns)
        plan = self._tuple_plans.get(key)
        if plan is None:
            converters = dict(self.converters)
            plan = self._tuple_plans[key] = (
                [(i, converters[c]) for i, c in enumerate(columns) if converters.get(c)],
                [self._copy_type(c) for c in columns],
            )
        convert, types = plan
        raw = connection.connection.driver_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{self.table.name}" ({names}) FROM STDIN (FORMAT BINARY)') as copy,
        ):
            copy.set_types(types)
            write = copy.write_row
            if not convert:
                for row in rows:
                    write(row)
                return
            for row in rows:
                values = list(row)
                for i, conv in convert:
                    values[i] = conv(values[i])
                write(values)

    def tuples(self, rows: Iterable[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        get, convert = self._get, self._convert
        rows = self.complete(rows)
        if not convert:
            return [get(row) for row in rows]
        out = []
        for row in rows:
            values = list(get(row))
            for i, conv in convert:
                values[i] = conv(values[i])
            out.append(tuple(values))
        return out
