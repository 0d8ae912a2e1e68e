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
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, inspect, select, update
from sqlalchemy.orm import Session, SessionTransaction

import app.models.capture  # noqa: F401  (its before_flush must run before ours)
from app.models import SyncJournalEntry
from app.models.ids import utcnow
from central.billing.loading import among
from central.copying import FastLoader
from central.models import CommitCounter, SyncCommit

#: ``{transaction id: origin agency id or None}`` of the current database transaction.
_USED = "sync_transactions"
_STAMPED = "sync_stamped"
_numbered: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
#: From this many transactions numbered at once, their rows go by ``COPY`` on PostgreSQL.
_COPY_FROM = 50


@cache
def _commit_loader() -> FastLoader:
    return FastLoader(SyncCommit.__table__, "postgresql")  # type: ignore[arg-type]


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


def number_only(session: Session, transactions: Sequence[uuid.UUID]) -> None:
    """The session's commit numbers these transaction ids only, in this order (a batch of
    sales whose rolled-back savepoints used others: they wrote nothing to number)."""
    session.info[_USED] = dict.fromkeys(transactions)
    session.info.pop("transaction_id", None)


def agencies_of(connection: Connection, transactions: Collection[uuid.UUID]
                ) -> dict[uuid.UUID, uuid.UUID | None]:
    """Per transaction id that wrote journal entries, the one agency all of them belong to
    (None: shared rows, or several agencies')."""
    if not transactions:
        return {}
    j = SyncJournalEntry.__table__.c
    found: dict[uuid.UUID, set[uuid.UUID | None]] = defaultdict(set)
    for tx, agency in connection.execute(
            select(j.transaction_id, j.agency_id)
            .where(among(connection, j.transaction_id, list(transactions))).distinct()):
        found[tx].add(agency)
    return {tx: next(iter(agencies)) if len(agencies) == 1 else None
            for tx, agencies in found.items()}


def stamp(connection: Connection,
          transactions: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
          agencies: Mapping[uuid.UUID, uuid.UUID | None] | None = None) -> list[int]:
    """Numbers these transactions, in order: call it last before the commit. ``agencies``
    (``agencies_of``) is looked up when not given, for the transactions without origin (the
    others are never downloaded)."""
    if not transactions:
        return []
    if agencies is None:
        agencies = agencies_of(connection, [tx for tx, origin in transactions if origin is None])
    counter = CommitCounter.__table__.c
    last = int(connection.execute(
        update(CommitCounter).where(counter.id == 1)
        .values(last=counter.last + len(transactions)).returning(counter.last)
    ).scalar_one())
    first = last - len(transactions) + 1
    now = utcnow()
    rows = [{"no": first + offset, "transaction_id": tx, "origin_agency_id": origin, "at": now,
             "agency_id": agencies.get(tx) if origin is None else None}
            for offset, (tx, origin) in enumerate(transactions)]
    if len(rows) > _COPY_FROM and connection.dialect.name == "postgresql":
        _commit_loader().load(connection, rows)  # a batch's thousands of desk transactions
    else:
        connection.execute(insert(SyncCommit), rows)
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


def stamp_clause(session: Session) -> tuple[str, dict[str, Any]]:
    """The session's numbering as common table expressions (``sync_counter``, ``sync_numbers``,
    psycopg's ``%(name)s`` parameters) for a PostgreSQL writer that ends with one statement of
    its own sent together with the commit (the vending platform's sale): the counter row is
    then held for that statement and the commit only. Every transaction id the session used
    must have written journal entries. Nothing may be journaled after it; the ``before_commit``
    hook then leaves the session alone."""
    used: dict[uuid.UUID, uuid.UUID | None] = dict(session.info.get(_USED, {}))
    tx = session.info.get("transaction_id")
    if tx is not None:
        used.setdefault(tx, None)
    if not used:
        raise ValueError("nothing to number: the session wrote no journal entry")
    params: dict[str, Any] = {"sync_count": len(used), "sync_at": utcnow()}
    rows = []
    for offset, (transaction, origin) in enumerate(used.items()):
        params[f"sync_tx{offset}"], params[f"sync_origin{offset}"] = transaction, origin
        rows.append(f"({offset}, CAST(%(sync_tx{offset})s AS uuid), "
                    f"CAST(%(sync_origin{offset})s AS uuid))")
    clause = (
        "sync_counter AS (UPDATE sync_commit_counter SET last = last + %(sync_count)s "
        "WHERE id = 1 RETURNING last), "
        "sync_numbers AS (INSERT INTO sync_commit (no, transaction_id, origin_agency_id, at) "
        "SELECT sync_counter.last - %(sync_count)s + 1 + t.o, t.tx, t.origin, %(sync_at)s "
        f"FROM sync_counter, (VALUES {', '.join(rows)}) AS t (o, tx, origin) RETURNING no)")
    session.info[_STAMPED] = True
    return clause, params


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
    written = agencies_of(connection, list(used))
    stamp(connection, [(t, origin) for t, origin in used.items() if t in written], written)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_USED, None)
        session.info.pop(_STAMPED, None)
