"""What travels between a desk and central, identical on both sides.

Values take their JSON form by column type (UUID, decimal and dates as text, enums by value,
binary as base64) and come back to the exact Python value. Payloads are hashed over their
canonical bytes: JSON with sorted keys, no spaces, UTF-8.
"""

from __future__ import annotations

import base64
import enum
import gzip
import hashlib
import json
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    Uuid,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.types import Enum as EnumType

from app.models import Base
from app.models.jsonable import to_jsonable
from app.models.ownership import TABLE_OWNER
from app.models.types import ScaledDecimal, UTCDateTime

PROTOCOL = 1
_CHECKSUM_MOD = 1 << 64


@cache
def synced_tables() -> tuple[Table, ...]:
    """Every synchronised table, parents before children."""
    return tuple(t for t in Base.metadata.sorted_tables if t.name in TABLE_OWNER)


@cache
def table(name: str) -> Table:
    for candidate in synced_tables():
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def table_rank(name: str) -> int:
    """Position of a table, parents first (``ValueError`` for a table that is not synced)."""
    try:
        return _ranks()[name]
    except KeyError as error:
        raise ValueError(name) from error


@cache
def _ranks() -> dict[str, int]:
    return {t.name: position for position, t in enumerate(synced_tables())}


USERS = "app_user"


def scope(tbl: Table, agency_id: uuid.UUID) -> ColumnElement[bool]:
    """The rows of ``tbl`` an agency holds: its own and the shared reference rows. Users (and
    their password hashes) only where they sign in: the agency's own users and the head
    office's roaming ones, never a user made on a desk (``desk_only``, the demo's)."""
    column = tbl.c.agency_id
    if tbl.name == USERS:
        return and_(tbl.c.desk_only.is_(False),
                    or_(column == agency_id, and_(column.is_(None), tbl.c.roaming.is_(True))))
    return or_(column == agency_id, column.is_(None))


