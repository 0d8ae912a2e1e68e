"""One synchronisation run, phase after phase, recorded in the ledger.

backup → (adoption | bootstrap) → upload → close (central integrates and bills) → download →
reconcile. Network and central problems end the run as ``failed`` with a French message; the
next run resumes where this one stopped (every step is committed as it goes and idempotent).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Invoice
from app.models.changes import note_everything
from app.models.database import Database
from app.models.ids import new_id
from app.services.works.quotes import expire_overdue
from app.sync import adoption, bootstrap, state
from app.sync.apply import retry_parked_on_desk
from app.sync.backup import take_backup
from app.sync.client import CentralClient
from app.sync.download import CentralRestored, download
from app.sync.endpoint import Endpoint
from app.sync.failures import RETRY, classify, join_command
from app.sync.ledger import Ledger, Phase
from app.sync.reconcile import reconcile
from app.sync.upload import dry_run as upload_dry_run
from app.sync.upload import upload
from kernel.context import Installation, ServiceContext
from kernel.errors import GuichetError, environment_problem
from kernel.faults import checkpoint
from kernel.vocabulary import PHASE_LABELS

log = logging.getLogger("app.sync")

@dataclass(frozen=True)
class SyncProgress:
    phase: str
    label: str
    done: int
    total: int | None
    detail: str = ""


@dataclass
class SyncOutcome:
    run_id: uuid.UUID
    status: str
    message: str
    rows_up: int = 0
    rows_down: int = 0
    conflicts: int = 0
    parked: int = 0
    mismatches: list[str] = field(default_factory=list)
    restarted: bool = False
    report: dict[str, Any] = field(default_factory=dict)
    #: A dry run of a desk not yet adopted: the rows adoption would hand to central.
    adoption_rows: int = 0
    #: For the scheduler (``failures``): 1 retrying helps, 4 disk full, 5 database damaged,
    #: 6 data the desk cannot settle by itself.
    exit_code: int = 0


class Interrupted(Exception):
    pass


class AgencyAlreadyKnown(GuichetError):
    """The central already holds this agency and the desk holds another copy of it (a demo)."""


class _Run:
    def __init__(self, db: Database, installation: Installation, client: CentralClient,
                 data_dir: Path, dry_run: bool, trigger: str,
                 progress: Callable[[SyncProgress], None] | None,
                 cancel: threading.Event | None) -> None:
        self.db, self.installation, self.client = db, installation, client
        self.data_dir, self.dry_run = data_dir, dry_run
        self._progress = progress
        self._cancel = cancel
        self.ledger = Ledger(db, trigger=trigger, dry_run=dry_run)
        self.outcome = SyncOutcome(self.ledger.run_id, "running", "")

    def cancelled(self) -> bool:
        return self._cancel is not None and self._cancel.is_set()

    def tell(self, phase: str, done: int, total: int | None, detail: str = "") -> None:
        if self._progress is not None:
            self._progress(SyncProgress(phase, PHASE_LABELS[phase], done, total, detail))

    def phase(self, name: str) -> Phase:
        if self.cancelled():
            raise Interrupted()
        current = Phase(name, PHASE_LABELS[name])
        self._retries_before = self.client.retries
        self._bytes_before = self.client.bytes_sent + self.client.bytes_received
        self.ledger.start(current)
        self.tell(name, 0, None)
        return current

    def done(self, current: Phase, status: str = "done") -> None:
        current.retries = self.client.retries - self._retries_before
        current.bytes = self.client.bytes_sent + self.client.bytes_received - self._bytes_before
        self.ledger.add(retries=current.retries)
        self.ledger.totals["bytes_up"] = self.client.bytes_sent
        self.ledger.totals["bytes_down"] = self.client.bytes_received
        self.ledger.finish(current, status)
        self.tell(current.name, 1, 1, current.detail)

    # --- phases ------------------------------------------------------------------------------

    def run(self) -> None:
        agency_code, agency_id = self.installation.agency_code, self.installation.agency_id
        with self.db.session() as session:
            cursor, anchor = state.cursor(session), state.get(session, state.ANCHOR)
        central = self.client.state(cursor, anchor or None)
        if not self.dry_run:
            current = self.phase("backup")
            current.detail = str(take_backup(self.db, self.data_dir).name)
            self.done(current)
        adopting = not central.get("adopted") and not adoption.adoption_done(self.db)
        if central.get("adopted") and not adoption.adoption_started(self.db) \
                and not bootstrap.needs_bootstrap(self.db, agency_id):
            with self.db.reading() as session:
                never_received = state.cursor(session) == 0
            if never_received:
                raise AgencyAlreadyKnown(
                    f"Le serveur central connaît déjà l'agence {agency_code} et ce poste contient "
                    "une agence de démonstration (ou d'une autre installation) qu'il ne peut pas "
                    "lui remettre : rien n'a été envoyé. Pour travailler avec ce central, "
                    "repartez d'un dossier de données neuf : ./guichet --data-dir DOSSIER_NEUF "
                    f"--agency {agency_code} join {self.client.endpoint.url} (le dossier actuel "
                    "reste intact).")
        if adopting and self.dry_run:
            adoptable = adoption.rows_to_adopt(self.db, agency_id)
            self.outcome.adoption_rows = sum(adoptable.values())
            self.outcome.report["adoption"] = {"rows": self.outcome.adoption_rows,
                                               "tables": adoptable}
        if adopting and not self.dry_run:
            current = self.phase("adoption")
            current.rows = adoption.seal_adoption(
                self.db, agency_code, agency_id, int(central["last_batch"]),
                progress=lambda d, t: self.tell("adoption", d, t))
            self.done(current)
        elif central.get("adopted") and bootstrap.needs_bootstrap(self.db, agency_id) \
                and not self.dry_run:
            self._bootstrap()
            return
        self._check_history(central)
        if not self.dry_run:
            self._desk_night()
        current = self.phase("upload")
        if self.dry_run:
            sent = upload_dry_run(self.db, self.client, agency_code)
            self.outcome.report["upload"] = {"rows": sent.rows, "applied": sent.applied,
                                             "skipped": sent.skipped, "merged": sent.merged,
                                             "conflicts": sent.conflicts, "parked": sent.parked,
                                             "refused": sent.refused, "details": sent.details}
        else:
            sent = upload(self.db, self.client, agency_code,
                          progress=lambda d, t: self.tell("upload", d, t),
                          cancelled=self.cancelled)
            if not central.get("adopted") and not adoption.adoption_done(self.db):
                self.client.adopted()
                adoption.mark_adopted(self.db)
        current.rows = sent.rows
        current.detail = (f"{sent.batches} lot(s), {sent.rows} ligne(s) ; conflits {sent.conflicts}"
                          f", en attente {sent.parked}, fusionnées {sent.merged}")
        self.outcome.rows_up = sent.rows
        self.outcome.conflicts += sent.conflicts
        self.outcome.parked += sent.parked
        self.ledger.add(rows_up=sent.rows, conflicts=sent.conflicts,
                        parked=sent.parked)
        self.done(current)
        if self.cancelled():
            raise Interrupted()
        if not self.dry_run:
            current = self.phase("close")
            checkpoint("close.before")
            closed = self.client.close()
            billed = closed.get("billed") or {}
            current.rows = int(billed.get("invoices", 0) or 0)
            current.detail = (f"période {billed.get('period', '—')} : {current.rows} facture(s)"
                              if billed else "rien à facturer")
            self.done(current)
        current = self.phase("download")
        if not self.dry_run:
            with self.db.session() as session:
                retried, _still = retry_parked_on_desk(session)
                session.commit()
            self.outcome.report["retried_on_desk"] = retried
        try:
            got = download(self.db, self.client, dry_run=self.dry_run,
                           progress=lambda d, t: self.tell("download", d, t),
                           cancelled=self.cancelled)
        except CentralRestored:
            got = self._after_restore()
        counts = got.counts
        assert counts is not None
        current.rows = counts.applied
        current.detail = (f"{got.commits} validation(s) centrale(s) ; appliquées {counts.applied}, "
                          f"déjà présentes {counts.skipped}, en attente {counts.parked}")
        self.outcome.rows_down = counts.applied
        self.outcome.parked += counts.parked
        self.outcome.report["download"] = {"commits": got.commits, "applied": counts.applied,
                                           "skipped": counts.skipped, "parked": counts.parked,
                                           "kept_local": counts.kept_local}
        self.ledger.add(rows_down=counts.applied, parked=counts.parked)
        self.done(current)
        if self.cancelled():
            raise Interrupted()
        if adopting and self.dry_run:
            # Central has nothing of the agency yet: every table would differ until adoption.
            self.outcome.report["reconcile"] = "après l'adoption"
            return
        current = self.phase("reconcile")
        result = reconcile(self.db, self.client, agency_id, repair=not self.dry_run)
        self.outcome.mismatches = result.mismatches
        current.rows = result.repaired_rows
        current.detail = (f"{result.tables} tables comparées ; écarts : "
                          f"{', '.join(result.mismatches) or 'aucun'}")
        self.done(current, "warning" if result.mismatches else "done")

    def _desk_night(self) -> None:
        """The desk's own nightly work, before the upload so that central gets it the same
        night: sent quotes past their validity become expired (audited under the system's
        name with the reason)."""
        expired = expire_overdue(ServiceContext(self.db, self.installation))
        self.outcome.report["expired_quotes"] = expired
        if expired:
            log.info("%d quote(s) expired: %s", len(expired), ", ".join(expired))

    def _check_history(self, central: dict[str, Any]) -> None:
        """A central restored from backup: its generation or the desk's cursor anchor differ."""
        held: list[str] = []
        with self.db.session() as session:
            known = state.get(session, state.GENERATION)
            restored = (known and known != central["generation"]) or not central.get(
                "anchor_ok", True)
            if restored:
                log.warning("central restored from a backup: cursor set back to %s",
                            central.get("head"))
                state.put_cursor(session, min(state.cursor(session), int(central["head"])), "")
                self.outcome.restarted = True
                held = held_invoice_numbers(session)
            state.put(session, state.GENERATION, str(central["generation"]))
            if not self.dry_run:
                session.commit()
        if restored and not self.dry_run:
            # Central forgot what it numbered after its backup, the desk did not: its series
            # move past the numbers the desk holds before it numbers anything again.
            moved = self.client.held_numbers(held).get("moved")
            self.outcome.report["numbers_covered"] = moved

    def _after_restore(self) -> Any:
        central = self.client.state()
        self._check_history({**central, "anchor_ok": False})
        return download(self.db, self.client, dry_run=self.dry_run, cancelled=self.cancelled)

    def _bootstrap(self) -> None:
        current = self.phase("bootstrap")

        def loaded(rows: int) -> None:
            current.rows += rows

        aside = bootstrap.build_aside(self.db, self.client,
                                      agency_code=self.installation.agency_code,
                                      progress=lambda d, t: self.tell("bootstrap", d, t),
                                      cancelled=self.cancelled, loaded=loaded)
        if aside is None:
            raise Interrupted()
        current.detail = "base construite à part, mise en place"
        self.ledger.add(rows_down=current.rows)
        self.done(current)
        checkpoint("bootstrap.before_swap")
        kept = bootstrap.swap_in(self.db, aside)
        self.outcome.report["bootstrap"] = {"previous": str(kept)}
        self.outcome.restarted = True


