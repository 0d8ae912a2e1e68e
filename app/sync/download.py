"""Download: central's changes in commit order, page after page, each page applied with its
cursor in one transaction (a replayed page changes nothing: entries are applied by version)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.models import search_index
from app.models.bulk import analyse
from app.models.database import Database
from app.sync import state
from app.sync.apply import ApplyCounts, DeskApplier
from app.sync.client import CentralClient
from kernel.faults import checkpoint

PAGE_ENTRIES = 2000
#: A download that wrote this many rows into a table is a bulk load: the table is analysed after
#: it (PostgreSQL; autovacuum may be off or late, and stale statistics spoil the search's plans).
ANALYSE_AFTER_ROWS = 10_000


class CentralRestored(Exception):
    """Central's history no longer contains this desk's cursor (restored from a backup)."""


@dataclass
class DownloadReport:
    pages: int = 0
    commits: int = 0
    counts: ApplyCounts | None = None
    cursor: int = 0


def apply_page(session: Session, page: dict) -> ApplyCounts:
    applier = DeskApplier(session)
    for commit in page["commits"]:
        applier.apply_commit(commit)
    if page["commits"]:
        last = page["commits"][-1]
        state.put_cursor(session, int(last["no"]), str(last["tx"]))
    return applier.finish()


def download(db: Database, client: CentralClient, *, dry_run: bool = False,
             progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] = lambda: False,
             limit: int = PAGE_ENTRIES) -> DownloadReport:
    report = DownloadReport(counts=ApplyCounts())
    assert report.counts is not None
    with db.session() as session:
        cursor = state.cursor(session)
    held = db.session() if dry_run else None
    # The next page is asked for while this one is applied (its cursor is known from the page).
    fetcher = ThreadPoolExecutor(1, thread_name_prefix="reception")
    try:
        coming = None if cancelled() else fetcher.submit(client.changes, cursor, limit)
        while coming is not None:
            page = coming.result()
            coming = None
            if not page.get("anchor_ok", True):
                raise CentralRestored()
            following = int(page.get("next") or cursor)
            if page["commits"]:
                following = int(page["commits"][-1]["no"])
            if page.get("more") and not cancelled():
                coming = fetcher.submit(client.changes, following, limit)
            if held is not None:
                report.counts.add(apply_page(held, page))
            else:
                with db.session() as session:
                    report.counts.add(apply_page(session, page))
                    checkpoint("download.applied")
                    session.commit()
                checkpoint("download.committed")
            report.pages += 1
            report.commits += len(page["commits"])
            cursor = following
            if progress:
                progress(cursor, int(page.get("head", cursor)))
    finally:
        fetcher.shutdown(wait=True, cancel_futures=True)
        if held is not None:
            held.rollback()
            held.close()
    report.cursor = cursor
    if held is None:
        analyse_filled(db, report.counts)
    return report


def analyse_filled(db: Database, counts: ApplyCounts) -> None:
    """Planner statistics of the tables a download filled in bulk (and of the search index when
    customers' rows were among them)."""
    tables = [name for name, rows in counts.per_table.items() if rows >= ANALYSE_AFTER_ROWS]
    if not tables:
        return
    if any(name in search_index.SOURCES for name in tables):
        tables.extend(search_index.TABLES)
    with db.engine.begin() as connection:
        analyse(connection, tables)
