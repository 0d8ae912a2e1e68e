"""Bootstrap of a new or damaged desk: the agency's rows from central loaded into a database
built aside, page after page (an interruption resumes where it stopped), brought up to date by
the changes after the snapshot's cursor, then swapped in whole: nobody sees half an agency.

Rows read while central keeps changing are newer than some of the changes replayed after the
snapshot's cursor; applying by version makes the replay idempotent, so the result is the
consistent state at the last page's cursor.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.models import InstallationSetting, search_index
from app.models.bulk import analyse, create_indexes, drop_secondary_indexes, send_stored
from app.models.database import Database, make_engine
from app.models.ids import utcnow
from app.sync import state
from app.sync.client import CentralClient
from app.sync.download import download
from kernel import migrate, wire
from kernel.errors import EnvironmentProblem
from kernel.faults import checkpoint
from kernel.numbering import cover_held

PAGE_ROWS = 20000
_TABLE = "bootstrap.table"
_AFTER = "bootstrap.after"
_DONE = "bootstrap.loaded"
_INDEXES = "bootstrap.indexes"
ASIDE_SUFFIX = ".amorcage"


def aside_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(database=f"{parsed.database}{ASIDE_SUFFIX}").render_as_string(False)
    return parsed.set(database=f"{parsed.database}_amorcage").render_as_string(False)


def _ensure_pg_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": parsed.database})
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def build_aside(db: Database, client: CentralClient, *, agency_code: str,
                progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] = lambda: False,
                loaded: Callable[[int], None] = lambda rows: None) -> Database | None:
    """Loads (or goes on loading) the aside database; None when cancelled before the end.
    ``loaded(rows)`` is told each page's row count once it is committed. The agency's number
    series are moved past the numbers loaded (``agency_code``'s counters).

    The aside is nobody's database yet, so it is filled the fast way: secondary indexes dropped
    at the start and built once at the end (their DDL kept in ``sync_state`` so a resumed load
    still builds them), foreign keys not checked row by row on SQLite (central sends consistent
    rows; a child read before a parent that arrived later is completed by the replay), and the
    next page fetched while this one is written."""
    url = aside_url(db.url)
    if make_url(url).get_backend_name() != "sqlite":
        _ensure_pg_database(url)
    aside = Database(url)
    migrate.upgrade(aside.engine)
    tables = list(wire.synced_tables())
    with aside.session() as session:
        if not state.get(session, state.CURSOR):
            snapshot = client.snapshot()
            state.put_cursor(session, int(snapshot["cursor"]), str(snapshot.get("anchor") or ""))
            _copy_installation(db, session)
            dropped = drop_secondary_indexes(session.connection(), [t.name for t in tables])
            state.put_long(session, _INDEXES, json.dumps(dropped))
            session.commit()
    loader = _loading_engine(url)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="amorcage") as fetcher:
            for index, tbl in enumerate(tables):
                if not _load_table(aside, loader, client, fetcher, tbl, cancelled, loaded):
                    aside.engine.dispose()
                    return None
                if progress:
                    progress(index + 1, len(tables))
    finally:
        loader.dispose()
    with aside.session() as session:
        create_indexes(session.connection(), json.loads(state.get_long(session, _INDEXES, "[]")))
        state.put_long(session, _INDEXES, "[]")
        session.commit()
    download(aside, client, cancelled=cancelled)
    checkpoint("bootstrap.loaded")
    with aside.session() as session:
        search_index.rebuild(session.connection(), session)
        # The counters are not synchronised: rebuilt from the highest numbers the agency holds.
        cover_held(session, agency_code)
        session.commit()
    with aside.engine.begin() as connection:
        analyse(connection)
    return aside


def _loading_engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _bulk(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()

    return engine


def _load_table(aside: Database, loader: Engine, client: CentralClient,
                fetcher: ThreadPoolExecutor, tbl: Table, cancelled: Callable[[], bool],
                loaded: Callable[[int], None]) -> bool:
    """Every page of one table (from where an interrupted load stopped); False when cancelled."""
    with aside.session() as session:
        if state.get_long(session, _DONE).split(",").count(tbl.name):
            return True
        after = state.get(session, _AFTER) if state.get(session, _TABLE) == tbl.name else ""
    names = [c.name for c in tbl.columns]
    converters = wire.stored_loader(tbl, aside.engine.dialect.name)
    coming: Future[dict[str, Any]] = fetcher.submit(
        client.rows, tbl.name, after or None, PAGE_ROWS, stored=True)
    while True:
        if cancelled():
            coming.cancel()
            return False
        page = coming.result()
        after = page.get("next_after") or ""
        if after:
            coming = fetcher.submit(client.rows, tbl.name, after, PAGE_ROWS, stored=True)
        with loader.begin() as connection:
            if page["rows"]:
                if page["columns"] != names:
                    raise EnvironmentProblem(
                        f"Amorçage impossible : la table {tbl.name} du serveur central n'a "
                        "pas les mêmes colonnes que ce poste (versions différentes).")
                send_stored(connection, tbl.name, names,
                            wire.stored_tuples(converters, page["rows"]))
            with Session(connection) as session:
                state.put(session, _TABLE, tbl.name)
                state.put(session, _AFTER, after)
                if not after:
                    done = [n for n in state.get_long(session, _DONE).split(",") if n]
                    state.put_long(session, _DONE, ",".join([*done, tbl.name]))
                session.flush()
        loaded(len(page["rows"]))
        checkpoint("bootstrap.page")
        if not after:
            return True


def _copy_installation(db: Database, aside_session: object) -> None:
    with db.session() as session:
        settings = [(s.key, s.value) for s in session.scalars(select(InstallationSetting))]
    for key, value in settings:
        aside_session.merge(InstallationSetting(key=key, value=value))  # type: ignore[attr-defined]


def swap_in(db: Database, aside: Database) -> Path | str:
    """Puts the aside database in the desk's place; returns where the old one was kept."""
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    aside.engine.dispose()
    db.engine.dispose()
    parsed = make_url(db.url)
    if parsed.get_backend_name() == "sqlite":
        _checkpoint(make_url(aside.url).database or "")
        current = Path(parsed.database or "")
        kept = current.with_name(f"{current.name}.avant-amorcage-{stamp}")
        _checkpoint(str(current))
        if current.exists():
            os.replace(current, kept)
        for suffix in ("-wal", "-shm"):
            Path(f"{current}{suffix}").unlink(missing_ok=True)
        os.replace(make_url(aside.url).database or "", current)
        return kept
    kept_name = f"{parsed.database}_avant_amorcage_{stamp.replace('-', '_')}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            busy = connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": parsed.database})
            if busy:
                raise EnvironmentProblem(
                    "Amorçage terminé mais non installé : fermez Guichet sur les autres postes "
                    "de l'agence puis relancez la synchronisation.")
            connection.exec_driver_sql(
                f'ALTER DATABASE "{parsed.database}" RENAME TO "{kept_name}"')
            connection.exec_driver_sql(
                f'ALTER DATABASE "{make_url(aside.url).database}" RENAME TO "{parsed.database}"')
    finally:
        admin.dispose()
    return kept_name


def _checkpoint(path: str) -> None:
    if not path or not Path(path).exists():
        return
    engine: Engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    finally:
        engine.dispose()


def needs_bootstrap(db: Database, agency_id: uuid.UUID) -> bool:
    """A desk that has never received anything and holds no customer of its agency."""
    from app.models import Customer

    with db.session() as session:
        if state.cursor(session) > 0:
            return False
        return session.scalar(select(Customer.id).where(Customer.agency_id == agency_id)
                              .limit(1)) is None