def held_invoice_numbers(session: Session) -> list[str]:
    """The highest invoice number the desk holds per prefix, year and length (a few rows: the
    database groups them), central's series among them."""
    column = Invoice.number
    return list(session.scalars(select(func.max(column))
                                .group_by(func.substr(column, 1, 6), func.length(column))))


def run_sync(db: Database, installation: Installation, endpoint: Endpoint, *, data_dir: Path,
             dry_run: bool = False, trigger: str = "manual",
             progress: Callable[[SyncProgress], None] | None = None,
             cancel: threading.Event | None = None,
             client: CentralClient | None = None) -> SyncOutcome:
    own_client = client is None
    client = client or CentralClient(endpoint)
    try:
        run = _Run(db, installation, client, data_dir, dry_run, trigger, progress, cancel)
    except Exception as error:  # the ledger's first row could not be written
        if own_client:
            client.close_connection()
        failure = classify(error, db.url,
                           join=join_command(installation.agency_code, endpoint.url))
        if failure is None:
            raise
        log.info("synchronisation not started", exc_info=True)
        return SyncOutcome(new_id(), "failed", failure.message, exit_code=failure.code)
    outcome = run.outcome
    try:
        run.run()
    except Interrupted:
        outcome.status, outcome.message = "interrupted", "Synchronisation interrompue à la demande."
    except GuichetError as error:
        outcome.status, outcome.message = "failed", error.message
        outcome.exit_code = RETRY
    except Exception as error:
        outcome.status = "failed"
        failure = classify(error, db.url, restored=outcome.restarted,
                           join=join_command(installation.agency_code, endpoint.url))
        # A failure the message explains goes to the log file only (stderr keeps one line).
        log.log(logging.INFO if failure else logging.ERROR, "synchronisation failed",
                exc_info=True)
        outcome.message = failure.message if failure else (
            f"Synchronisation en échec : erreur inattendue ({type(error).__name__}).")
        outcome.exit_code = failure.code if failure else RETRY
    else:
        outcome.status = "succeeded"
        outcome.message = _summary(outcome, dry_run)
    finally:
        if not dry_run:
            _report_night(client, outcome)
        if own_client:
            client.close_connection()
    if outcome.restarted and "bootstrap" in outcome.report:
        outcome.message = ("Amorçage terminé : la base de l'agence a été remplacée ; "
                           "redémarrez Guichet.")
    try:
        run.ledger.end(outcome.status, "" if outcome.status == "succeeded" else outcome.message,
                       outcome.mismatches)
    except Exception as error:  # the bootstrap swapped the file under the ledger, or a full disk
        if environment_problem(error) is not None:
            log.info("ledger not updated after the run: %s", error)  # the run already said why
        else:
            log.warning("ledger not updated after the run", exc_info=True)
    if not dry_run:
        note_everything()  # pages applied in bulk: every screen reloads after a run
    return outcome


