"""Alembic environment of the central-only tables (own metadata, own version table)."""

from alembic import context

from central.migrate import VERSION_TABLE, include_name
from central.models import CentralBase
from kernel.migrate import render_item

config = context.config
target_metadata = CentralBase.metadata


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
