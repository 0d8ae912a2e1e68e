"""Where this desk stands with central, in ``sync_state`` (read and written inside the caller's
transaction, so that a page of changes and its cursor commit together)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SyncState

CURSOR = "download.cursor"
ANCHOR = "download.anchor"
GENERATION = "central.generation"
ADOPTED = "central.adopted"
LAST_ACKED = "upload.last_acked"


def get(session: Session, key: str, default: str = "") -> str:
    value = session.scalar(select(SyncState.value).where(SyncState.key == key))
    return default if value is None else value


def put(session: Session, key: str, value: str) -> None:
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def cursor(session: Session) -> int:
    return int(get(session, CURSOR, "0"))


def put_cursor(session: Session, number: int, anchor: str) -> None:
    put(session, CURSOR, str(number))
    put(session, ANCHOR, anchor)


_PIECE = 200  # sync_state.value is a String(200): PostgreSQL refuses longer texts


def put_long(session: Session, key: str, value: str) -> None:
    """A text of any length, kept in pieces ``key#0``, ``key#1``… (their count under ``key``)."""
    pieces = [value[start:start + _PIECE] for start in range(0, len(value), _PIECE)]
    before = int(get(session, key, "0") or 0)
    put(session, key, str(len(pieces)))
    for number, piece in enumerate(pieces):
        put(session, f"{key}#{number}", piece)
    for number in range(len(pieces), before):
        found = session.get(SyncState, f"{key}#{number}")
        if found is not None:
            session.delete(found)


def get_long(session: Session, key: str, default: str = "") -> str:
    count = get(session, key)
    if not count:
        return default
    return "".join(get(session, f"{key}#{number}") for number in range(int(count)))
