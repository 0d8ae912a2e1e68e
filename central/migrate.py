"""The central database's schema: the shared migrations (``app.models``) then central's own,
each with its version table (``alembic_version`` and ``alembic_version_central``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from central.models import CentralBase
from kernel import migrate as shared

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version_central"


def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
    """Autogenerate looks at central's own tables only, never at the shared schema."""
    if type_ == "table":
        return name in CentralBase.metadata.tables
    return True


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE}
        )
        return context.get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring both schemas to their head revision (idempotent)."""
    shared.upgrade(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def needs_upgrade(engine: Engine) -> bool:
    return shared.needs_upgrade(engine) or current_revision(engine) != head_revision()


def describe(engine: Engine) -> str:
    return (
        f"schéma commun {shared.current_revision(engine)} (dernier {shared.head_revision()}), "
        f"schéma central {current_revision(engine)} (dernier {head_revision()})"
    )