def _report_night(client: CentralClient, outcome: SyncOutcome) -> None:
    """Tells central how the night ended (its control room); never fails the run."""
    if outcome.status == "interrupted" or "download" not in outcome.report:
        return  # nothing fetched: central already knows (no download, no reconciliation)
    download = outcome.report.get("download", {})
    status = "failed" if outcome.status == "failed" else (
        "warning" if outcome.mismatches else "done")
    try:
        client.night_report({
            "status": status, "commits": download.get("commits", 0),
            "applied": download.get("applied", 0), "parked": outcome.parked,
            "mismatches": list(outcome.mismatches), "message": outcome.message or "",
        })
    except Exception:  # central unreachable again: the run's own outcome stands
        log.warning("night report not sent to central", exc_info=True)


def _summary(outcome: SyncOutcome, dry_run: bool) -> str:
    if dry_run:
        text = "Simulation terminée, rien n'a été écrit : "
        if outcome.adoption_rows:
            text += (f"première synchronisation, le central recevrait l'agence entière "
                     f"({outcome.adoption_rows} ligne(s), adoption), puis ")
        text += (f"{outcome.rows_up} ligne(s) à envoyer, {outcome.rows_down} à recevoir, "
                 f"{outcome.conflicts} conflit(s), {outcome.parked} en attente")
        if outcome.mismatches:
            text += f", écarts à corriger : {', '.join(outcome.mismatches)}"
        return text + "."
    text = (f"Synchronisation terminée : {outcome.rows_up} ligne(s) envoyée(s), "
            f"{outcome.rows_down} reçue(s), {outcome.conflicts} conflit(s), "
            f"{outcome.parked} en attente")
    if outcome.mismatches:
        text += f", écarts corrigés : {', '.join(outcome.mismatches)}"
    return text + "."
