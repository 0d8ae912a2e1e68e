"""The night's control room (issue 15): per agency, batches received and integrated, billing
run, download fetched and reconciliation reported by the desk, times; late or failed first; exit
status 1 when an agency is not done by the deadline; the alert hook and the e-mail (to a local
SMTP server); the same as JSON on the admin API."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.models.database import Database
from central.agencies import new_agency_credential
from central.api import create_app
from central.cli import main
from central.credentials import issue_admin_credential
from central.embedded import free_port
from central.models import BillingRun, NightReport, RunStatus, SyncBatch
from central.night import (
    DONE,
    FAILED,
    LATE,
    RUNNING,
    alert,
    current_night,
    night_status,
    render,
)
from central.settings import CentralSettings
from tests.central.world import World

ZONE = ZoneInfo("Africa/Abidjan")
NIGHT = date(2026, 12, 5)


def at(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def three_agencies(db: Database) -> dict[str, World]:
    """101 done, 102 uploaded but not billed nor downloaded, 103 whose billing failed."""
    worlds = {code: World(db, agency_code=code) for code in ("101", "102", "103")}
    with db.session() as session, session.begin():
        for code, world in worlds.items():
            session.add(SyncBatch(agency_id=world.agency_id, number=1, sha256="0" * 64, rows=40,
                                  received_at=at(1, 5), result={"status": "applied",
                                                                "parked": 1 if code == "102" else 0}))
        session.add(SyncBatch(agency_id=worlds["101"].agency_id, number=2, sha256="1" * 64,
                              rows=2, received_at=at(1, 20), result={"status": "applied"}))
        session.add(BillingRun(period="2026-11", agency_code="101", issued_on=NIGHT,
                               status=RunStatus.COMPLETED, started_at=at(1, 30),
                               finished_at=at(1, 40), invoices=120))
        session.add(BillingRun(period="2026-11", agency_code="103", issued_on=NIGHT,
                               status=RunStatus.FAILED, started_at=at(1, 30),
                               finished_at=at(1, 31), error="OperationalError: disque plein"))
        session.add(NightReport(agency_id=worlds["101"].agency_id, at=at(2, 10), status="done",
                                commits=3, applied=250, mismatches=[]))
        # Yesterday's night does not count for this one.
        session.add(NightReport(agency_id=worlds["102"].agency_id, at=at(2, 10, day=4),
                                status="done"))
    return worlds


def test_the_night_of_each_agency_late_and_failed_first(cdb: Database) -> None:
    three_agencies(cdb)
    after = night_status(cdb, NIGHT, zone=ZONE, deadline=time(7), now=at(7, 30))
    assert [(a.code, a.state) for a in after.agencies] == [
        ("103", FAILED), ("102", LATE), ("101", DONE)]
    done = after.agencies[2]
    assert (done.batches, done.batch_rows, done.billing_status, done.billing_invoices) == (
        2, 42, "completed", 120)
    assert (done.download_commits, done.download_applied, done.reconciliation) == (3, 250, "ok")
    assert done.last_batch_at == at(1, 20)
    late = after.agencies[1]
    assert (late.batches, late.batches_parked, late.billing_status, late.download_at) == (
        1, 1, None, None)
    assert [a.code for a in after.alarming] == ["103", "102"]
    assert "disque plein" in after.agencies[0].problems[0]
    before = night_status(cdb, NIGHT, zone=ZONE, deadline=time(7), now=at(5, 0))
    assert [(a.code, a.state) for a in before.agencies] == [
        ("103", FAILED), ("102", RUNNING), ("101", DONE)]
    assert [a.code for a in before.alarming] == ["103"], "a failure alarms at once"
    assert current_night(at(13), ZONE) == date(2026, 12, 6), "from noon: the coming night"
    assert current_night(at(6, 59), ZONE) == NIGHT
    text = render(after, ZONE).splitlines()
    assert text[2].startswith("103") and "ÉCHEC" in text[2]
    assert text[4].startswith("102") and "EN RETARD" in text[4] and "non fait" in text[4]


def test_night_status_command_exits_1_when_an_agency_is_not_done(
    central_sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(central_sqlite_url)
    try:
        three_agencies(db)
    finally:
        db.dispose()
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    # The night of 5 December 2026 is long past its 07:00 deadline whenever this runs.
    assert main([*base, "night", "status", "--date", "2026-12-05", "--json"]) == 1
    shown = json.loads(capsys.readouterr().out)
    assert shown["ok"] is False and shown["past_deadline"] is True
    assert [a["code"] for a in shown["agencies"]] == ["103", "102", "101"]
    assert main([*base, "night", "status", "--date", "2026-12-05"]) == 1
    assert "EN RETARD" in capsys.readouterr().out


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
    assert not [t for t in threading.enumerate() if t is controller._thread]


def test_late_agencies_raise_the_hook_and_an_email(cdb: Database, tmp_path: Path,
                                                    smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    three_agencies(cdb)
    hooked = tmp_path / "hook.txt"
    hook = (f"{sys.executable} -c \"import os, sys; open({str(hooked)!r}, 'w').write("
            "os.environ['GUICHET_NIGHT_LATE'] + chr(10) + sys.stdin.read())\"")
    settings = CentralSettings(data_dir=tmp_path, database_url=cdb.url, smtp_host="127.0.0.1",
                               smtp_port=port, alert_to=["exploitation@example.org"],
                               alert_from="central@example.org", night_alert_command=hook)
    status = night_status(cdb, NIGHT, zone=ZONE, deadline=time(7), now=at(7, 1))
    done = alert(status, settings)
    assert done == ["commande d'alerte : code 0",
                    "courriel envoyé à exploitation@example.org"]
    codes, payload = hooked.read_text().split("\n", 1)
    assert codes == "103,102" and json.loads(payload)["ok"] is False
    (mail,) = inbox.messages
    assert mail["To"] == "exploitation@example.org" and "103,102" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "EN RETARD" in body and "ÉCHEC" in body
    quiet = night_status(cdb, NIGHT, zone=ZONE, deadline=time(7), now=at(7, 1))
    quiet.agencies = [a for a in quiet.agencies if a.code == "101"]
    assert alert(quiet, settings) == [] and len(inbox.messages) == 1, "nothing to say: no alert"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def api(cdb: Database, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    worlds = three_agencies(cdb)
    sub = worlds["101"].subscribe()
    worlds["101"].read(sub.meter_id, date(2026, 10, 31), 5)
    with cdb.session() as session, session.begin():
        admin = issue_admin_credential(session, "supervision")
    secrets = {"admin": admin, "101": new_agency_credential(cdb, "101"),
               "102": new_agency_credential(cdb, "102")}
    app = create_app(CentralSettings(data_dir=tmp_path, database_url=cdb.url), db=cdb)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://central") as http:
        yield http, secrets


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.anyio
async def test_the_same_as_json_for_a_monitoring_system(
    api: tuple[httpx.AsyncClient, dict[str, str]]
) -> None:
    http, secrets = api
    answer = await http.get("/admin/night", params={"date": "2026-12-05"},
                            headers=bearer(secrets["admin"]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is False and [a["state"] for a in body["agencies"]] == [
        "failed", "late", "done"]
    assert (await http.get("/admin/night", headers=bearer(secrets["101"]))).status_code == 403
    sent = await http.post("/agencies/102/sync/night-report", headers=bearer(secrets["102"]),
                           json={"status": "warning", "commits": 2, "applied": 9,
                                 "mismatches": ["payment"]})
    assert sent.status_code == 201
    refused = await http.post("/agencies/102/sync/night-report", headers=bearer(secrets["101"]),
                              json={"status": "done"})
    assert refused.status_code == 403
    unread = await http.get("/agencies/101/unread-meters", params={"periods": 1},
                            headers=bearer(secrets["101"]))
    assert unread.status_code == 200
    assert [m["last_real_reading"] for m in unread.json()["items"]] == ["2026-10-31"]


def test_a_desk_report_lands_in_the_night_it_belongs_to(cdb: Database) -> None:
    worlds = three_agencies(cdb)
    from central.night import record_report

    record_report(cdb, worlds["102"].agency_id, {"status": "warning", "commits": 2,
                                                  "applied": 9, "mismatches": ["payment"],
                                                  "repaired_rows": 3})
    with cdb.session() as session, session.begin():
        report = session.scalars(select(NightReport).where(NightReport.status == "warning")).one()
        report.at = at(3, 0)  # recorded during the night of 5 December
    status = night_status(cdb, NIGHT, zone=ZONE, deadline=time(7), now=at(7, 30))
    late = next(a for a in status.agencies if a.code == "102")
    assert late.reconciliation == "écarts : payment (3 ligne(s) reprise(s))"
    assert late.state == LATE, "still not billed"
