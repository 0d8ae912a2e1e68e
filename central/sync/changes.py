"""The download: an agency's changes in commit order, whole commits per page, without the
commits that applied its own uploads unchanged (docs/sync.md §6)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select

from app.models import SyncJournalEntry, User
from app.models.enums import JournalOperation
from central.models import SyncCommit
from central.sync.entries import entry_to_wire, fill_binary, journal_columns
from central.sync.numbering import anchor_of, head


def _travels(j: Any) -> Any:
    """A head-office user's entries (password hash included) go only to the desks where the
    user signs in: a roaming user's go everywhere, the others' nowhere (``wire.scope``)."""
    u = User.__table__.c
    return or_(j.table_name != "app_user", j.agency_id.is_not(None),
               j.operation == JournalOperation.DELETE,
               exists().where(u.id == j.row_id, u.roaming.is_(True), u.desk_only.is_(False)))


def _query(agency_id: uuid.UUID, after: int, upto: int) -> Any:
    j = SyncJournalEntry.__table__.c
    c = SyncCommit.__table__.c
    return (
        select(c.no, c.transaction_id.label("tx"), c.at.label("committed_at"), *journal_columns())
        .select_from(SyncCommit.__table__.join(
            SyncJournalEntry.__table__, j.transaction_id == c.transaction_id))
        # A commit with an origin applied that agency's upload unchanged: it holds only that
        # agency's rows (``recording.Recorder``), which its own desk has and no other agency
        # may read, so no desk downloads it. Leaving them out at once spares, on a night of
        # forty agencies, a journal lookup for each of the millions of commits of the others.
        .where(c.no > after, c.no <= upto, c.origin_agency_id.is_(None),
               or_(j.agency_id == agency_id, and_(j.agency_id.is_(None), _travels(j))))
        .order_by(c.no, j.seq)
    )


def anchor_ok(connection: Connection, cursor: int | None, anchor: str | None) -> bool:
    """Whether the commit numbered ``cursor`` is the transaction ``anchor`` (a restored central
    no longer has it, or has another under that number)."""
    if not cursor:
        return True
    found = anchor_of(connection, cursor)
    if found is None:
        return False
    return anchor is None or str(found) == anchor


def changes_after(connection: Connection, agency_id: uuid.UUID, after: int, limit: int,
                  anchor: str | None = None) -> dict[str, Any]:
    top = head(connection)
    rows = list(connection.execute(_query(agency_id, after, top).limit(limit + 1)).all())
    more = len(rows) > limit
    if more:
        last_no = rows[limit - 1].no
        rest = list(connection.execute(_query(agency_id, last_no - 1, last_no)).all())
        rows = [r for r in rows[:limit] if r.no < last_no] + rest
        more = connection.execute(_query(agency_id, last_no, top).limit(1)).first() is not None
    commits: list[dict[str, Any]] = []
    for row in rows:
        if not commits or commits[-1]["no"] != row.no:
            commits.append({"no": row.no, "tx": str(row.tx),
                            "at": row.committed_at.isoformat(), "entries": []})
        commits[-1]["entries"].append(entry_to_wire(row, row.tx))
    fill_binary(connection, [e for c in commits for e in c["entries"]])
    following = commits[-1]["no"] if more else max(top, after)
    return {"after": after, "anchor_ok": anchor_ok(connection, after, anchor), "head": top,
            "commits": commits, "next": following, "more": more}
