"""Receiving an agency's upload batch (docs/sync.md, "Upload" §3-4): checked, applied and
recorded in one database transaction, once; under the agency's lock only."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.database import Database
from app.sync import wire
from central.models import AgencySyncState, SyncBatch
from central.sync.apply import Applier
from central.sync.recording import prepare_session
from central.sync.state import Agency, agency_has_rows, last_batch, locked_state

KINDS = ("changes", "adoption")
#: Largest uncompressed batch accepted.
MAX_UNCOMPRESSED = 1 << 30
_CHUNK = 16 << 20
_ENTRY_KEYS = ("seq", "tx", "table", "row", "op", "base", "new", "changes")


class BatchRefused(Exception):
    """A batch answered with an error (nothing applied)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class Batch:
    number: int
    sha256: str
    kind: str
    entries: list[dict[str, Any]] = field(repr=False)


def _bad(message: str) -> BatchRefused:
    return BatchRefused(400, "bad_batch", f"Lot refusé : {message}. Reconstruisez-le et "
                                          "renvoyez-le.")


def _bounded(body: bytes) -> bytes:
    """The body again, once its uncompressed size is known to stay under the limit (a small
    body must not inflate into gigabytes)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    size = 0
    pending = body
    try:
        while pending:
            size += len(inflater.decompress(pending, _CHUNK))
            if size > MAX_UNCOMPRESSED:
                raise _bad(f"contenu décompressé au-delà de {MAX_UNCOMPRESSED >> 20} Mo")
            pending = inflater.unconsumed_tail
            if inflater.eof:
                pending = inflater.unused_data
                inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    except zlib.error:
        return body
    return body


def read_batch(agency: Agency, number: int, body: bytes, sha256: str | None,
               rows: str | int | None) -> Batch:
    """The batch in a request body, checked against its headers; ``BatchRefused`` (400)."""
    if not sha256:
        raise _bad("empreinte X-Batch-Sha256 manquante")
    try:
        payload = wire.unpack(_bounded(body), sha256.strip().lower())
    except ValueError as error:
        raise _bad(str(error)) from error
    if not isinstance(payload, dict) or not isinstance(payload.get("entries"), list):
        raise _bad("contenu sans liste d'entrées")
    entries: list[dict[str, Any]] = payload["entries"]
    try:
        expected = int(str(rows))
    except ValueError as error:
        raise _bad("nombre de lignes X-Batch-Rows manquant ou invalide") from error
    if len(entries) != expected:
        raise _bad(f"{len(entries)} entrées reçues, {expected} annoncées")
    if payload.get("agency") != agency.code:
        raise _bad(f"lot de l'agence {payload.get('agency')}, pas de l'agence {agency.code}")
    if payload.get("number") != number:
        raise _bad(f"lot numéroté {payload.get('number')} envoyé comme lot {number}")
    if payload.get("kind", "changes") not in KINDS:
        raise _bad(f"type de lot inconnu : {payload.get('kind')}")
    if payload.get("protocol", wire.PROTOCOL) != wire.PROTOCOL:
        raise _bad(f"protocole {payload.get('protocol')} non pris en charge")
    for entry in entries:
        if not isinstance(entry, dict) or any(key not in entry for key in _ENTRY_KEYS) \
                or not isinstance(entry["changes"], dict):
            raise _bad("entrée incomplète")
    return Batch(number, sha256.strip().lower(), payload.get("kind", "changes"), entries)


def _check_adoption(session: Session, agency: Agency, state: AgencySyncState, last: int) -> None:
    refused = BatchRefused(409, "adoption_refused",
                           "Adoption refusée : le central a déjà des données de cette agence. "
                           "Initialisez le poste depuis le central.")
    if state.adopted:
        raise refused
    if last == 0:
        if agency_has_rows(session, agency.id):
            raise refused
        return
    kinds = set(session.scalars(select(SyncBatch.kind).where(SyncBatch.agency_id == agency.id)))
    if kinds != {"adoption"}:
        raise refused


def apply_batch(session: Session, agency: Agency, batch: Batch, *, dry_run: bool = False
                ) -> dict[str, Any]:
    """Applies ``batch`` in the session's transaction (the caller commits, or rolls back for a
    dry run). Returns the answer; ``BatchRefused`` for a duplicate's mismatch or a gap."""
    state = locked_state(session, agency.id)
    last = last_batch(session, agency.id)
    if batch.number <= last:
        known = session.scalars(select(SyncBatch.sha256).where(
            SyncBatch.agency_id == agency.id, SyncBatch.number == batch.number)).one_or_none()
        if known == batch.sha256:
            return {"status": "duplicate", "number": batch.number}
        raise BatchRefused(409, "batch_mismatch",
                           f"Le lot {batch.number} a déjà été reçu avec un autre contenu.",
                           last_batch=last)
    if batch.number > last + 1:
        raise BatchRefused(409, "batch_gap",
                           f"Lot {batch.number} reçu alors que le dernier lot enregistré est le "
                           f"{last} : renvoyez à partir du lot {last + 1}.", last_batch=last)
    if batch.kind == "adoption":
        _check_adoption(session, agency, state, last)
    prepare_session(session, agency.code, f"Synchronisation agence {agency.code}, "
                                          f"lot {batch.number}")
    applier = Applier(session, agency, batch.number, adoption=batch.kind == "adoption")
    applier.apply(batch.entries)
    answer: dict[str, Any] = {"status": "applied", "number": batch.number, **applier.counts()}
    session.add(SyncBatch(agency_id=agency.id, number=batch.number, sha256=batch.sha256,
                          rows=len(batch.entries), kind=batch.kind, result=dict(answer)))
    session.flush()
    if dry_run:
        answer["dry_run"] = True
        answer["details"] = [item.as_dict() for item in applier.outcomes]
    return answer


def receive_batch(db: Database, agency: Agency, batch: Batch, *, dry_run: bool = False
                  ) -> dict[str, Any]:
    with db.session() as session:
        session.begin()
        try:
            answer = apply_batch(session, agency, batch, dry_run=dry_run)
            if dry_run or answer["status"] == "duplicate":
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    return answer
