"""Arrays sent to PostgreSQL in its binary array format, encoded in one pass.

Bulk statements pass thousands of values per array (row ids to journal, the old and new values
of an update, the ids a chunk loads). psycopg dumps a list element by element through its
generic list dumper (a dumper call, a struct pack and a length per value): at a billing run's
volume that is a measurable part of the Python time, mostly for UUIDs. Wrapping such a list
in ``uuids(...)``, ``int8s(...)``, ``int4s(...)``, ``texts(...)``, ``dates(...)`` or
``timestamps(...)`` sends the same array, encoded here with one join. Values may be ``None`` (a
NULL element)."""

from __future__ import annotations

import struct
import uuid
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy.types import UserDefinedType

_NULL = b"\xff\xff\xff\xff"
_HEADER = struct.Struct("!iiIii")  # dimensions, has NULL, element oid, size, lower bound
_EMPTY = struct.Struct("!iiI")
_INT8 = struct.Struct("!iq")
_INT4 = struct.Struct("!ii")
_LENGTH = struct.Struct("!i")
_EPOCH_DAYS = date(2000, 1, 1).toordinal()
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class BinaryArray:
    """An encoded one-dimension array; ``oid`` is the array type's."""

    __slots__ = ("data", "size")
    oid = 0
    element_oid = 0

    def __init__(self, data: bytes, size: int) -> None:
        self.data = data
        self.size = size

    def __len__(self) -> int:
        return self.size


def _pack(cls: type[BinaryArray], parts: list[bytes], has_null: bool) -> BinaryArray:
    if not parts:
        return cls(_EMPTY.pack(0, 0, cls.element_oid), 0)
    head = _HEADER.pack(1, int(has_null), cls.element_oid, len(parts), 1)
    return cls(head + b"".join(parts), len(parts))


# (array oid, element oid) of each kind: uuid, int8, int4, date, timestamptz.
class UuidArray(BinaryArray):
    __slots__ = ()
    oid, element_oid = 2951, 2950


class Int8Array(UuidArray):
    oid, element_oid = 1016, 20


class Int4Array(UuidArray):
    oid, element_oid = 1007, 23


class TextArray(UuidArray):
    oid, element_oid = 1009, 25


class DateArray(UuidArray):
    oid, element_oid = 1182, 1082


class TimestamptzArray(UuidArray):
    oid, element_oid = 1185, 1184


_UUID_LEN = b"\x00\x00\x00\x10"


def uuids(values: Iterable[uuid.UUID | None]) -> UuidArray:
    parts = [_NULL if v is None else _UUID_LEN + v.int.to_bytes(16, "big") for v in values]
    return _pack(UuidArray, parts, _NULL in parts)  # type: ignore[return-value]


def int8s(values: Iterable[int | None]) -> Int8Array:
    pack = _INT8.pack
    parts = [_NULL if v is None else pack(8, v) for v in values]
    return _pack(Int8Array, parts, _NULL in parts)  # type: ignore[return-value]


def int4s(values: Iterable[int | None]) -> Int4Array:
    pack = _INT4.pack
    parts = [_NULL if v is None else pack(4, v) for v in values]
    return _pack(Int4Array, parts, _NULL in parts)  # type: ignore[return-value]


def texts(values: Iterable[str | None]) -> TextArray:
    """Strings (cast in SQL to the column's type: ``varchar``, ``json``, ``numeric``…)."""
    pack = _LENGTH.pack
    parts = []
    has_null = False
    for v in values:
        if v is None:
            parts.append(_NULL)
            has_null = True
        else:
            data = v.encode()
            parts.append(pack(len(data)) + data)
    return _pack(TextArray, parts, has_null)  # type: ignore[return-value]


def dates(values: Iterable[date | None]) -> DateArray:
    pack, epoch = _INT4.pack, _EPOCH_DAYS
    parts = [_NULL if v is None else pack(4, v.toordinal() - epoch) for v in values]
    return _pack(DateArray, parts, _NULL in parts)  # type: ignore[return-value]


def timestamps(values: Iterable[datetime | None]) -> TimestamptzArray:
    """Aware datetimes (a naive one is taken as UTC, as the schema's UTC columns store it)."""
    pack, epoch, micro = _INT8.pack, _EPOCH, _MICRO
    parts = [_NULL if v is None
             else pack(8, ((v if v.tzinfo else v.replace(tzinfo=UTC)) - epoch) // micro)
             for v in values]
    return _pack(TimestamptzArray, parts, _NULL in parts)  # type: ignore[return-value]


#: The encoder of an array of each PostgreSQL element type name, for code that picks by type.
BY_TYPE: dict[str, Callable[[list[Any]], Any]] = {"uuid": uuids, "bigint": int8s, "integer": int4s, "date": dates,
           "timestamp with time zone": timestamps}


def _dumper(cls: type[BinaryArray]) -> type[Dumper]:
    class _ArrayDumper(Dumper):
        format = Format.BINARY
        oid = cls.oid

        def dump(self, obj: BinaryArray) -> bytes:
            return obj.data

    _ArrayDumper.__name__ = f"{cls.__name__}Dumper"
    return _ArrayDumper


_KINDS = (UuidArray, Int8Array, Int4Array, TextArray, DateArray, TimestamptzArray)
_DUMPERS = {cls: _dumper(cls) for cls in _KINDS}
for _cls, _made in _DUMPERS.items():
    psycopg.adapters.register_dumper(_cls, _made)
_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def ready(connection: Any) -> None:
    """The arrays' dumpers on this connection (SQLAlchemy's or psycopg's). psycopg gives each
    connection the adapters of its engine's dialect, copied when the engine was made: an
    engine made before this module was imported (a script that imports central's sync late)
    would not know them ("cannot adapt type 'UuidArray'")."""
    raw = getattr(connection, "connection", None)
    raw = getattr(raw, "driver_connection", None) or connection
    if raw in _ready:
        return
    for cls, made in _DUMPERS.items():
        raw.adapters.register_dumper(cls, made)
    _ready.add(raw)


class EncodedUuidArray(UserDefinedType[Any]):
    """SQLAlchemy type of a bound ``uuids(...)``: sent as encoded (SQLAlchemy's ``ARRAY``
    would rebuild a list of it), typed ``uuid[]`` by its binary dumper."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "UUID[]"

    def bind_processor(self, dialect: Any) -> None:
        return None
