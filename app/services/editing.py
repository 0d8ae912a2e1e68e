"""Saving an edit made on a screen: the row must still be at the version the agent started from."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.orm import Session

from app.models import Synced
from kernel.errors import STALE_MESSAGE, ConcurrentEditError, NotFoundError

RowT = TypeVar("RowT", bound=Synced)

def get_for_edit(
    session: Session, model: type[RowT], row_id: uuid.UUID, expected_version: int, what: str
) -> RowT:
    """The row, locked for this transaction where the database can, if nobody saved it since."""
    lock = session.get_bind().dialect.name == "postgresql"
    row = session.get(model, row_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"{what} introuvable : elle a peut-être été supprimée.")
    if row.version != expected_version:
        raise ConcurrentEditError(STALE_MESSAGE)
    return row
