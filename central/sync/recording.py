"""How central writes what it applies: the rows keep the versions the desk gave them and are
journaled and audited by hand (the session's capture is off), under a transaction id per desk
transaction marked with the agency as origin; central's own changes made while applying
(merges, conflicts, parked entries, resolutions) go under a separate transaction id without
origin, so the desk downloads them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.models import Synced
from app.models.capture import (
    JOURNAL_ROWS,
    fill_defaults,
    mark_from_server,
    record,
    set_actor,
    set_reason,
)
from app.models.enums import JournalOperation
from app.models.ids import new_id
from app.models.search_index import WITHOUT_INDEX
from central.actors import agency_actor
from central.sync.numbering import use_transaction
from central.sync.tables import BOOKKEEPING, get_value, jsonable, set_value, whole_row

Changes = dict[str, list[Any]]


def prepare_session(session: Session, agency_code: str, reason: str) -> None:
    mark_from_server(session)
    session.info[WITHOUT_INDEX] = True
    session.info[JOURNAL_ROWS] = []
    set_actor(session, agency_actor(agency_code))
    session.info["sync_reason"] = reason


class Recorder:
    """Writes of one desk transaction: as the agency's (echo skipped by its download) or as
    central's (downloaded)."""

    def __init__(self, session: Session, agency_id: uuid.UUID, *, eager: bool = True) -> None:
        self.session = session
        self.agency_id = agency_id
        #: Flush each write at once (a failure then names its entry); otherwise the writes
        #: of a transaction go in one flush, grouped per table.
        self.eager = eager
        self.agency_tx = new_id()
        self.central_tx: uuid.UUID | None = None

    def _as(self, tx: uuid.UUID, origin: uuid.UUID | None) -> None:
        use_transaction(self.session, tx, origin)
        set_reason(self.session, self.session.info.get("sync_reason", ""))

    def as_central(self) -> None:
        if self.central_tx is None:
            self.central_tx = new_id()
        self._as(self.central_tx, None)

    def record(self, obj: Synced, operation: JournalOperation, changes: Changes, base: int,
               new: int, *, central: bool) -> None:
        if central:
            self.as_central()
        else:
            self._as(self.agency_tx, self.agency_id)
        record(self.session, obj, operation, changes, base, new)

    def insert(self, obj: Synced, *, central: bool = False) -> None:
        """Adds a row (its version already set) and journals it as an insert."""
        self.session.add(obj)
        if self.eager:
            self.session.flush()
        else:
            fill_defaults(obj)
        changes = {k: [None, jsonable(v)] for k, v in whole_row(obj).items() if k not in BOOKKEEPING}
        self.record(obj, JournalOperation.INSERT, changes, 0, obj.version, central=central)

    def update(self, obj: Synced, values: dict[str, Any], new_version: int, *,
               central: bool = False, also: Changes | None = None) -> Changes:
        """Sets ``values`` and the version; journals the fields that changed plus ``also``."""
        base = obj.version
        changes: Changes = dict(also or {})
        for column, value in values.items():
            old = get_value(obj, column)
            if old != value:
                changes[column] = [jsonable(old), jsonable(value)]
                set_value(obj, column, value)
        obj.version = new_version
        if self.eager:
            self.session.flush()
        self.record(obj, JournalOperation.UPDATE, changes, base, new_version, central=central)
        return changes

    def delete(self, obj: Synced, new_version: int, *, central: bool = False) -> None:
        changes = {k: [jsonable(v), None] for k, v in whole_row(obj).items()
                   if k not in BOOKKEEPING}
        base = obj.version
        self.session.delete(obj)
        self.session.flush()
        self.record(obj, JournalOperation.DELETE, changes, base, new_version, central=central)

    def resend(self, obj: Synced) -> None:
        """Journals the whole row again as a central insert (a desk that deleted it gets it
        back)."""
        changes = {k: [None, jsonable(v)] for k, v in whole_row(obj).items()
                   if k not in BOOKKEEPING}
        self.record(obj, JournalOperation.INSERT, changes, 0, obj.version, central=True)
