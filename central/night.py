"""The night's control room: where each agency's night stands (batches received and integrated,
billing run, download fetched by the desk, reconciliation result, times), late or failed agencies
first; and the alert (a command hook and an e-mail) when an agency is not done by the deadline.

The night of day D runs from D-1 at noon to D at noon (installation time); it must be done by
``night_deadline`` (07:00 by default) on D, before the agencies open.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import smtplib
import subprocess
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import Agency
from app.models.database import Database
from app.models.ids import utcnow
from central.billing.engine import settle_dead_runs
from central.billing.period import Period
from central.models import AgencySyncState, BillingRun, NightReport, RunStatus, SyncBatch
from central.settings import CentralSettings
from kernel.errors import NotFoundError

log = logging.getLogger(__name__)

DONE, LATE, FAILED, RUNNING = "done", "late", "failed", "in_progress"
STATE_LABELS = {DONE: "terminée", LATE: "EN RETARD", FAILED: "ÉCHEC", RUNNING: "en cours"}
_ORDER = {FAILED: 0, LATE: 1, RUNNING: 2, DONE: 3}


@dataclass
class AgencyNight:
    code: str
    name: str
    state: str = RUNNING
    batches: int = 0
    batch_rows: int = 0
    batches_parked: int = 0
    first_batch_at: datetime | None = None
    last_batch_at: datetime | None = None
    billing_period: str = ""
    billing_status: str | None = None
    billing_invoices: int = 0
    billing_finished_at: datetime | None = None
    download_at: datetime | None = None
    download_commits: int = 0
    download_applied: int = 0
    reconciliation: str | None = None
    mismatches: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


@dataclass
class NightStatus:
    night_of: date
    deadline: datetime
    checked_at: datetime
    agencies: list[AgencyNight]

    @property
    def past_deadline(self) -> bool:
        return self.checked_at >= self.deadline

    @property
    def not_done(self) -> list[AgencyNight]:
        return [a for a in self.agencies if a.state != DONE]

    @property
    def alarming(self) -> list[AgencyNight]:
        """Agencies not done once the deadline has passed (and failures at any time)."""
        return [a for a in self.agencies
                if a.state == FAILED or (a.state != DONE and self.past_deadline)]

    def as_json(self) -> dict[str, Any]:
        return {
            "night_of": self.night_of.isoformat(),
            "deadline": self.deadline.isoformat(),
            "checked_at": self.checked_at.isoformat(),
            "past_deadline": self.past_deadline,
            "ok": not self.alarming,
            "agencies": [a.as_json() for a in self.agencies],
        }


def night_window(night_of: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(night_of - timedelta(days=1), time(12), tzinfo=zone)
    end = datetime.combine(night_of, time(12), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def night_status(
    db: Database,
    night_of: date,
    *,
    zone: ZoneInfo,
    deadline: time = time(7, 0),
    now: datetime | None = None,
    agency_code: str | None = None,
) -> NightStatus:
    now = now or utcnow()
    start, end = night_window(night_of, zone)
    until = datetime.combine(night_of, deadline, tzinfo=zone).astimezone(UTC)
    billed_period = Period.of(night_of.replace(day=1) - timedelta(days=1)).label
    settle_dead_runs(db)
    with db.reading() as session:
        query = select(Agency.id, Agency.code, Agency.name).order_by(Agency.code)
        if agency_code is not None:
            query = query.where(Agency.code == agency_code)
        agencies = session.execute(query).all()
        if agency_code is not None and not agencies:
            raise NotFoundError(f"L'agence {agency_code} n'existe pas.")
        ids = [row.id for row in agencies]
        batches: dict[uuid.UUID, list[SyncBatch]] = {}
        for batch in session.scalars(
            select(SyncBatch).where(SyncBatch.agency_id.in_(ids), SyncBatch.received_at >= start,
                                    SyncBatch.received_at < end).order_by(SyncBatch.received_at)
        ):
            batches.setdefault(batch.agency_id, []).append(batch)
        runs: dict[str | None, BillingRun] = {}
        for run in session.scalars(
            select(BillingRun).where(BillingRun.started_at >= start, BillingRun.started_at < end)
            .order_by(BillingRun.started_at)
        ):
            runs[run.agency_code] = run
        billed = dict(session.execute(
            select(AgencySyncState.agency_id, AgencySyncState.last_billed_period)
            .where(AgencySyncState.agency_id.in_(ids))
        ).all())
        reports: dict[uuid.UUID, NightReport] = {}
        for report in session.scalars(
            select(NightReport).where(NightReport.agency_id.in_(ids), NightReport.at >= start,
                                      NightReport.at < end).order_by(NightReport.at)
        ):
            reports[report.agency_id] = report
    found = []
    for agency_id, code, name in agencies:
        night = AgencyNight(code, name, billing_period=billed_period)
        own = batches.get(agency_id, [])
        night.batches = len(own)
        night.batch_rows = sum(b.rows for b in own)
        night.batches_parked = sum(int((b.result or {}).get("parked", 0)) for b in own)
        if own:
            night.first_batch_at, night.last_batch_at = own[0].received_at, own[-1].received_at
        billing = runs.get(code) or runs.get(None)
        if billing is not None:
            night.billing_period = billing.period
            night.billing_status = billing.status.value
            night.billing_invoices = billing.invoices
            night.billing_finished_at = billing.finished_at
            if billing.status in (RunStatus.FAILED, RunStatus.INTERRUPTED):
                night.problems.append(f"facturation {billing.status.value} : {billing.error[:120]}")
        elif (billed.get(agency_id) or "") >= billed_period:
            night.billing_status = "already"
        reported = reports.get(agency_id)
        if reported is not None:
            night.download_at = reported.at
            night.download_commits, night.download_applied = reported.commits, reported.applied
            night.mismatches = list(reported.mismatches or [])
            night.reconciliation = (
                "ok" if not night.mismatches
                else f"écarts : {', '.join(night.mismatches)} ({reported.repaired_rows} "
                "ligne(s) reprise(s))")
            if reported.status == "failed":
                night.problems.append(f"poste : {reported.message[:160] or 'échec'}")
        billing_done = night.billing_status in (RunStatus.COMPLETED.value, "already")
        if night.problems:
            night.state = FAILED
        elif billing_done and reported is not None:
            night.state = DONE
        else:
            night.state = LATE if now >= until else RUNNING
        found.append(night)
    found.sort(key=lambda a: (_ORDER[a.state], a.code))
    return NightStatus(night_of, until, now, found)


def current_night(now: datetime, zone: ZoneInfo) -> date:
    """The night a moment belongs to: from noon on, the coming night (of the next day)."""
    local = now.astimezone(zone)
    return local.date() + timedelta(days=1) if local.time() >= time(12) else local.date()


def status_for(db: Database, settings: CentralSettings, night_of: date | None = None,
               *, now: datetime | None = None) -> NightStatus:
    now = now or utcnow()
    day = night_of or current_night(now, settings.zone)
    return night_status(db, day, zone=settings.zone, deadline=settings.night_deadline, now=now)


def record_report(db: Database, agency_id: uuid.UUID, report: dict[str, Any]) -> None:
    """A desk's end-of-night report (``POST /agencies/{code}/night/report``)."""
    with db.session() as session, session.begin():
        session.add(NightReport(
            agency_id=agency_id,
            status=str(report.get("status", "done"))[:12],
            commits=int(report.get("commits", 0)),
            applied=int(report.get("applied", 0)),
            parked=int(report.get("parked", 0)),
            mismatches=[str(m)[:64] for m in report.get("mismatches", [])][:200],
            repaired_rows=int(report.get("repaired_rows", 0)),
            message=str(report.get("message", ""))[:2000],
        ))


