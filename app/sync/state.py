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
