"""The single numbering point of central's commits (docs/sync.md, "commit number").

Every central transaction that writes journal entries takes the next numbers from the one-row
counter as its last statement: the row lock serialises the tails of writing transactions, so
numbers follow commit order and a reader never sees number n+1 before n. ORM sessions are
stamped by a ``before_commit`` hook (one number per transaction id the capture used, in the
order they were used); connection-level writers call :func:`stamp` themselves.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

import app.models.capture  # noqa: F401  (its before_flush must run before ours)
from app.models import SyncJournalEntry
from app.models.ids import utcnow
from central.models import CommitCounter, SyncCommit

#: ``{transaction id: origin agency id or None}`` of the current database transaction.
_USED = "sync_transactions"
_STAMPED = "sync_stamped"
_numbered: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


def numbered(connection: Connection) -> bool:
    """Whether this database numbers its commits (central's does; a desk's does not)."""
    engine = connection.engine
    known = _numbered.get(engine)
    if known is None:
        known = _numbered[engine] = inspect(connection).has_table(CommitCounter.__tablename__)
    return known


def use_transaction(session: Session, transaction_id: uuid.UUID,
                    origin: uuid.UUID | None = None) -> None:
    """The capture records what is flushed next under ``transaction_id`` (numbered with
    ``origin``: the agency whose upload it applies unchanged, so its download skips it)."""
    session.info["transaction_id"] = transaction_id
    session.info.setdefault(_USED, {})[transaction_id] = origin


def stamp(connection: Connection,
          transactions: Sequence[tuple[uuid.UUID, uuid.UUID | None]]) -> list[int]:
    """Numbers these transactions, in order: call it last before the commit."""
    if not transactions:
        return []
    counter = CommitCounter.__table__.c
    last = int(connection.execute(
        update(CommitCounter).where(counter.id == 1)
        .values(last=counter.last + len(transactions)).returning(counter.last)
    ).scalar_one())
    first = last - len(transactions) + 1
    now = utcnow()
    connection.execute(insert(SyncCommit), [
        {"no": first + offset, "transaction_id": tx, "origin_agency_id": origin, "at": now}
        for offset, (tx, origin) in enumerate(transactions)
    ])
    return list(range(first, last + 1))


def head(connection: Connection) -> int:
    """The last commit number visible to this connection."""
    return int(connection.execute(select(CommitCounter.last).where(CommitCounter.id == 1))
               .scalar_one())


def anchor_of(connection: Connection, number: int) -> uuid.UUID | None:
    return connection.execute(
        select(SyncCommit.transaction_id).where(SyncCommit.no == number)
    ).scalar_one_or_none()


@event.listens_for(Session, "before_flush")
def _note_transaction(session: Session, _context: Any, _instances: Any) -> None:
    tx = session.info.get("transaction_id")
    if tx is not None:
        session.info.setdefault(_USED, {}).setdefault(tx, None)


def stamp_now(session: Session) -> None:
    """Numbers the session's transaction now rather than at its commit: for a writer that
    takes a contended lock of its own after this (the vending platform's receipt series), so
    that its lock is held for the fewest statements. Nothing may be journaled after it."""
    _stamp_session(session)
    session.info[_STAMPED] = True


@event.listens_for(Session, "before_commit")
def _stamp_session(session: Session) -> None:
    if session.in_nested_transaction() or session.info.get(_STAMPED):
        return
    # Flushed first: the capture gives the transaction its id while flushing, so an ORM commit
    # whose changes are still pending is numbered like any other (it used to return here and
    # never reach the change feed).
    session.flush()
    if not session.info.get(_USED) and "transaction_id" not in session.info:
        return
    used: dict[uuid.UUID, uuid.UUID | None] = dict(session.info.get(_USED, {}))
    tx = session.info.get("transaction_id")
    if tx is not None:
        used.setdefault(tx, None)
    connection = session.connection()
    if not used or not numbered(connection):
        return
    written = set(connection.execute(
        select(SyncJournalEntry.transaction_id)
        .where(SyncJournalEntry.transaction_id.in_(list(used))).distinct()
    ).scalars())
    stamp(connection, [(t, origin) for t, origin in used.items() if t in written])


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_USED, None)
        session.info.pop(_STAMPED, None)