def _time(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M") if moment else "—"


def render(status: NightStatus, zone: ZoneInfo) -> str:
    """The status as a text table (French), late or failed agencies first."""
    lines = [
        f"Nuit du {status.night_of.isoformat()} — à terminer avant "
        f"{status.deadline.astimezone(zone):%H:%M} ; vérifié à "
        f"{status.checked_at.astimezone(zone):%H:%M}",
        f"{'agence':<8}{'état':<12}{'lots reçus':<14}{'facturation':<26}"
        f"{'téléchargement':<20}rapprochement",
    ]
    for a in status.agencies:
        lots = f"{a.batches} ({_time(a.last_batch_at, zone)})"
        if a.billing_status == "already":
            billing = f"{a.billing_period} déjà faite"
        elif a.billing_status:
            billing = (f"{a.billing_period} {a.billing_status} {a.billing_invoices} "
                       f"({_time(a.billing_finished_at, zone)})")
        else:
            billing = f"{a.billing_period} à faire"
        download = (f"{a.download_commits} commits ({_time(a.download_at, zone)})"
                    if a.download_at else "non fait")
        lines.append(f"{a.code:<8}{STATE_LABELS[a.state]:<12}{lots:<14}{billing:<26}"
                     f"{download:<20}{a.reconciliation or '—'}")
        lines.extend(f"        ↳ {problem}" for problem in a.problems)
    if not status.agencies:
        lines.append("Aucune agence.")
    return "\n".join(lines)


def alert(status: NightStatus, settings: CentralSettings) -> list[str]:
    """Runs the alert hook and sends the e-mail for the agencies not done; returns what was
    done (for the command's output). A failing channel is logged and reported, not raised:
    the other channel still goes."""
    late = status.alarming
    if not late:
        return []
    codes = ",".join(a.code for a in late)
    subject = (f"Guichet — nuit du {status.night_of.isoformat()} : agence(s) non terminée(s) "
               f"{codes}")
    body = render(status, settings.zone)
    done: list[str] = []
    if settings.night_alert_command:
        try:
            finished = subprocess.run(
                shlex.split(settings.night_alert_command),
                input=json.dumps(status.as_json()), text=True, capture_output=True,
                timeout=60, check=False, env={**os.environ, "GUICHET_NIGHT_LATE": codes},
            )
            done.append(f"commande d'alerte : code {finished.returncode}")
        except (OSError, subprocess.SubprocessError) as error:
            log.exception("night alert command failed")
            done.append(f"commande d'alerte impossible : {error}")
    if settings.smtp_host and settings.alert_to:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = settings.alert_from
        message["To"] = ", ".join(settings.alert_to)
        message.set_content(body)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password)
                smtp.send_message(message)
            done.append(f"courriel envoyé à {', '.join(settings.alert_to)}")
        except (OSError, smtplib.SMTPException) as error:
            log.exception("night alert e-mail failed")
            done.append(f"courriel impossible : {error}")
    return done
