"""The download: an agency's changes in commit order, whole commits per page, without the
commits that applied its own uploads unchanged (docs/sync.md §6).

The journal's ``changes`` are read as the JSON text central stored. ``changes_after`` gives a
page as Python values (the bundles); ``changes_body`` writes the same page as the JSON the
server sends, each entry's stored text copied into it as it is, not decoded and encoded again
(a download's biggest cost on a night of forty agencies). Only an entry carrying a binary
field is decoded: it travels with the row's current value (``fill_binary``)."""

from __future__ import annotations

import json
import uuid
from functools import cache
from typing import Any

from sqlalchemy import Connection, Text, and_, cast, exists, or_, select

from app.models import SyncJournalEntry, User
from app.models.enums import JournalOperation
from central.models import SyncCommit
from central.sync.entries import entry_to_wire, fill_binary, journal_columns
from central.sync.numbering import anchor_of, head
from kernel import wire


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
    columns = [cast(j.changes, Text).label("changes") if column.key == "changes" else column
               for column in journal_columns()]
    return (
        select(c.no, c.transaction_id.label("tx"), c.at.label("committed_at"), *columns)
        .select_from(SyncCommit.__table__.join(
            SyncJournalEntry.__table__, j.transaction_id == c.transaction_id))
        # A commit with an origin applied that agency's upload unchanged: it holds only that
        # agency's rows (``recording.Recorder``), which its own desk has and no other agency
        # may read, so no desk downloads it. Leaving them out at once spares, on a night of
        # forty agencies, a journal lookup for each of the millions of commits of the others.
        .where(c.no > after, c.no <= upto, c.origin_agency_id.is_(None),
               # a commit of another agency's rows only is not even opened
               or_(c.agency_id == agency_id, c.agency_id.is_(None)),
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


def _page(connection: Connection, agency_id: uuid.UUID, after: int, limit: int
          ) -> tuple[list[Any], bool, int]:
    """The page's rows (whole commits, ``changes`` as stored text), whether more follow, and
    the head."""
    top = head(connection)
    rows = list(connection.execute(_query(agency_id, after, top).limit(limit + 1)).all())
    more = len(rows) > limit
    if more:
        last_no = rows[limit - 1].no
        rest = list(connection.execute(_query(agency_id, last_no - 1, last_no)).all())
        rows = [r for r in rows[:limit] if r.no < last_no] + rest
        more = connection.execute(_query(agency_id, last_no, top).limit(1)).first() is not None
    return rows, more, top


def _commits(rows: list[Any]) -> list[tuple[Any, list[Any]]]:
    """The rows grouped by commit: (the commit's first row, its rows)."""
    commits: list[tuple[Any, list[Any]]] = []
    for row in rows:
        if not commits or commits[-1][0].no != row.no:
            commits.append((row, []))
        commits[-1][1].append(row)
    return commits


def _decoded(row: Any) -> dict[str, Any]:
    return entry_to_wire(row, row.tx, json.loads(row.changes))


def changes_after(connection: Connection, agency_id: uuid.UUID, after: int, limit: int,
                  anchor: str | None = None) -> dict[str, Any]:
    rows, more, top = _page(connection, agency_id, after, limit)
    commits = [{"no": first.no, "tx": str(first.tx), "at": first.committed_at.isoformat(),
                "entries": [_decoded(row) for row in members]}
               for first, members in _commits(rows)]
    fill_binary(connection, [e for c in commits for e in c["entries"]])
    following = commits[-1]["no"] if more else max(top, after)
    return {"after": after, "anchor_ok": anchor_ok(connection, after, anchor), "head": top,
            "commits": commits, "next": following, "more": more}


@cache
def _binary(table_name: str) -> bool:
    """Whether an entry of this table may carry a binary field (journaled as its size)."""
    try:
        return bool(wire.binary_columns(table_name))
    except KeyError:
        return False


#: JSON as the server's JSON answers write it (compact, UTF-8).
_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def changes_body(connection: Connection, agency_id: uuid.UUID, after: int, limit: int,
                 anchor: str | None = None) -> bytes:
    """The page ``changes_after`` gives, as the JSON body of the answer: the same values once
    parsed, each entry's ``changes`` the text central stored."""
    rows, more, top = _page(connection, agency_id, after, limit)
    decoded = [row for row in rows if row.operation != JournalOperation.DELETE
               and _binary(row.table_name)]
    filled: dict[int, dict[str, Any]] = {}
    if decoded:
        entries = [_decoded(row) for row in decoded]
        fill_binary(connection, entries)
        filled = {entry["seq"]: entry for entry in entries}
    names: dict[str, str] = {}
    parts: list[str] = []
    for first, members in _commits(rows):
        texts = []
        for row in members:
            entry = filled.get(row.seq) if filled else None
            if entry is not None:
                texts.append(_dumps(entry))
                continue
            name = names.get(row.table_name)
            if name is None:  # the table and the operation, as JSON, once per page
                name = names[row.table_name] = _dumps(row.table_name)
            operation = row.operation
            # ``at`` is a timestamp (``wire.to_wire``: its ISO text, nothing to escape)
            texts.append(
                f'{{"seq":{int(row.seq)},"tx":"{row.tx}","table":{name},"row":"{row.row_id}",'
                f'"op":"{_OPERATIONS[operation]}","base":{int(row.base_version)},'
                f'"new":{int(row.new_version)},"at":"{row.at.isoformat()}",'
                f'"schema":{int(row.schema_version)},"changes":{row.changes}}}')
        parts.append(f'{{"no":{int(first.no)},"tx":"{first.tx}",'
                     f'"at":"{first.committed_at.isoformat()}",'
                     f'"entries":[{",".join(texts)}]}}')
    following = int(rows[-1].no) if more else max(top, after)
    return (f'{{"after":{int(after)},'
            f'"anchor_ok":{_dumps(anchor_ok(connection, after, anchor))},"head":{int(top)},'
            f'"commits":[{",".join(parts)}],"next":{following},'
            f'"more":{_dumps(more)}}}').encode()


_OPERATIONS = {operation: operation.value for operation in JournalOperation}
