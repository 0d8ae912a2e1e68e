"""Planner statistics of the tables a night grows (docs/central.md, "The night of a country").

Forty agencies' uploads add millions of rows to the journal, the audit trail, the commits and
the day's readings and payments within minutes; autovacuum may be off or late, and the
billing that closes each upload plans its queries on those tables. After a batch is
committed, a table whose rows changed since its last ``ANALYZE`` by more than a fifth of its
size (and at least ``_MIN_CHANGED`` rows) is analysed again: a few dozen times over a night
that multiplies a table's size, each a sample of the table, not a scan. One process analyses
at a time and never waits for another one's ``ANALYZE`` (the batches go on meanwhile)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from sqlalchemy.exc import SQLAlchemyError

from app.models.database import Database

_log = logging.getLogger(__name__)

#: Tables every upload batch writes besides those of its entries.
BOOKKEEPING = ("sync_journal", "audit_entry", "sync_commit", "sync_batch", "account")
_MIN_CHANGED = 10_000
_SHARE = 0.2
#: ``pg_try_advisory_lock`` key of the analysis (the workers of one server share it).
_LOCK_KEY = 0x5A_22_57A7
_busy = threading.Lock()

_STALE = (
    "SELECT s.relname FROM pg_stat_user_tables AS s JOIN pg_class AS c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() AND s.relname = ANY(%(tables)s) "
    "AND s.n_mod_since_analyze >= %(least)s "
    "AND s.n_mod_since_analyze >= %(share)s * greatest(c.reltuples, 0) ORDER BY s.relname")


def stale(db: Database, tables: Iterable[str], least: int = _MIN_CHANGED) -> list[str]:
    """The tables among ``tables`` whose statistics lag their rows (PostgreSQL only): at
    least ``least`` rows changed since the last analysis, and a fifth of the table."""
    if db.dialect != "postgresql":
        return []
    with db.engine.connect() as connection:
        return list(connection.exec_driver_sql(_STALE, {
            "tables": sorted(set(tables)), "least": least, "share": _SHARE}).scalars())


def refresh(db: Database, tables: Iterable[str], least: int = _MIN_CHANGED) -> list[str]:
    """Analyses the stale ones among ``tables``; returns those analysed (none when another
    thread or worker is analysing: its turn comes at a later batch). A failure is logged,
    never raised: the batch is committed, and statistics are a planner's help."""
    if db.dialect != "postgresql" or not _busy.acquire(blocking=False):
        return []
    try:
        return _analyse(db, tables, least)
    except SQLAlchemyError as error:
        _log.warning("statistics not refreshed: %s", error)
        return []
    finally:
        _busy.release()


def _analyse(db: Database, tables: Iterable[str], least: int) -> list[str]:
    names = stale(db, tables, least)
    if not names:
        return []
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        if not connection.exec_driver_sql("SELECT pg_try_advisory_lock(%(key)s)",
                                          {"key": _LOCK_KEY}).scalar_one():
            return []
        try:
            for name in names:
                connection.exec_driver_sql(f'ANALYZE "{name}"')
        finally:
            connection.exec_driver_sql("SELECT pg_advisory_unlock(%(key)s)",
                                       {"key": _LOCK_KEY})
    return names
