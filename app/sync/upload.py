"""Upload: ask central what it holds, number what is new, send every batch it lacks in order.

The desk trusts central's record: batches up to central's ``last_batch`` are acknowledged,
the ones above are (re)sent byte for byte; a lost acknowledgement, a crash between central's
commit and the answer, or a central restored from backup all end in a correct re-send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.models.database import Database
from app.sync import outbox, state
from app.sync.client import CentralClient, CentralError
from kernel.faults import checkpoint

_MAX_RESTARTS = 5


@dataclass
class UploadReport:
    batches: int = 0
    rows: int = 0
    bytes: int = 0
    applied: int = 0
    skipped: int = 0
    merged: int = 0
    conflicts: int = 0
    parked: int = 0
    refused: int = 0
    details: list[dict[str, Any]] = field(default_factory=list)

    def count(self, answer: dict[str, Any]) -> None:
        for key in ("applied", "skipped", "merged", "conflicts", "parked", "refused"):
            setattr(self, key, getattr(self, key) + int(answer.get(key, 0) or 0))
        self.details.extend(answer.get("details", []))


def upload(db: Database, client: CentralClient, agency_code: str, *,
           progress: Callable[[int, int], None] | None = None,
           cancelled: Callable[[], bool] = lambda: False) -> UploadReport:
    report = UploadReport()
    for _attempt in range(_MAX_RESTARTS):
        last = int(client.state()["last_batch"])
        with db.session() as session:
            outbox.acknowledge(session, last)
            outbox.renumber_after(session, agency_code, last)
            outbox.seal(session, agency_code, last)
            state.put(session, state.LAST_ACKED, str(last))
            checkpoint("upload.sealing")
            session.commit()
            batches = outbox.unacknowledged(session, last)
        restart = False
        for done, batch in enumerate(batches, start=1):
            if cancelled():
                return report
            checkpoint("upload.before_send")
            answer = _send(client, batch)
            checkpoint("upload.sent")
            if answer.get("_status") == 409:
                restart = True
                break
            report.batches += 1
            report.rows += batch.rows
            report.bytes += len(batch.body)
            if answer.get("status") == "applied":
                report.count(answer)
            with db.session() as session:
                outbox.acknowledge(session, batch.number)
                state.put(session, state.LAST_ACKED, str(batch.number))
                session.commit()
            checkpoint("upload.acked")
            if progress:
                progress(done, len(batches))
        if not restart:
            return report
    raise CentralError("Le serveur central refuse la numérotation des lots de cette agence.")


def _send(client: CentralClient, batch: outbox.Sealed) -> dict[str, Any]:
    """A batch damaged on the way (central answers ``bad_batch``) is sent once more."""
    try:
        return client.send_batch(batch.number, batch.body, batch.sha256, batch.rows)
    except CentralError as error:
        if error.code != "bad_batch":
            raise
        client.retries += 1
        return client.send_batch(batch.number, batch.body, batch.sha256, batch.rows)


def dry_run(db: Database, client: CentralClient, agency_code: str) -> UploadReport:
    """What a real upload would send and what central would do with it; nothing is kept."""
    report = UploadReport()
    last = int(client.state()["last_batch"])
    with db.session() as session:
        batch = outbox.dry_run_payload(session, agency_code, last)
        session.rollback()
    if batch is None:
        return report
    answer = client.send_batch(batch.number, batch.body, batch.sha256, batch.rows, dry_run=True)
    if answer.get("_status") == 409:
        raise CentralError(f"Simulation refusée par le serveur central : {answer.get('message', '')}")
    report.batches, report.rows, report.bytes = 1, batch.rows, len(batch.body)
    report.count(answer)
    return report
