"""Schema migrations with Alembic, run on start so that a desk is always at the head revision.

Alembic is imported only when a migration is needed: checking the stored revision against
``HEAD`` is one query, which keeps the program's start fast. A test keeps ``HEAD`` equal to the
head of the migration scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Engine, inspect, text

import app.models

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(app.models.__file__).with_name("migrations")
HEAD = "0008"


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


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def needs_upgrade(engine: Engine) -> bool:
    return current_revision(engine) != HEAD
