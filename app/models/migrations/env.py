"""Alembic environment: runs on the connection handed over by ``app.models.migrate``."""

from typing import Any, Literal

from alembic import context
from sqlalchemy.types import TypeDecorator

from app.models import Base
from app.models.migrate import include_name

config = context.config
target_metadata = Base.metadata


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
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
