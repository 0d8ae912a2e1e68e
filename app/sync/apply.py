"""Applying central's changes on the desk: one page of commits and its cursor in one
transaction, with the write path's capture off (rows from central are not journaled again).

An entry is applied when it is newer than the row (version), skipped when the desk already has
it; a shared field the desk changed since its last upload keeps the local value (central decides
at the next upload). An entry that cannot be applied is parked with its dependents, and the page
goes on.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.models import SyncJournalEntry, SyncOutboxBatch, SyncParked
from app.models.capture import mark_from_server
from app.models.ownership import Owner, owner_of
from app.models.search_index import refresh_rows, searched_fields
from kernel import wire
from kernel.errors import environment_problem

_BOOKKEEPING = frozenset({"id", "version", "created_at", "updated_at"})


@dataclass
class ApplyCounts:
    applied: int = 0
    skipped: int = 0
    kept_local: int = 0
    parked: int = 0
    #: Rows whose customer's search document is to be written again, per table.
    touched: dict[str, set[uuid.UUID]] = field(default_factory=lambda: defaultdict(set))
    #: Rows applied per table (kept over pages, unlike ``touched``: a big download analyses the
    #: tables it filled).
    per_table: Counter[str] = field(default_factory=Counter)

    def add(self, other: ApplyCounts) -> None:
        self.per_table.update(other.per_table)
        self.applied += other.applied
        self.skipped += other.skipped
        self.kept_local += other.kept_local
        self.parked += other.parked


class CannotApply(Exception):
    pass


_FAILURES = (CannotApply, IntegrityError, StatementError, DBAPIError, KeyError, ValueError)


class DeskApplier:
    """Applies entries on one session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        mark_from_server(session)
        self.counts = ApplyCounts()
        self._parked_rows: set[uuid.UUID] = set(session.scalars(
            select(SyncParked.row_id).where(SyncParked.side == "desk",
                                            SyncParked.status == "parked")
        ))
        self._pending = _pending_local_fields(session)

    def apply_commit(self, commit: dict[str, Any]) -> None:
        entries = _parents_first(commit["entries"])
        for entry in entries:
            blocker = self._blocker(entry)
            if blocker is not None:
                self._park(commit, entries, f"dépend de la ligne en attente {blocker}", blocker)
                return
        savepoint = self.session.begin_nested()
        writer = _CommitWriter(self, commit)
        try:
            writer.run(entries)
            savepoint.commit()
        except _FAILURES as error:
            savepoint.rollback()
            if environment_problem(error) is not None:
                raise  # a lock, a full disk, a lost server: the run fails and is tried again
            self._park(commit, entries, _describe(error), None, self._find_failing(commit, entries))
            return
        writer.count()

    def _find_failing(self, commit: dict[str, Any], entries: list[dict[str, Any]]
                      ) -> dict[str, Any] | None:
        """The entry a failed commit stumbled on: applied again one by one, then undone."""
        savepoint = self.session.begin_nested()
        writer = _CommitWriter(self, commit, one_by_one=True)
        try:
            writer.run(entries)
        except _FAILURES as error:
            if environment_problem(error) is not None:
                raise
            return writer.current
        finally:
            savepoint.rollback()
        return None

    def _apply(self, entry: dict[str, Any], commit: dict[str, Any]) -> None:
        writer = _CommitWriter(self, commit, one_by_one=True)
        writer.run([entry])
        writer.count()

    def _blocker(self, entry: dict[str, Any]) -> uuid.UUID | None:
        row = uuid.UUID(entry["row"])
        if row in self._parked_rows:
            return row
        try:
            tbl = wire.table(entry["table"])
        except KeyError:
            return None
        for column in tbl.columns:
            if column.foreign_keys and column.name in entry["changes"]:
                value = entry["changes"][column.name][1]
                if value is not None and uuid.UUID(value) in self._parked_rows:
                    return uuid.UUID(value)
        return None

    def _park(self, commit: dict[str, Any], entries: list[dict[str, Any]], error: str,
              blocker: uuid.UUID | None, failing: dict[str, Any] | None = None) -> None:
        """Parks a whole commit: the failing entry with its error, the others blocked by it (or
        every entry blocked by the parked row it depends on)."""
        failing = failing or (entries[0] if entries else None)
        first = uuid.UUID(failing["row"]) if failing else None
        for entry in entries:
            row_id = uuid.UUID(entry["row"])
            if blocker is not None:
                reason, blocked_by = error, blocker
            elif entry is failing:
                reason, blocked_by = error, None
            else:
                reason, blocked_by = "même transaction qu'une ligne en attente", first
            self.session.add(SyncParked(
                side="desk", transaction_id=uuid.UUID(commit["tx"]), seq=int(commit["no"]),
                table_name=entry["table"], row_id=row_id, operation=entry["op"],
                entry={**entry, "commit": {k: commit[k] for k in ("no", "tx", "at")}},
                error=reason, blocked_by=blocked_by,
            ))
            self._parked_rows.add(row_id)
            self.counts.parked += 1
        self.session.flush()

    def finish(self) -> ApplyCounts:
        """Refreshes the customer search index for the rows written."""
        refresh_rows(self.session, self.counts.touched)
        counts, self.counts = self.counts, ApplyCounts()
        return counts


