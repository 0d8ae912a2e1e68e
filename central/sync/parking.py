"""Parked entries: a desk transaction that could not be applied waits whole, with its error,
and so does every later transaction touching one of its rows or pointing at one of them
(docs/sync.md, "Parking"). They are retried or discarded when a desk says so."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SyncParked
from app.models.ids import utcnow
from app.models.sync import ParkedStatus
from central.sync.recording import Recorder
from central.sync.tables import UnknownTable, parent_columns

WAITING = (ParkedStatus.PARKED, ParkedStatus.RETRY)


class ParkError(Exception):
    """An entry that cannot be applied; its message (French) is kept with it."""


class Refusal(Exception):
    """An entry that writes what its agency may not write: refused, nothing of it applied."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def check_answer(parked: SyncParked, values: dict[str, Any]) -> None:
    """A supervisor's decision on an entry central parked: only an entry still waiting here
    may be retried or dropped (``Refusal`` otherwise)."""
    if "status" not in values:
        return
    asked = values["status"]
    if parked.side != "central":
        raise Refusal("ligne en attente qui n'est pas tenue par le central")
    if parked.status is not ParkedStatus.PARKED:
        raise Refusal("ligne en attente déjà traitée au central")
    if asked not in (ParkedStatus.RETRY, ParkedStatus.DISCARDED):
        raise Refusal("décision inconnue pour une ligne en attente : réessayer ou abandonner")


class ParkedIndex:
    """``{row id: [(seq, parked entry id)]}`` of an agency's waiting entries."""

    def __init__(self, session: Session, agency_id: uuid.UUID) -> None:
        self.rows: dict[uuid.UUID, list[tuple[int, uuid.UUID]]] = {}
        for row_id, seq, parked_id in session.execute(
            select(SyncParked.row_id, SyncParked.seq, SyncParked.id).where(
                SyncParked.agency_id == agency_id, SyncParked.side == "central",
                SyncParked.status.in_(WAITING)).order_by(SyncParked.seq)
        ):
            self.add(row_id, seq, parked_id)

    def add(self, row_id: uuid.UUID, seq: int, parked_id: uuid.UUID) -> None:
        self.rows.setdefault(row_id, []).append((seq, parked_id))

    def blocker(self, entries: list[dict[str, Any]], before: int | None = None
                ) -> uuid.UUID | None:
        """The parked entry one of these entries depends on (same row, or a parent); with
        ``before``, only entries parked before that desk order count (a retried transaction
        does not wait for what waits for it)."""
        for entry in entries:
            found = self._parked(entry.get("row"), before)
            if found is not None:
                return found
            try:
                parents = parent_columns(entry["table"])
            except (UnknownTable, KeyError):
                continue
            for column in parents:
                pair = entry.get("changes", {}).get(column)
                if isinstance(pair, list) and len(pair) == 2:
                    found = self._parked(pair[1], before)
                    if found is not None:
                        return found
        return None

    def _parked(self, value: Any, before: int | None) -> uuid.UUID | None:
        key = _uuid(value)
        for seq, parked_id in self.rows.get(key, []) if key is not None else []:
            if before is None or seq < before:
                return parked_id
        return None

    def forget(self, parked: list[SyncParked]) -> None:
        ids = {item.id for item in parked}
        for item in parked:
            kept = [pair for pair in self.rows.get(item.row_id, []) if pair[1] not in ids]
            if kept:
                self.rows[item.row_id] = kept
            else:
                self.rows.pop(item.row_id, None)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def park(recorder: Recorder, index: ParkedIndex, entries: list[dict[str, Any]], failing: int,
         error: str, batch_number: int | None, blocked_by: uuid.UUID | None = None
         ) -> list[SyncParked]:
    """One parked row per entry: the failing one with its error, the others blocked by it (or
    all blocked by ``blocked_by``, the entry they wait for)."""
    order = [failing] + [i for i in range(len(entries)) if i != failing]
    parked: dict[int, SyncParked] = {}
    for position in order:
        entry = entries[position]
        first = position == failing
        row = SyncParked(
            agency_id=recorder.agency_id, side="central", batch_number=batch_number,
            transaction_id=_uuid(entry.get("tx")) or uuid.UUID(int=0),
            seq=int(entry.get("seq") or 0), table_name=str(entry.get("table"))[:40],
            row_id=_uuid(entry.get("row")) or uuid.UUID(int=0),
            operation=str(entry.get("op"))[:10], entry=entry,
            error=error if first or blocked_by is not None else "",
            blocked_by=blocked_by if blocked_by is not None or first else parked[failing].id,
            status=ParkedStatus.PARKED, version=1,
        )
        recorder.insert(row, central=True)
        parked[position] = row
        index.add(row.row_id, row.seq, row.id)
    return [parked[i] for i in range(len(entries))]


def waiting_group(session: Session, agency_id: uuid.UUID,
                  transaction_id: uuid.UUID) -> list[SyncParked]:
    return list(session.scalars(
        select(SyncParked).where(SyncParked.agency_id == agency_id,
                                 SyncParked.side == "central",
                                 SyncParked.transaction_id == transaction_id,
                                 SyncParked.status.in_(WAITING))
        .order_by(SyncParked.seq)
    ))


def dependents(session: Session, agency_id: uuid.UUID, blockers: list[uuid.UUID]
               ) -> list[uuid.UUID]:
    """Transactions parked waiting for one of ``blockers``."""
    if not blockers:
        return []
    return list(dict.fromkeys(session.scalars(
        select(SyncParked.transaction_id).where(
            SyncParked.agency_id == agency_id, SyncParked.blocked_by.in_(blockers),
            SyncParked.status == ParkedStatus.PARKED)
        .order_by(SyncParked.seq)
    )))


def settle(recorder: Recorder, group: list[SyncParked], status: ParkedStatus,
           errors: dict[uuid.UUID, str] | None = None) -> None:
    """Moves a group to ``status`` as central changes (the desk downloads them)."""
    now = utcnow()
    for item in group:
        values: dict[str, Any] = {"status": status}
        if status is not ParkedStatus.PARKED:
            values["resolved_at"] = now
        if errors is not None:
            values["error"] = errors.get(item.id, "")
        if all(getattr(item, k) == v for k, v in values.items()):
            continue
        recorder.update(item, values, item.version + 1, central=True)
