"""Schema migrations with Alembic: one helper for every chain of revisions.

The shared schema's chain (``app/models/migrations``, table ``alembic_version``) runs on every
desk's start and on central; central adds its own chain (``central.migrate``). Alembic is
imported only when a migration is needed: checking the desk's stored revision against ``HEAD``
is one query, which keeps the program's start fast. A test keeps ``HEAD`` equal to the head of
the migration scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine, inspect, text

import app.models

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(app.models.__file__).with_name("migrations")
HEAD = "0017"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """The search index is made by hand-written DDL (FTS5, tsvector): not compared to models."""
    return not (type_ == "table" and name is not None and name.startswith("customer_search"))


def render_item(type_: str, obj: object, _autogen_context: object) -> str | Literal[False]:
    """Alembic autogenerate hook: our column types rendered as their storage type, so that
    revisions never depend on application code."""
    from sqlalchemy.types import TypeDecorator

    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if getattr(impl, "timezone", False):
            return "sa.DateTime(timezone=True)"
        return f"sa.{impl!r}"
    return False


@dataclass(frozen=True)
class Chain:
    """One chain of revisions: its scripts and the table that records where a database is."""

    scripts: Path
    version_table: str = "alembic_version"

    def config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(self.scripts))
        return config

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.config()).get_current_head()
        assert head is not None
        return head

    def current_revision(self, engine: Engine) -> str | None:
        with engine.connect() as connection:
            if not inspect(connection).has_table(self.version_table):
                return None
            return connection.execute(
                text(f"SELECT version_num FROM {self.version_table}")
            ).scalar()

    def upgrade(self, engine: Engine, revision: str = "head") -> None:
        from alembic import command

        config = self.config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


#: The shared schema (app.models): every desk, and central under its own chain.
SHARED = Chain(MIGRATIONS)


def alembic_config() -> Config:
    return SHARED.config()


def head_revision() -> str:
    return SHARED.head_revision()


def current_revision(engine: Engine) -> str | None:
    return SHARED.current_revision(engine)


def upgrade(engine: Engine, revision: str = "head") -> None:
    SHARED.upgrade(engine, revision)


def needs_upgrade(engine: Engine) -> bool:
    return current_revision(engine) != HEAD