class _CommitWriter:
    """Writes one commit's entries: the versions of its rows read in one query per table,
    consecutive inserts of a table sent together, consecutive updates of a table's same
    fields too (a billing commit sets thousands of rows' one field), deletes one by one."""

    def __init__(self, applier: DeskApplier, commit: dict[str, Any], *,
                 one_by_one: bool = False) -> None:
        self.applier = applier
        self.commit = commit
        self.one_by_one = one_by_one
        self.connection = applier.session.connection()
        self.current: dict[str, Any] | None = None
        self.applied: list[tuple[str, uuid.UUID]] = []
        #: Rows whose search document may have changed (inserted, deleted, or a field the
        #: search reads changed).
        self.searched: list[tuple[str, uuid.UUID]] = []
        self.skipped = 0
        self.kept_local = 0
        self._queue: list[dict[str, Any]] = []
        self._queue_key: tuple[str, str, frozenset[str]] | None = None

    def _versions(self, entries: list[dict[str, Any]]) -> dict[tuple[str, uuid.UUID], int]:
        wanted: dict[str, set[uuid.UUID]] = defaultdict(set)
        for entry in entries:
            wanted[entry["table"]].add(uuid.UUID(entry["row"]))
        versions: dict[tuple[str, uuid.UUID], int] = {}
        for name, ids in wanted.items():
            tbl = wire.table(name)
            listed = list(ids)
            for start in range(0, len(listed), 500):
                for row_id, version in self.connection.execute(
                        select(tbl.c.id, tbl.c.version).where(tbl.c.id.in_(listed[start:start + 500]))):
                    versions[(name, row_id)] = version
        return versions

    def _flush(self) -> None:
        if self._queue and self._queue_key is not None:
            kind, name, fields = self._queue_key
            tbl = wire.table(name)
            if kind == "insert":
                self.connection.execute(insert(tbl), self._queue)
            else:
                self.connection.execute(
                    update(tbl).where(tbl.c.id == bindparam("_row_id"))
                    .values({field: bindparam(f"_set_{field}") for field in fields
                             if field != "id"}),
                    [{"_row_id": row["id"], **{f"_set_{k}": v for k, v in row.items()
                                               if k != "id"}} for row in self._queue])
        self._queue, self._queue_key = [], None

    def _enqueue(self, kind: str, name: str, row: dict[str, Any]) -> None:
        """Queues a row to write; a row of another kind, table or set of fields sends the
        queue first (the entries' order is kept)."""
        key = (kind, name, frozenset(row))
        if key != self._queue_key:
            self._flush()
            self._queue_key = key
        self._queue.append(row)

    def run(self, entries: list[dict[str, Any]]) -> None:
        versions = self._versions(entries)
        for entry in entries:
            self.current = entry
            self._one(entry, versions)
            if self.one_by_one:
                self._flush()
        self._flush()

    def _one(self, entry: dict[str, Any], versions: dict[tuple[str, uuid.UUID], int]) -> None:
        tbl = wire.table(entry["table"])
        row_id = uuid.UUID(entry["row"])
        key = (tbl.name, row_id)
        current = versions.get(key)
        moment = datetime.fromisoformat(entry.get("at") or self.commit["at"])
        if entry["op"] == "delete":
            if current is None:
                self.skipped += 1
                return
            self._flush()
            self.connection.execute(delete(tbl).where(tbl.c.id == row_id))
            versions.pop(key, None)
            self.applied.append(key)
            self.searched.append(key)
            return
        if current is not None and current >= entry["new"]:
            self.skipped += 1
            return
        values = {name: wire.from_wire(tbl, name, pair[1])
                  for name, pair in entry["changes"].items() if name not in _BOOKKEEPING}
        unknown = set(values) - set(tbl.c.keys())
        if unknown:
            raise CannotApply(f"champs inconnus de {tbl.name} : {', '.join(sorted(unknown))}")
        if current is None:
            if entry["op"] != "insert":
                raise CannotApply(f"ligne absente de {tbl.name} ({row_id})")
            self._enqueue("insert", tbl.name, {"id": row_id, "version": entry["new"],
                                               "created_at": moment, "updated_at": moment,
                                               **values})
            self.searched.append(key)
        else:
            local = self.applier._pending.get(row_id, set())  # noqa: SLF001
            kept = {name for name in values
                    if name in local and owner_of(tbl.name, name) is not Owner.CENTRAL}
            if kept:
                self.kept_local += 1
            for name in kept:
                values.pop(name)
            if searched_fields(tbl.name, values):
                self.searched.append(key)
            self._enqueue("update", tbl.name, {"id": row_id, "version": entry["new"],
                                               "updated_at": moment, **values})
        versions[key] = entry["new"]
        self.applied.append(key)

    def count(self) -> None:
        counts = self.applier.counts
        counts.applied += len(self.applied)
        counts.skipped += self.skipped
        counts.kept_local += self.kept_local
        for name, _row in self.applied:
            counts.per_table[name] += 1
        for name, row_id in self.searched:
            counts.touched[name].add(row_id)


