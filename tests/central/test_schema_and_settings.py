"""Central's own tables are migrated beside the shared schema with their own version table;
settings come from flags, environment and a configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import inspect, text

from app.models.database import Database
from central import migrate
from central.database import installation_currency
from central.migrate import include_name
from central.models import CentralBase
from central.settings import CentralSettings
from kernel import migrate as shared
from kernel.errors import InstallationError


def test_central_tables_reach_their_head_with_their_own_version_table(cdb: Database) -> None:
    assert migrate.current_revision(cdb.engine) == migrate.head_revision()
    assert shared.current_revision(cdb.engine) == shared.head_revision()
    with cdb.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version_central"))
        assert versions.scalars().all() == [migrate.head_revision()]
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, CentralBase.metadata) == []
    tables = set(inspect(cdb.engine).get_table_names())
    assert {"central_credential", "billing_run", "billed_period", "invoice", "agency"} <= tables
    foreign = [fk for table in CentralBase.metadata.tables.values() for fk in table.foreign_keys]
    assert foreign == [], "central tables never point into the shared schema"
    migrate.upgrade(cdb.engine)
    assert not migrate.needs_upgrade(cdb.engine)


def test_the_currency_is_fixed_when_the_database_is_created(central_sqlite_url: str,
                                                            tmp_path: Path) -> None:
    db = Database(central_sqlite_url)
    try:
        xof = CentralSettings(data_dir=tmp_path, currency="XOF")
        assert installation_currency(db, xof).code == "XOF"
        with pytest.raises(InstallationError, match="créée en XOF"):
            installation_currency(db, CentralSettings(data_dir=tmp_path, currency="EUR"))
    finally:
        db.dispose()


def test_settings_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "HOST", "DATABASE_URL", "CONFIG_FILE", "LOG_LEVEL"):
        monkeypatch.delenv(f"GUICHET_CENTRAL_{name}", raising=False)
    config = tmp_path / "central.toml"
    config.write_text('port = 9000\nhost = "0.0.0.0"\n'
                      'database_url = "postgresql+psycopg://central@db/central"\n')
    from_file = CentralSettings(config_file=config)
    assert (from_file.port, from_file.host) == (9000, "0.0.0.0")
    assert from_file.resolved_database_url == "postgresql+psycopg://central@db/central"
    monkeypatch.setenv("GUICHET_CENTRAL_PORT", "9100")
    monkeypatch.setenv("GUICHET_CENTRAL_CONFIG_FILE", str(config))
    assert CentralSettings().port == 9100, "the environment beats the file"
    assert CentralSettings(port=9200).port == 9200, "flags beat the environment"
    embedded = CentralSettings(config_file=None, data_dir=tmp_path, database_url="")
    assert embedded.host == "0.0.0.0"  # still from the file named in the environment
    monkeypatch.delenv("GUICHET_CENTRAL_CONFIG_FILE")
    default = CentralSettings(data_dir=tmp_path)
    assert default.resolved_database_url == f"sqlite:///{tmp_path.as_posix()}/central.sqlite3"
    assert default.max_request_bytes == 20 * 1024 * 1024
    with pytest.raises(ValidationError):
        CentralSettings(currency="ZZZ")
    config.write_text("unknown_setting = 1\n")
    with pytest.raises(ValidationError):
        CentralSettings(config_file=config)
