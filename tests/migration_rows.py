"""Helpers of the migration tests: walk an Alembic chain one revision at a time on a real
database, put rows in with plain SQL at any revision, and read back the shape and the rows.

Rows are made from what the database holds at that revision (reflected columns and foreign keys),
so the same helper fills a table before and after the revisions that change it; the models only
lend their column types (an enum's first value, how a UUID is bound on each dialect).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Generator, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlalchemy.engine.interfaces import ReflectedColumn

from tests import pg_server

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT / "app" / "models" / "migrations"
CENTRAL = ROOT / "central" / "migrations"

#: Tables made by hand-written DDL (FTS5 and its shadow tables, tsvector) and Alembic's own.
SKIPPED_PREFIXES = ("customer_search", "alembic_version")


def config(location: Path) -> Config:
    chain = Config()
    chain.set_main_option("script_location", str(location))
    return chain


def revisions(location: Path) -> list[tuple[str, str]]:
    """(previous, revision) from the first to the head; the first one's previous is "base"."""
    scripts = ScriptDirectory.from_config(config(location))
    ordered = list(reversed(list(scripts.walk_revisions())))
    return [(str(script.down_revision or "base"), script.revision) for script in ordered]


def upgrade(engine: Engine, location: Path, revision: str) -> None:
    chain = config(location)
    with engine.begin() as connection:
        chain.attributes["connection"] = connection
        command.upgrade(chain, revision)


def downgrade(engine: Engine, location: Path, revision: str) -> None:
    chain = config(location)
    with engine.begin() as connection:
        chain.attributes["connection"] = connection
        command.downgrade(chain, revision)


def has_downgrade(location: Path, revision: str) -> bool:
    module = ScriptDirectory.from_config(config(location)).get_revision(revision).module
    source = Path(str(module.__file__)).read_text()
    body = source.split("def downgrade", 1)[-1]
    return "op." in body


def data_tables(engine: Engine) -> list[str]:
    return sorted(name for name in inspect(engine).get_table_names()
                  if not name.startswith(SKIPPED_PREFIXES))


def shape(engine: Engine) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Each table's columns and index names (what an upgrade adds and a downgrade takes away)."""
    inspector = inspect(engine)
    columns = inspector.get_multi_columns()  # one query for all tables (PostgreSQL is slow else)
    indexes = inspector.get_multi_indexes()
    return {
        name: (frozenset(c["name"] for c in columns[(schema, name)]),
               frozenset(str(i["name"]) for i in indexes[(schema, name)]))
        for schema, name in columns if not name.startswith("alembic_version")
    }


#: One sequence for the whole run, so rows loaded at two revisions never share a unique value
#: (codes of three characters repeat only after a thousand rows).
_NUMBERS = itertools.count(1)


