"""Shared fixtures: real databases (a SQLite file and a throwaway PostgreSQL database), a desk
with the demo reference data, and guards that keep Qt tests honest."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, inspect, text

from app.models.database import Database, make_engine
from app.services.demo import build_demo
from app.services.installation import load_installation
from app.settings import Settings
from kernel import migrate, passwords
from kernel.context import ServiceContext
from kernel.money import Currency
from tests import pg_server

AS_OF = date(2026, 11, 15)


#: Session-scoped fixtures that start something costly (a server process with its data): the
#: tests that use one run on the same xdist worker, so the suite builds it once, not once per
#: worker (pytest_collection_modifyitems below).
_COSTLY_SESSION_FIXTURES = {"_scene"}


def pytest_configure(config: pytest.Config) -> None:
    """Each xdist worker (and a plain run) gets its own home folders: no test reads or writes the
    user's data, configuration or Qt settings, nor another worker's (platformdirs and QSettings
    follow the XDG variables). Set before any test imports the settings."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if os.environ.get("GUICHET_TEST_HOME_SET") == worker:
        return
    home = Path(tempfile.mkdtemp(prefix=f"guichet-test-home-{worker}-"))
    for variable, folder in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                             ("XDG_CACHE_HOME", "cache"), ("XDG_STATE_HOME", "state")):
        (home / folder).mkdir()
        os.environ[variable] = str(home / folder)
    os.environ["GUICHET_TEST_HOME_SET"] = worker
    if os.environ.get("PYTEST_XDIST_WORKER"):
        config.pluginmanager.register(_GroupingCheck(), "guichet-grouping-check")
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` (./guichet test), the tests of a module that share a module- or
    class-scoped fixture run on one worker, and so do the users of a costly session fixture;
    the others are spread test by test."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        group = None
        for name, definitions in info.name2fixturedefs.items():
            scope = definitions[-1].scope
            if name in _COSTLY_SESSION_FIXTURES:
                group = name
                break
            if scope in ("module", "class", "package") and group is None:
                group = item.nodeid.split("::", 1)[0]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


class _GroupingCheck:
    """Stops a worker whose grouped tests were not grouped (a pytest and a pytest-xdist that no
    longer agree): their module fixtures would be built on both workers and a test that reads
    what an earlier one made would fail depending on where it ran."""

    @pytest.hookimpl(trylast=True)  # after xdist's own, which suffixes a grouped test's id
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        if not config.getvalue("loadgroup"):
            return
        for item in items:
            if any(True for _ in item.iter_markers("xdist_group")) and "@" not in item.nodeid:
                raise pytest.UsageError(
                    f"pytest-xdist did not group {item.nodeid}: this pytest and this "
                    "pytest-xdist do not work together (see the pin in pyproject.toml)")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Argon2 at its production cost makes every demo build slow; tests use a cheap setting."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = original


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    return create_engine(pg_server.admin_url(), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The server's administrator URL: the configured server when it answers, else a private
    cluster started for this session (tests/pg_server.py). Without either, a failure in CI and
    a skip elsewhere."""
    try:
        url = pg_server.admin_url()
    except pg_server.NoPostgres as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI: {error}")
        pytest.skip(f"PostgreSQL: {error}")
    yield url
    _forget_demo_databases()
    pg_server.DROPPER.finish()
    pg_server.SERVER.stop()


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str) -> Iterator[str]:
    """A migrated template database; each test copies it (fast) and drops its copy."""
    engine = _pg_admin_engine()
    name = f"guichet_tpl_{uuid.uuid4().hex[:10]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg_server.database_url(name)
    migrated = create_engine(url)
    migrate.upgrade(migrated)
    migrated.dispose()
    yield name
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _pg_copy(template: str) -> Iterator[str]:
    engine = _pg_admin_engine()
    name = f"guichet_t_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    yield pg_server.database_url(name)
    pg_server.DROPPER.drop(name)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    yield from _pg_copy(pg_template)


@pytest.fixture(scope="module")
def module_pg_url(pg_template: str) -> Iterator[str]:
    yield from _pg_copy(pg_template)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite file of its own for each test."""
    path = tmp_path / "desk.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def demo_ctx(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[ServiceContext]:
    """A demo agency of 300 customers shared by the read-only tests of a module."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("module_pg_url")
    database = Database(url)
    make_demo(database, customers=300)
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), central_url="off", demo_customers=0)
    yield ServiceContext(database, load_installation(database, settings))
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", central_url="off", demo_customers=0)


#: Demo agencies already built in this process, by (dialect, customers, currency): the SQLite
#: file or the PostgreSQL template database that holds one.
_DEMO_CACHE: dict[tuple[str, int, str, str], str] = {}


def make_demo(db: Database, customers: int = 0, currency: str = "XOF") -> None:
    """The demo agency 101 in ``db`` (migrated, empty). Built once per test process for each size
    and currency, then copied: a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on
    PostgreSQL. The demo is deterministic (same seed and date, same ids): a copy holds the rows a
    new build would."""
    key = (db.dialect, customers, currency, _schema(db))
    cached = _DEMO_CACHE.get(key)
    if cached is not None and _copy_demo(db, cached):
        return
    build_demo(db, agency_code="101", currency=Currency.of(currency), customers=customers, as_of=AS_OF)
    _keep_demo(db, key)


def _schema(db: Database) -> str:
    """The tables of ``db`` and its migration revisions: a desk's and a central's database (both
    schemas) never share a copy."""
    with db.engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        revisions = sorted(str(v) for name in tables if name.startswith("alembic_version")
                           for v in connection.execute(text(f"SELECT * FROM {name}")).scalars())
    return ",".join(tables) + "|" + ",".join(revisions)


def _sqlite_path(db: Database) -> Path | None:
    name = db.engine.url.database
    return Path(name) if db.dialect == "sqlite" and name and name != ":memory:" else None


def _copy_demo(db: Database, cached: str) -> bool:
    db.dispose()
    path = _sqlite_path(db)
    if path is not None:
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copy(cached, path)
        return True
    if db.dialect != "postgresql":
        return False
    name = db.engine.url.database
    engine = _pg_admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{cached}"'))
    finally:
        engine.dispose()
    return True


def _keep_demo(db: Database, key: tuple[str, int, str, str]) -> None:
    db.dispose()
    path = _sqlite_path(db)
    if path is not None:
        kept = Path(tempfile.mkdtemp(prefix="guichet-demo-")) / path.name
        shutil.copy(path, kept)
        _DEMO_CACHE[key] = str(kept)
    elif db.dialect == "postgresql":
        name = f"guichet_demo_{uuid.uuid4().hex[:10]}"
        engine = _pg_admin_engine()
        try:
            with engine.connect() as connection:
                connection.execute(text(
                    f'CREATE DATABASE "{name}" TEMPLATE "{db.engine.url.database}"'))
        except Exception:  # noqa: BLE001 - another connection is open on it: no copy this time
            return
        finally:
            engine.dispose()
        _DEMO_CACHE[key] = name


@pytest.fixture(autouse=True, scope="session")
def _drop_demo_copies() -> Iterator[None]:
    yield
    for key, kept in list(_DEMO_CACHE.items()):
        if key[0] == "sqlite":
            shutil.rmtree(Path(kept).parent, ignore_errors=True)
            del _DEMO_CACHE[key]


def _forget_demo_databases() -> None:
    """The PostgreSQL demo copies go with the tests' databases (before the server stops)."""
    for key, kept in list(_DEMO_CACHE.items()):
        if key[0] == "postgresql":
            pg_server.DROPPER.drop(kept)
            del _DEMO_CACHE[key]


@pytest.fixture
def ctx(db: Database, settings: Settings) -> ServiceContext:
    """A desk with the demo reference data (agency 101, users, tariffs) and no customers."""
    make_demo(db)
    return ServiceContext(db, load_installation(db, settings))