def _parents_first(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A commit's entries with parent tables first (deletes last, children first): a commit is
    applied whole, so its order inside does not matter to the result, only to the foreign
    keys checked statement by statement."""
    def rank(entry: dict[str, Any]) -> tuple[int, int]:
        try:
            position = wire.table_rank(entry["table"])
        except ValueError:
            position = 0
        return (1, -position) if entry["op"] == "delete" else (0, position)

    return sorted(entries, key=rank)


def _pending_local_fields(session: Session) -> dict[uuid.UUID, set[str]]:
    """Fields the desk changed that central has not acknowledged yet, per row."""
    acked = select(SyncOutboxBatch.number).where(SyncOutboxBatch.acked_at.is_not(None))
    rows = session.execute(
        select(SyncJournalEntry.row_id, SyncJournalEntry.changes).where(
            (SyncJournalEntry.batch_number.is_(None))
            | SyncJournalEntry.batch_number.not_in(acked)
        )
    ).all()
    pending: dict[uuid.UUID, set[str]] = defaultdict(set)
    for row_id, changes in rows:
        pending[row_id].update(changes)
    return pending


def _describe(error: Exception) -> str:
    if isinstance(error, IntegrityError):
        return "contrainte non respectée (ligne parente absente ou doublon) : " + str(
            error.orig).splitlines()[0][:200]
    if isinstance(error, KeyError):
        return f"table ou champ inconnu : {error}"
    return str(error).splitlines()[0][:300]


def retry_parked_on_desk(session: Session) -> tuple[int, int]:
    """Applies again the desk's parked entries a supervisor asked to retry, a transaction at a
    time in their order; returns (applied, still parked)."""
    from app.models.ids import utcnow
    from app.models.sync import ParkedStatus

    rows = session.scalars(
        select(SyncParked).where(SyncParked.side == "desk", SyncParked.status == ParkedStatus.RETRY)
        .order_by(SyncParked.seq, SyncParked.created_at)
    ).all()
    groups: dict[uuid.UUID, list[SyncParked]] = {}
    for row in rows:
        groups.setdefault(row.transaction_id, []).append(row)
    applier = DeskApplier(session)
    applied = still = 0
    for items in groups.values():
        savepoint = session.begin_nested()
        try:
            for item in items:
                applier._apply(item.entry, item.entry["commit"])  # noqa: SLF001
            savepoint.commit()
        except (CannotApply, IntegrityError, StatementError, DBAPIError, KeyError,
                ValueError) as error:
            savepoint.rollback()
            if environment_problem(error) is not None:
                raise
            for position, item in enumerate(items):
                item.status = ParkedStatus.PARKED
                if position == 0:
                    item.error = _describe(error)
            still += len(items)
            continue
        for item in items:
            item.status = ParkedStatus.APPLIED
            item.resolved_at = utcnow()
        applied += len(items)
    applier.finish()
    return applied, still
