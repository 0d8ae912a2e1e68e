"""Central databases (both schemas migrated) on SQLite and PostgreSQL, copied from templates."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.models.database import Database, make_engine
from central import migrate
from tests import pg_server


def _admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(pg_server.admin_url(), isolation_level="AUTOCOMMIT")


def _url(name: str) -> str:
    return pg_server.database_url(name)


@pytest.fixture(scope="session")
def central_sqlite_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("central-template") / "central.sqlite3"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def central_sqlite_url(tmp_path: Path, central_sqlite_template: Path) -> str:
    path = tmp_path / "central.sqlite3"
    shutil.copy(central_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def central_pg_template(pg_template: str) -> Iterator[str]:
    engine = _admin_engine()
    name = f"guichet_ctpl_{uuid.uuid4().hex[:10]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    migrated = create_engine(_url(name))
    migrate.upgrade(migrated)
    migrated.dispose()
    yield name
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def central_pg_url(central_pg_template: str) -> Iterator[str]:
    engine = _admin_engine()
    name = f"guichet_ct_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{central_pg_template}"'))
    engine.dispose()
    yield _url(name)
    pg_server.DROPPER.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def central_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("central_sqlite_url"))
    return str(request.getfixturevalue("central_pg_url"))


@pytest.fixture
def cdb(central_url: str) -> Iterator[Database]:
    database = Database(central_url)
    yield database
    database.dispose()