class RowMaker:
    """Inserts one row in a table with every required column filled; a required foreign key
    gets a parent row of its own first."""

    def __init__(self, connection: Connection, metadatas: Iterable[sa.MetaData]) -> None:
        self.connection = connection
        self.models = {name: table for metadata in metadatas
                       for name, table in metadata.tables.items()}
        inspector = inspect(connection)
        self.columns = {name: found for (_, name), found in inspector.get_multi_columns().items()}
        self.foreign_keys = {name: found for (_, name), found
                             in inspector.get_multi_foreign_keys().items()}

    def _type(self, table: str, column: ReflectedColumn) -> sa.types.TypeEngine[Any]:
        model = self.models.get(table)
        if model is not None and column["name"] in model.c:
            return model.c[column["name"]].type
        return column["type"]

    def _sample(self, kind: sa.types.TypeEngine[Any]) -> Any:
        number = next(_NUMBERS)
        base = kind.impl_instance if isinstance(kind, sa.types.TypeDecorator) else kind
        if isinstance(kind, sa.Enum):
            return kind.enums[0]
        if isinstance(base, sa.Uuid):
            return uuid.uuid4()
        if isinstance(base, sa.DateTime):
            return datetime(2026, 1, 1, 8, 0, number % 60, tzinfo=UTC)
        if isinstance(base, sa.Date):
            return date(2026, 1, 1 + number % 28)
        if isinstance(base, sa.Boolean):
            return False
        if isinstance(base, sa.SmallInteger):
            return number % 30_000
        if isinstance(base, sa.Integer):
            return number
        if isinstance(base, sa.Numeric):
            return Decimal(number)
        if isinstance(base, sa.JSON):
            return {}
        if isinstance(base, sa.LargeBinary):
            return b"x"
        if isinstance(base, sa.String) and base.length:
            return str(number).zfill(min(base.length, 3))[-base.length:]
        return f"v{number}"

    def insert(self, table: str, **values: Any) -> dict[str, Any]:
        columns = self.columns[table]
        parents = {fk["constrained_columns"][0]: fk for fk in self.foreign_keys[table]
                   if len(fk["constrained_columns"]) == 1}
        row: dict[str, Any] = {}
        types: dict[str, sa.types.TypeEngine[Any]] = {}
        for column in columns:
            name = column["name"]
            types[name] = self._type(table, column)
            if name in values:
                row[name] = values[name]
            elif column["nullable"] or column.get("default") is not None:
                continue
            elif name in parents and parents[name]["referred_table"] != table:
                parent = self.insert(parents[name]["referred_table"])
                row[name] = parent[parents[name]["referred_columns"][0]]
            else:
                row[name] = self._sample(types[name])
        target = sa.table(table, *(sa.column(name, types[name]) for name in row))
        self.connection.execute(sa.insert(target).values(row))
        return row


def fill_every_table(engine: Engine, metadatas: Iterable[sa.MetaData]) -> None:
    """One row (plus the parents it needs) in every table the database holds at its revision."""
    with engine.begin() as connection:
        maker = RowMaker(connection, list(metadatas))
        for table in data_tables(engine):
            seeded = connection.execute(sa.select(sa.func.count()).select_from(sa.table(table)))
            if not seeded.scalar_one():  # rows a revision seeds (reference data) already stand
                maker.insert(table)


def rows(engine: Engine, tables: Iterable[str] | None = None) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of the data tables, as sorted (column, value) pairs, so that rows read after an
    upgrade can be cut down to the columns that existed before it."""
    found: dict[str, set[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in tables if tables is not None else data_tables(engine):
            result = connection.execute(sa.text(f'SELECT * FROM "{table}"'))
            keys = list(result.keys())
            found[table] = {tuple(sorted(zip(keys, map(repr, values), strict=True)))
                            for values in result}
    return found


def cut(table_rows: set[tuple[Any, ...]], columns: Iterable[str]) -> set[tuple[Any, ...]]:
    kept = set(columns)
    return {tuple(pair for pair in row if pair[0] in kept) for row in table_rows}


def check(engine: Engine, location: Path, metadatas: list[sa.MetaData], previous: str,
          revision: str, first_tables: set[str]) -> None:
    """From a database at ``previous``: load rows, upgrade, check they are all there, load rows
    in the new shape, downgrade where the revision can, check the previous shape and rows are
    back, and upgrade again over what the revision's shape held."""
    fill_every_table(engine, metadatas)
    before_shape, before_rows = shape(engine), rows(engine)

    upgrade(engine, location, revision)
    after_shape = shape(engine)
    assert set(before_shape) <= set(after_shape), "a revision of these chains never drops a table"
    after_rows = rows(engine, before_rows)
    for table, kept in before_rows.items():
        assert cut(after_rows[table], before_shape[table][0]) == kept, (revision, table)
    if previous == "base":
        assert first_tables <= set(data_tables(engine))
    fill_every_table(engine, metadatas)

    if not has_downgrade(location, revision):
        return
    downgrade(engine, location, previous)
    assert shape(engine) == before_shape, revision
    back = rows(engine, before_rows)
    for table, kept in before_rows.items():
        assert kept <= back[table], (revision, table)
    upgrade(engine, location, revision)
    assert shape(engine) == after_shape, revision


def empty_postgres(admin_url: str) -> Generator[Engine, None, None]:
    """A new empty PostgreSQL database, dropped at the end."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"guichet_mig_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(pg_server.database_url(name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
