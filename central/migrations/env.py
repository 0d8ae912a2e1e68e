"""Alembic environment of the central-only tables (own metadata, own version table)."""

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

from central.migrate import include_name
from central.models import CentralBase

VERSION_TABLE = "alembic_version_central"

config = context.config
target_metadata = CentralBase.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column types as their storage type, so revisions never depend on app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if getattr(impl, "timezone", False):
            return "sa.DateTime(timezone=True)"
        return f"sa.{impl!r}"
    return False


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