def to_wire(value: Any) -> Any:
    """The journal's JSON form (``to_jsonable``), except binary, which travels whole (base64)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict | list | float):
        return value
    return to_jsonable(value)


def from_wire(tbl: Table, column: str, value: Any) -> Any:
    """The Python value of ``column`` from its wire form."""
    if value is None:
        return None
    type_ = tbl.c[column].type
    if isinstance(type_, JSON):
        return value
    if isinstance(type_, LargeBinary):
        return base64.b64decode(value)
    if isinstance(type_, EnumType) and type_.enum_class is not None:
        return type_.enum_class(value)
    python_type = _python_type(tbl.name, column)
    if python_type is uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    if python_type is Decimal:
        return Decimal(value)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is bool:
        return bool(value)
    if python_type is int:
        return int(value)
    return value


@cache
def _python_type(table_name: str, column: str) -> type | None:
    try:
        return table(table_name).c[column].type.python_type
    except NotImplementedError:
        return None


def binary_columns(table_name: str) -> frozenset[str]:
    """Columns the journal does not carry in full (it notes ``<n octets>``): read from the row."""
    return frozenset(c.name for c in table(table_name).columns if isinstance(c.type, LargeBinary))


def row_to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: to_wire(value) for key, value in row.items()}


def row_from_wire(tbl: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: from_wire(tbl, key, value) for key, value in row.items() if key in tbl.c}


def canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(payload: Any) -> tuple[bytes, str, bytes]:
    """(canonical bytes, their SHA-256, gzip of them) of a payload."""
    data = canonical(payload)
    return data, sha256_hex(data), gzip.compress(data, compresslevel=6, mtime=0)


class TooLarge(ValueError):
    """A compressed body that inflates beyond the limit it was read with."""


_INFLATE_CHUNK = 1 << 20


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f}".removesuffix(".0").replace(".", ",")


def gunzip(body: bytes, limit: int | None = None) -> bytes:
    """The bytes of a gzip body (several members allowed), inflated one megabyte at a time and
    refused with ``TooLarge`` as soon as they pass ``limit``: a small body never gets the
    chance to inflate into gigabytes. ``ValueError`` when it is not gzip."""
    if limit is None:
        try:
            return gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError("contenu compressé illisible") from error
    parts: list[bytes] = []
    size = 0
    pending = body
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        while True:
            part = inflater.decompress(pending, _INFLATE_CHUNK)
            size += len(part)
            if size > limit:
                raise TooLarge(f"contenu décompressé au-delà de {_megabytes(limit)} Mo")
            parts.append(part)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data
                if not pending.strip(b"\0"):
                    break
                inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            elif not pending:
                break
    except zlib.error as error:
        raise ValueError("contenu compressé illisible") from error
    if not inflater.eof:
        raise ValueError("contenu compressé illisible (tronqué)")
    return b"".join(parts)


def unpack(body: bytes, expected_sha256: str | None = None, limit: int | None = None) -> Any:
    """The payload of a gzip body; ``ValueError`` when it is not gzip, not JSON or not the
    expected hash, ``TooLarge`` (a ``ValueError``) when it inflates beyond ``limit`` bytes."""
    data = gunzip(body, limit)
    if expected_sha256 is not None and sha256_hex(data) != expected_sha256:
        raise ValueError("empreinte SHA-256 différente : contenu altéré")
    try:
        return json.loads(data)
    except RecursionError as error:
        raise ValueError("contenu JSON trop imbriqué") from error
    except ValueError as error:
        raise ValueError("contenu JSON illisible") from error


#: Columns each side keeps for itself: when this database wrote the row. They are neither
#: compared nor required equal (docs/sync.md, "Reconciliation").
LOCAL_COLUMNS = frozenset({"created_at", "updated_at"})


def compared_columns(tbl: Table) -> list[Column[Any]]:
    """The columns whose content the reconciliation compares: every synchronised column but the
    local timestamps and JSON (sync_conflict's and sync_parked's records, compared by version:
    the two databases do not write JSON the same way)."""
    return [c for c in tbl.columns
            if c.name not in LOCAL_COLUMNS and c.name != "id" and not isinstance(c.type, JSON)]


def content_text(tbl: Table, row: Mapping[str, Any]) -> str:
    """The canonical text of a row's compared content (the reference the databases' SQL
    follows): per column, ``-`` for NULL or ``{length}:{text}``."""
    parts = []
    for column in compared_columns(tbl):
        value = row[column.name]
        if value is None:
            parts.append("-")
            continue
        type_ = column.type
        if isinstance(value, uuid.UUID):
            text_ = value.hex
        elif isinstance(value, bool):
            text_ = "1" if value else "0"
        elif isinstance(type_, ScaledDecimal):
            text_ = str(int(Decimal(value).scaleb(type_.scale)))
        elif isinstance(value, datetime):
            text_ = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        elif isinstance(value, date):
            text_ = value.isoformat()
        elif isinstance(value, enum.Enum):
            text_ = str(value.value)
        elif isinstance(value, bytes | bytearray | memoryview):
            text_ = bytes(value).hex()
        else:
            text_ = str(value)
        parts.append(f"{len(text_)}:{text_}")
    return "".join(parts)


class Checksum:
    """Order-independent checksum of rows: the sum, modulo 2**64, of the first eight bytes of
    SHA-256 of ``"{id}:{version}:{content}"`` (``content_text``); with the row count."""

    def __init__(self) -> None:
        self.count = 0
        self._sum = 0

    def add(self, row_id: uuid.UUID | str, version: int, content: str = "") -> None:
        digest = hashlib.sha256(f"{row_id}:{version}:{content}".encode()).digest()
        self._sum = (self._sum + int.from_bytes(digest[:8], "big")) % _CHECKSUM_MOD
        self.count += 1

    def update(self, rows: Iterable[tuple[Any, ...]]) -> Checksum:
        for row in rows:
            self.add(*row)
        return self

    def rows(self, tbl: Table, rows: Iterable[Mapping[str, Any]]) -> Checksum:
        """Adds whole rows (the reference computation of ``content_checksum``)."""
        for row in rows:
            self.add(str(row["id"]), row["version"], content_text(tbl, row))
        return self

    @property
    def hexdigest(self) -> str:
        return f"{self._sum:016x}"

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "checksum": self.hexdigest}


def _column_sql(column: Column[Any], dialect: str) -> ColumnElement[Any]:
    """SQL giving ``content_text``'s text of one column's value (NULL for NULL)."""
    type_ = column.type
    raw = type_coerce(column, String)
    if isinstance(type_, Uuid):
        return func.replace(cast(column, Text), "-", "") if dialect == "postgresql" \
            else func.lower(raw)
    if isinstance(type_, Boolean):
        return cast(cast(column, Integer), Text) if dialect == "postgresql" \
            else cast(type_coerce(column, Integer), Text)
    if isinstance(type_, Integer | ScaledDecimal):
        return cast(type_coerce(column, BigInteger), Text)
    if isinstance(type_, UTCDateTime):
        if dialect == "postgresql":
            return func.to_char(func.timezone("UTC", type_coerce(column, DateTime(timezone=True))),
                                "YYYY-MM-DD HH24:MI:SS.US")
        return func.substr(raw, 1, 26)
    if isinstance(type_, Date):
        return func.to_char(column, "YYYY-MM-DD") if dialect == "postgresql" else raw
    if isinstance(type_, LargeBinary):
        if dialect == "postgresql":
            return func.encode(column, "hex")
        return case((column.is_(None), None), else_=func.lower(func.hex(column)))
    return cast(type_coerce(column, String), Text) if dialect == "postgresql" else raw


def content_sql(tbl: Table, dialect: str) -> ColumnElement[str]:
    """The row's ``content_text``, built by the database."""
    parts: list[ColumnElement[Any]] = []
    for column in compared_columns(tbl):
        value = _column_sql(column, dialect)
        parts.append(func.coalesce(cast(func.length(value), Text) + literal(":", Text) + value,
                                   literal("-", Text)))
    if not parts:
        return literal("", Text)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + part
    return joined


