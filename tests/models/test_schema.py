"""The migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app.models import Base
from app.models.database import Database
from kernel import migrate
from kernel.migrate import include_name


def test_migrations_reach_the_models_head(db: Database) -> None:
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_every_synced_table_has_identity_version_and_owner(db: Database) -> None:
    inspector = inspect(db.engine)
    local = {"customer_search", "audit_entry", "sync_journal", "sync_state", "number_series",
             "sign_in_throttle", "installation_setting", "alembic_version", "sync_outbox_batch",
             "sync_run", "prepaid_pending_sale", "cash_day"}
    for table in inspector.get_table_names():
        if table in local or table.startswith("customer_search"):
            continue
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert {"id", "agency_id", "version", "created_at", "updated_at"} <= columns, table


def test_head_constant_follows_the_scripts() -> None:
    assert migrate.head_revision() == migrate.HEAD


def test_upgrade_is_idempotent(db: Database) -> None:
    migrate.upgrade(db.engine)
    assert not migrate.needs_upgrade(db.engine)
