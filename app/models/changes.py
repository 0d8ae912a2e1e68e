"""What a piece of work changed in the database, so that the screens showing it refresh.

A session event notes the rows each flush writes (table, id, and the rows they hang from:
a payment touches its account, a reading its meter); a commit hands them to the collector of
the work in progress, a rollback forgets them. The views' runner opens a collector around each
background job and announces the result when the job succeeds. Outside a collector (central,
the command line) the event does nothing.

Bulk Core statements (demo data, bootstrap, the journal itself) are not seen: work that writes
that way says so with :func:`note_everything` (the synchronisation does, at the end of a run).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

#: Business entity kind of a table, where it differs from the table's name.
KINDS: dict[str, str] = {
    "app_user": "user",
    "sign_in_throttle": "user",
    "service_connection": "connection",
    "meter_reading": "reading",
    "intervention_request": "intervention",
    "intervention_event": "intervention",
    "intervention_line": "intervention",
    "intervention_attachment": "intervention",
    "technician_team": "technician",
    "technician_absence": "technician",
}
#: Written with every change, never what a screen shows.
_UNANNOUNCED = frozenset({"audit_entry", "sync_journal", "number_series"})
#: Foreign keys naming the entity a row belongs to: a write to the row touches that one too.
PARENTS: dict[str, str] = {
    "customer_id": "customer",
    "owner_customer_id": "customer",
    "account_id": "account",
    "premise_id": "premise",
    "billing_premise_id": "premise",
    "connection_id": "connection",
    "meter_id": "meter",
    "contract_id": "contract",
    "invoice_id": "invoice",
    "request_id": "intervention",
    "technician_id": "technician",
}


@dataclass(frozen=True)
class Changes:
    """Entity kind → ids of the rows written (a kind may be present with no ids for rows whose
    key is not a UUID). ``everything``: so much changed that every screen should reload."""

    rows: Mapping[str, frozenset[uuid.UUID]] = field(default_factory=dict)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.rows)

    def ids(self, kind: str) -> frozenset[uuid.UUID]:
        return self.rows.get(kind, frozenset())

    def touches(self, kind: str, ids: Iterable[uuid.UUID] | None = None) -> bool:
        """Whether rows of this kind changed (among ``ids`` when given)."""
        if self.everything:
            return True
        if kind not in self.rows:
            return False
        return ids is None or not self.rows[kind].isdisjoint(ids)

    def touches_any(self, kinds: Iterable[str]) -> bool:
        return any(self.touches(kind) for kind in kinds)


EVERYTHING = Changes(everything=True)


class Collector:
    """The rows committed by one piece of work, across its transactions."""

    def __init__(self) -> None:
        self._rows: dict[str, set[uuid.UUID]] = {}
        self.everything = False

    def add(self, pending: Mapping[str, set[uuid.UUID]]) -> None:
        for kind, ids in pending.items():
            self._rows.setdefault(kind, set()).update(ids)

    def changes(self) -> Changes:
        return Changes(
            {kind: frozenset(ids) for kind, ids in self._rows.items()}, self.everything
        )


_current: ContextVar[Collector | None] = ContextVar("guichet_changes", default=None)
_PENDING = "changes_pending"


@contextmanager
def collecting() -> Iterator[Collector]:
    """Collects what the transactions committed inside the block (in this thread) wrote."""
    collector = Collector()
    token = _current.set(collector)
    try:
        yield collector
    finally:
        _current.reset(token)


def note_everything() -> None:
    """The work in progress changed more than its ORM rows show (bulk writes, a synchronisation)."""
    collector = _current.get()
    if collector is not None:
        collector.everything = True


def _note(pending: dict[str, set[uuid.UUID]], obj: Any) -> None:
    state = inspect(obj)
    table = getattr(state.mapper.local_table, "name", None)
    if table is None or table in _UNANNOUNCED:
        return
    kind = KINDS.get(table, table)
    ids = pending.setdefault(kind, set())
    row_id = getattr(obj, "id", None)
    if isinstance(row_id, uuid.UUID):
        ids.add(row_id)
    for attribute, parent in PARENTS.items():
        value = state.dict.get(attribute)
        if isinstance(value, uuid.UUID):
            pending.setdefault(parent, set()).add(value)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: Any) -> None:
    if _current.get() is None:
        return
    pending: dict[str, set[uuid.UUID]] = session.info.setdefault(_PENDING, {})
    for obj in chain(session.new, session.deleted):
        _note(pending, obj)
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            _note(pending, obj)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    collector = _current.get()
    if pending and collector is not None:
        collector.add(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
