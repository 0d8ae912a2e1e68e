"""Receiving an agency's upload batch (docs/sync.md, "Upload" §3-4): checked, applied and
recorded in one database transaction, once; under the agency's lock only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.database import Database
from central.models import AgencySyncState, SyncBatch
from central.sync import statistics
from central.sync.apply import Applier
from central.sync.recording import prepare_session
from central.sync.state import (
    Agency,
    adoption_expired,
    agency_has_rows,
    last_batch,
    locked_state,
)
from kernel import wire

KINDS = ("changes", "adoption")
#: Largest uncompressed batch accepted when the caller gives no limit (the server passes
#: ``max_batch_uncompressed_bytes`` of its settings).
MAX_UNCOMPRESSED = 32 << 20
_ENTRY_KEYS = ("seq", "tx", "table", "row", "op", "base", "new", "changes")
_OPERATIONS = ("insert", "update", "delete")
_MAX_SEQ = 2**63 - 1
_MAX_VERSION = 2**31 - 1


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


def read_batch(agency: Agency, number: int, body: bytes, sha256: str | None,
               rows: str | int | None, max_uncompressed: int | None = None) -> Batch:
    """The batch in a request body, checked against its headers; ``BatchRefused`` (400).
    The body is inflated a megabyte at a time and refused as soon as it passes
    ``max_uncompressed`` bytes (default ``MAX_UNCOMPRESSED``)."""
    if not sha256:
        raise _bad("empreinte X-Batch-Sha256 manquante")
    limit = MAX_UNCOMPRESSED if max_uncompressed is None else max_uncompressed
    try:
        payload = wire.unpack(body, sha256.strip().lower(), limit)
    except ValueError as error:
        raise _bad(str(error)) from error
    except RecursionError as error:
        raise _bad("contenu JSON imbriqué trop profondément") from error
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
    for position, entry in enumerate(entries):
        problem = entry_problem(entry)
        if problem is not None:
            raise _bad(f"entrée {position + 1} : {problem}")
    return Batch(number, sha256.strip().lower(), payload.get("kind", "changes"), entries)


def _integer(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def entry_problem(entry: Any) -> str | None:
    """What makes an entry unreadable (None when its form is sound): the fields of the wire
    form with their types and bounds. Values of the row's columns are checked as they are
    applied (a bad one parks its transaction)."""
    if not isinstance(entry, dict) or any(key not in entry for key in _ENTRY_KEYS):
        return "entrée incomplète"
    if not _integer(entry["seq"], 0, _MAX_SEQ):
        return "numéro d'ordre (seq) invalide"
    if not _is_uuid(entry["tx"]):
        return "identifiant de transaction (tx) invalide"
    if not isinstance(entry["table"], str) or len(entry["table"]) > 40:
        return "nom de table invalide"
    if not _is_uuid(entry["row"]):
        return "identifiant de ligne (row) invalide : un UUID est attendu"
    if entry["op"] not in _OPERATIONS:
        return "opération inconnue"
    if not _integer(entry["base"], 0, _MAX_VERSION) or not _integer(entry["new"], 0, _MAX_VERSION):
        return "version (base, new) invalide"
    if entry.get("schema") is not None and not _integer(entry["schema"], 0, 1000):
        return "version de schéma invalide"
    if entry.get("at") is not None and not isinstance(entry["at"], str):
        return "horodatage invalide"
    changes = entry["changes"]
    if not isinstance(changes, dict):
        return "changements illisibles"
    for name, pair in changes.items():
        if len(name) > 60 or not isinstance(pair, list) or len(pair) != 2:
            return f"changement illisible pour le champ {name[:60]!r}"
    return None


def _check_adoption(session: Session, agency: Agency, state: AgencySyncState, last: int) -> None:
    """Adoption is a bounded state: for an agency central holds nothing of, from its first
    adoption batch until ``POST adopted``, its first batch of changes, or the end of the
    adoption window, whichever comes first."""
    refused = BatchRefused(409, "adoption_refused",
                           "Adoption refusée : le central a déjà des données de cette agence. "
                           "Initialisez le poste depuis le central.")
    if state.adopted:
        raise refused
    if adoption_expired(session, agency.id):
        raise BatchRefused(409, "adoption_refused",
                           "Adoption refusée : elle n'a pas été menée à son terme dans le délai "
                           "imparti. Initialisez le poste depuis le central.")
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
    elif not state.adopted:
        state.adopted = True  # the first batch of changes ends adoption for good
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
    if answer["status"] == "applied" and not dry_run:
        statistics.refresh(db, {str(e["table"]) for e in batch.entries}
                           | set(statistics.BOOKKEEPING))
    return answer
