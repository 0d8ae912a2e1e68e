"""A desk's nightly run tells central how it ended (issue 15): central's control room then shows
the download fetched and the reconciliation result for that agency."""

from __future__ import annotations

from sqlalchemy import select

from app.models.database import Database
from app.models.ids import utcnow
from central.models import NightReport
from central.night import current_night, night_status
from tests.sync.conftest import Central, Desk
from tests.sync.world import day_of_business


def test_the_desk_reports_its_download_and_reconciliation(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 3)
    night = desk.sync()
    assert night.status == "succeeded", night.message
    central_db = Database(central.db_url)
    try:
        with central_db.reading() as session:
            reports = list(session.scalars(select(NightReport).order_by(NightReport.at)))
        assert [r.status for r in reports] == ["done", "done"], "one per run that downloaded"
        assert reports[-1].mismatches == [] and reports[-1].commits >= 1
        zone = desk.ctx.installation.zone
        now = utcnow()
        status = night_status(central_db, current_night(now, zone), zone=zone, now=now)
        (agency,) = [a for a in status.agencies if a.code == desk.ctx.installation.agency_code]
        assert agency.reconciliation == "ok" and agency.download_at == reports[-1].at
        assert agency.batches >= 1
    finally:
        central_db.dispose()
