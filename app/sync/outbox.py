"""Upload batches: the journal cut into numbered batches that never split a business
transaction, each kept as the exact bytes sent (gzip of the canonical payload) until central
has it, and beyond (a central restored from backup gets them again)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import SyncJournalEntry, SyncOutboxBatch
from app.models.base import SCHEMA_VERSION
from app.models.ids import utcnow
from kernel import wire

BATCH_ENTRIES = 2000


@dataclass(frozen=True)
class Sealed:
    number: int
    rows: int
    sha256: str
    body: bytes


def entry_to_wire(entry: SyncJournalEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "tx": str(entry.transaction_id),
        "table": entry.table_name,
        "row": str(entry.row_id),
        "op": entry.operation.value,
        "base": entry.base_version,
        "new": entry.new_version,
        "at": entry.at.isoformat(),
        "schema": entry.schema_version,
        "changes": entry.changes,
    }


def _fill_binary(session: Session, wired: list[dict[str, Any]]) -> None:
    """The journal keeps ``<n octets>`` for binary columns: the row's bytes go instead."""
    for item in wired:
        binary = wire.binary_columns(item["table"]) & item["changes"].keys()
        if not binary or item["op"] == "delete":
            continue
        tbl = wire.table(item["table"])
        row = session.execute(
            select(*(tbl.c[name] for name in binary)).where(tbl.c.id == uuid.UUID(item["row"]))
        ).mappings().first()
        for name in binary:
            value = None if row is None else row[name]
            item["changes"][name] = [None, wire.to_wire(value)]


def payload(agency_code: str, number: int, kind: str, entries: list[dict[str, Any]]
            ) -> dict[str, Any]:
    return {"agency": agency_code, "number": number, "kind": kind, "protocol": wire.PROTOCOL,
            "schema": SCHEMA_VERSION, "entries": entries}


def pending_entries(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(SyncJournalEntry)
        .where(SyncJournalEntry.batch_number.is_(None))
    ) or 0


def _unbatched_transactions(session: Session, limit: int) -> Iterator[list[SyncJournalEntry]]:
    """Whole transactions of unsent entries, in journal order, about ``limit`` entries at a time
    (a transaction larger than ``limit`` travels whole)."""
    entries = list(session.scalars(
        select(SyncJournalEntry).where(SyncJournalEntry.batch_number.is_(None))
        .order_by(SyncJournalEntry.seq)
    ))
    by_tx: dict[uuid.UUID, list[SyncJournalEntry]] = {}
    for entry in entries:
        by_tx.setdefault(entry.transaction_id, []).append(entry)
    current: list[SyncJournalEntry] = []
    for tx_entries in by_tx.values():
        if current and len(current) + len(tx_entries) > limit:
            yield current
            current = []
        current.extend(tx_entries)
    if current:
        yield current


def next_number(session: Session, central_last: int) -> int:
    local_last = session.scalar(select(func.max(SyncOutboxBatch.number))) or 0
    return max(local_last, central_last) + 1


def seal(session: Session, agency_code: str, central_last: int,
         limit: int = BATCH_ENTRIES) -> list[Sealed]:
    """Numbers the unsent journal into batches (in the caller's transaction)."""
    sealed: list[Sealed] = []
    number = next_number(session, central_last)
    for group in _unbatched_transactions(session, limit):
        wired = [entry_to_wire(e) for e in group]
        _fill_binary(session, wired)
        sealed.append(store(session, agency_code, number, "changes", wired,
                            first_seq=group[0].seq, last_seq=group[-1].seq))
        session.execute(
            update(SyncJournalEntry).where(SyncJournalEntry.seq.in_([e.seq for e in group]))
            .values(batch_number=number)
        )
        number += 1
    return sealed


def store(session: Session, agency_code: str, number: int, kind: str,
          entries: list[dict[str, Any]], *, first_seq: int = 0, last_seq: int = 0) -> Sealed:
    _data, digest, body = wire.pack(payload(agency_code, number, kind, entries))
    session.add(SyncOutboxBatch(number=number, kind=kind, first_seq=first_seq,
                                last_seq=last_seq, rows=len(entries), sha256=digest,
                                size=len(body), payload=body))
    return Sealed(number, len(entries), digest, body)


def unacknowledged(session: Session, central_last: int) -> list[Sealed]:
    """Batches central does not hold, in number order (after a restore, acknowledged ones too)."""
    rows = session.execute(
        select(SyncOutboxBatch.number, SyncOutboxBatch.rows, SyncOutboxBatch.sha256,
               SyncOutboxBatch.payload)
        .where(SyncOutboxBatch.number > central_last).order_by(SyncOutboxBatch.number)
    ).all()
    return [Sealed(n, r, s, p) for n, r, s, p in rows]


def acknowledge(session: Session, central_last: int) -> None:
    session.execute(
        update(SyncOutboxBatch)
        .where(SyncOutboxBatch.number <= central_last, SyncOutboxBatch.acked_at.is_(None))
        .values(acked_at=utcnow())
    )


def renumber_after(session: Session, agency_code: str, central_last: int) -> None:
    """Central holds more batches than this desk remembers (the desk was restored from a
    backup): unacknowledged local batches are numbered again after central's last."""
    stale = session.scalars(
        select(SyncOutboxBatch).where(SyncOutboxBatch.acked_at.is_(None))
        .order_by(SyncOutboxBatch.number)
    ).all()
    if not stale or stale[0].number > central_last:
        return
    number = max(central_last, session.scalar(select(func.max(SyncOutboxBatch.number))) or 0) + 1
    for batch in stale:
        entries = wire.unpack(batch.payload)["entries"]
        old = batch.number
        session.delete(batch)
        session.flush()
        store(session, agency_code, number, batch.kind, entries, first_seq=batch.first_seq,
              last_seq=batch.last_seq)
        session.execute(update(SyncJournalEntry).where(SyncJournalEntry.batch_number == old)
                        .values(batch_number=number))
        number += 1


def dry_run_payload(session: Session, agency_code: str, central_last: int) -> Sealed | None:
    """Everything a real run would send, as one batch numbered after central's last (sealed in
    memory only: the caller rolls its transaction back)."""
    entries: list[dict[str, Any]] = []
    for batch in unacknowledged(session, central_last):
        entries.extend(wire.unpack(batch.body)["entries"])
    for group in _unbatched_transactions(session, 10**9):
        wired = [entry_to_wire(e) for e in group]
        _fill_binary(session, wired)
        entries.extend(wired)
    if not entries:
        return None
    _data, digest, body = wire.pack(payload(agency_code, central_last + 1, "changes", entries))
    return Sealed(central_last + 1, len(entries), digest, body)
