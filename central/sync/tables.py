"""The synchronised tables as the apply logic sees them: their mapped classes, their columns and
the two forms of a value (Python, and JSON as the journal keeps it)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import inspect

from app.models import Base, Synced
from app.models.jsonable import to_jsonable
from app.models.ownership import undeclared
from kernel import wire

#: Columns the write path keeps itself; an entry's values for them are ignored.
BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})


class UnknownTable(LookupError):
    pass


@cache
def _models() -> dict[str, type[Synced]]:
    """The mapped classes of the synchronised tables that declare who owns what (owner,
    fields, foreign keys' targets: ``ownership.undeclared``); a table that does not is not
    applied (its entries park as from an unknown table)."""
    synced = {t.name for t in wire.synced_tables()}
    declared = {t.name for t in wire.synced_tables() if not undeclared(t, synced)}
    found: dict[str, type[Synced]] = {}
    for mapper in Base.registry.mappers:
        name = getattr(mapper.local_table, "name", None)
        if name in declared:
            found[name] = mapper.class_
    return found


def model_of(table_name: str) -> type[Synced]:
    try:
        return _models()[table_name]
    except KeyError as error:
        raise UnknownTable(table_name) from error


@cache
def attribute(table_name: str, column: str) -> str:
    """The mapped attribute of a column (they share their names in this schema)."""
    mapper = inspect(model_of(table_name))
    return mapper.get_property_by_column(wire.table(table_name).c[column]).key


def get_value(obj: Synced, column: str) -> Any:
    return getattr(obj, attribute(obj.__tablename__, column))  # type: ignore[attr-defined]


def set_value(obj: Synced, column: str, value: Any) -> None:
    setattr(obj, attribute(obj.__tablename__, column), value)  # type: ignore[attr-defined]


def jsonable(value: Any) -> Any:
    """The journal's form of a value (JSON columns as they are)."""
    if isinstance(value, dict | list):
        return value
    return to_jsonable(value)


@cache
def parent_columns(table_name: str) -> dict[str, str]:
    """``{column: referred table}`` of the foreign keys to synchronised tables."""
    table = wire.table(table_name)
    found = {}
    for column in table.columns:
        for key in column.foreign_keys:
            if key.column.table.name in _models():
                found[column.name] = key.column.table.name
    return found


def whole_row(obj: Synced) -> dict[str, Any]:
    """``{column: Python value}`` of every column."""
    table = wire.table(obj.__tablename__)  # type: ignore[attr-defined]
    return {c.name: get_value(obj, c.name) for c in table.columns}