def scope_rows(tbl: Table, agency_id: uuid.UUID, dialect: str) -> Select[Any]:
    """``(id, version, content)`` of the rows of an agency's scope the reconciliation compares
    (``sync_parked`` without the desk's own rows)."""
    query = select(tbl.c.id.label("id"), tbl.c.version.label("version"),
                   content_sql(tbl, dialect).label("content")).where(scope(tbl, agency_id))
    if tbl.name == "sync_parked":
        query = query.where(tbl.c.side != "desk")
    return query


def content_checksum(connection: Connection, tbl: Table, agency_id: uuid.UUID) -> dict[str, Any]:
    """``Checksum`` of the agency's rows of one table, content included, computed where the rows
    are: entirely by PostgreSQL, or from texts SQLite builds (only the hashing done here)."""
    return checksum_of(connection, scope_rows(tbl, agency_id, connection.dialect.name))


#: The first eight bytes of SHA-256 of ``"{id}:{version}:{content}"`` as a signed bigint,
#: computed by PostgreSQL (the sum of signed values is the same modulo 2**64 as the sum of
#: unsigned ones).
_PG_PAIR_HASH = (
    "('x' || left(encode(sha256(convert_to(pairs.id::text || ':' || pairs.version::text "
    "|| ':' || pairs.content, 'UTF8')), 'hex'), 16))::bit(64)::bigint"
)
#: The canonical text of a UUID stored by SQLite as 32 hex digits, with its version and content.
_SQLITE_PAIR_TEXT = (
    "lower(substr(pairs.id, 1, 8) || '-' || substr(pairs.id, 9, 4) || '-' || "
    "substr(pairs.id, 13, 4) || '-' || substr(pairs.id, 17, 4) || '-' || "
    "substr(pairs.id, 21)) || ':' || pairs.version || ':' || pairs.content"
)


def checksum_of(connection: Connection, rows: Select[Any]) -> dict[str, Any]:
    """``Checksum`` of the ``(id, version, content)`` rows a query selects (``scope_rows``)."""
    sub = rows.subquery("pairs")
    if connection.dialect.name == "postgresql":
        found = connection.execute(
            select(func.count(), func.coalesce(func.sum(literal_column(_PG_PAIR_HASH, BigInteger)), 0))
            .select_from(sub)
        ).one()
        return {"count": int(found[0]), "checksum": f"{int(found[1]) % _CHECKSUM_MOD:016x}"}
    texts = connection.execute(select(literal_column(_SQLITE_PAIR_TEXT, String)).select_from(sub))
    count, total = 0, 0
    sha256, from_bytes = hashlib.sha256, int.from_bytes
    for partition in texts.scalars().partitions(20_000):
        count += len(partition)
        total += sum(from_bytes(sha256(t.encode()).digest()[:8], "big") for t in partition)
    return {"count": count, "checksum": f"{total % _CHECKSUM_MOD:016x}"}


def stored_loader(tbl: Table, dialect: str) -> list[Callable[[Any], Any] | None]:
    """Per column, what turns a value of a bootstrap page (the storage form: hex UUIDs, UTC
    timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff``, scaled decimals as integers, enum values,
    base64 for binary) into what the database's bulk load takes (None: as it is)."""
    converters: list[Callable[[Any], Any] | None] = []
    for column in tbl.columns:
        type_ = column.type
        if isinstance(type_, JSON):
            converters.append(_json_text)
        elif isinstance(type_, LargeBinary):
            converters.append(_from_base64)
        elif dialect == "sqlite" and isinstance(type_, Boolean):
            converters.append(_as_int)
        elif dialect != "sqlite" and isinstance(type_, UTCDateTime):
            converters.append(_utc_text)
        else:
            converters.append(None)
    return converters


def stored_tuples(converters: list[Callable[[Any], Any] | None],
                  rows: list[list[Any]]) -> list[tuple[Any, ...]]:
    if not any(converters):
        return [tuple(row) for row in rows]
    pairs = [(i, c) for i, c in enumerate(converters) if c is not None]
    out = []
    for row in rows:
        for position, convert in pairs:
            value = row[position]
            if value is not None:
                row[position] = convert(value)
        out.append(tuple(row))
    return out


def _json_text(value: Any) -> str:
    return json.dumps(value)


def _from_base64(value: str) -> bytes:
    return base64.b64decode(value)


def _as_int(value: Any) -> int:
    return int(value)


def _utc_text(value: str) -> str:
    return value + "+00"
