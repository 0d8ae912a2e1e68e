"""The write path's capture: every flush of a synced row also writes its audit entry and its sync
journal entry, in the same transaction, and moves the row version.

It is a session event, so no service can forget it. A session marked ``from_server`` applies rows
received from central: they keep the server's version and are neither audited nor journaled again.
Bulk Core inserts (demo data, bootstrap) do not pass through here by design.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE

from app.models.base import SCHEMA_VERSION, Synced
from app.models.enums import JournalOperation
from app.models.ids import new_id, utcnow
from app.models.journal import AuditEntry, SyncJournalEntry
from app.models.jsonable import to_jsonable

_BOOKKEEPING = frozenset({"version", "created_at", "updated_at"})


@dataclass(frozen=True)
class Actor:
    """Who is writing: recorded on every audit entry."""

    username: str
    user_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None


SYSTEM = Actor(username="système")


#: ``session.info[JOURNAL_ROWS] = []``: journal entries are gathered there and inserted with one
#: statement at the next flush, not as ORM objects (central applying thousands of rows; the
#: journal's key comes from the database, which makes ORM inserts fetch it row by row).
JOURNAL_ROWS = "journal_rows"


def mark_from_server(session: Session) -> None:
    session.info["from_server"] = True


def set_actor(session: Session, actor: Actor) -> None:
    session.info["actor"] = actor


def set_reason(session: Session, reason: str) -> None:
    """A reason recorded on the audit entries of the current transaction (e.g. a restore)."""
    session.info["reason"] = reason


def _transaction_id(session: Session) -> uuid.UUID:
    tx = session.info.get("transaction_id")
    if tx is None:
        tx = session.info["transaction_id"] = new_id()
    return tx


def _column_keys(obj: Synced) -> list[str]:
    return [attr.key for attr in inspect(obj).mapper.column_attrs]


def fill_defaults(obj: Synced) -> None:
    """Give every unset column its scalar default (or NULL) now, so the journal holds the row."""
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        if attr.key in state.dict:
            continue
        column = attr.columns[0]
        default = column.default
        if default is not None and default.is_scalar:
            setattr(obj, attr.key, default.arg)
        elif default is None:
            setattr(obj, attr.key, None)


def _insert_changes(obj: Synced) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _column_keys(obj):
        if key in _BOOKKEEPING or key == "id":
            continue
        value = state.attrs[key].loaded_value
        if value is NO_VALUE:
            continue
        changes[key] = [None, to_jsonable(value)]
    return changes


def _update_changes(obj: Synced) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _column_keys(obj):
        if key in _BOOKKEEPING:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        changes[key] = [to_jsonable(old), to_jsonable(new)]
    return changes


def record(
    session: Session,
    obj: Synced,
    operation: JournalOperation,
    changes: dict[str, Any],
    base_version: int,
    new_version: int,
) -> None:
    """Audits and journals one change. The capture calls it on every flush; central applying an
    agency's rows with the capture off (``from_server``) calls it itself, keeping the versions
    the desk gave them."""
    actor: Actor = session.info.get("actor", SYSTEM)
    tx = _transaction_id(session)
    table = obj.__tablename__  # type: ignore[attr-defined]
    session.add(
        AuditEntry(
            agency_id=obj.agency_id,
            user_id=actor.user_id,
            username=actor.username,
            transaction_id=tx,
            table_name=table,
            row_id=obj.id,
            operation=operation,
            changes=changes,
            reason=session.info.get("reason", ""),
        )
    )
    entry = {
        "transaction_id": tx,
        "at": utcnow(),
        "agency_id": obj.agency_id,
        "table_name": table,
        "row_id": obj.id,
        "operation": operation,
        "base_version": base_version,
        "new_version": new_version,
        "changes": changes,
        "schema_version": SCHEMA_VERSION,
    }
    pending = session.info.get(JOURNAL_ROWS)
    if pending is None:
        session.add(SyncJournalEntry(**entry))
    else:
        pending.append(entry)


def _captured(obj: object) -> bool:
    return isinstance(obj, Synced) and type(obj).__synced__


@event.listens_for(Session, "before_flush")
def _capture(session: Session, _flush_context: Any, _instances: Any) -> None:
    now = utcnow()
    from_server = session.info.get("from_server", False)
    for obj in list(session.new):
        if not _captured(obj):
            continue
        if obj.id is None:
            obj.id = new_id()
        if obj.created_at is None:
            obj.created_at = now
        obj.updated_at = obj.updated_at or now
        if obj.version is None:
            obj.version = 1
        fill_defaults(obj)
        if not from_server:
            record(session, obj, JournalOperation.INSERT, _insert_changes(obj), 0, obj.version)
    for obj in list(session.dirty):
        if not _captured(obj) or not session.is_modified(obj, include_collections=False):
            continue
        if from_server:
            continue
        changes = _update_changes(obj)
        if not changes:
            continue
        base = obj.version
        obj.version = base + 1
        obj.updated_at = now
        record(session, obj, JournalOperation.UPDATE, changes, base, obj.version)
    if from_server:
        return
    for obj in list(session.deleted):
        if not _captured(obj):
            continue
        changes = {
            key: [to_jsonable(getattr(obj, key)), None]
            for key in _column_keys(obj)
            if key not in _BOOKKEEPING and key != "id"
        }
        record(session, obj, JournalOperation.DELETE, changes, obj.version, obj.version + 1)


@event.listens_for(Session, "before_flush")
def _write_gathered_journal(session: Session, _flush_context: Any, _instances: Any) -> None:
    pending = session.info.get(JOURNAL_ROWS)
    if pending:
        session.connection().execute(insert(SyncJournalEntry), list(pending))
        pending.clear()


@event.listens_for(Session, "after_soft_rollback")
def _forget_gathered_journal(session: Session, _previous: Any) -> None:
    pending = session.info.get(JOURNAL_ROWS)
    if pending:
        pending.clear()


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_transaction(session: Session) -> None:
    for key in ("transaction_id", "reason"):
        session.info.pop(key, None)
