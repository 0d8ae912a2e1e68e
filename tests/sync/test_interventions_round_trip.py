"""Intervention requests go to central with the night, their history, job lines and
attachments with them (isolation between agencies: tests/central/sync/test_interventions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.models import (
    Commune,
    InterventionAttachment,
    InterventionEvent,
    InterventionLine,
    InterventionRequest,
    Street,
    WorksCatalogueItem,
)
from app.models.database import Database
from app.models.enums import InterventionStatus, InterventionType, Skill
from app.services.interventions import planning, report, workflow
from app.services.interventions.requests import RequestInput, create_request
from tests.sync.conftest import Central, Desk


def test_a_request_and_its_report_reach_central(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    ctx = desk.ctx
    with ctx.reading() as session:
        commune = session.scalars(select(Commune).order_by(Commune.name)).first()
        assert commune is not None
        street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
        part = session.scalars(select(WorksCatalogueItem).where(
            WorksCatalogueItem.code == "PEHD-25")).one()
    saved = create_request(ctx, RequestInput(
        type=InterventionType.LEAK, description="Fuite sur la chaussée", commune_id=commune.id,
        street_id=street.id if street else None, landmark="Devant l'école"))
    tech = planning.save_technician(ctx, planning.TechnicianInput(
        name="Seydou TRAORÉ", skills=frozenset({Skill.WATER})))
    monday = ctx.installation.today() + timedelta(days=7 - ctx.installation.today().weekday())
    start = datetime(monday.year, monday.month, monday.day, 9, tzinfo=UTC)
    version = planning.place_job(ctx, saved.request_id, saved.version, tech, start)
    version = workflow.start(ctx, saved.request_id, version)
    report.complete(ctx, saved.request_id, version, report.ReportInput(
        "Collier posé", 40, parts=(report.PartUsed(part.id, 1),),
        attachments=(report.Attachment("photo.jpg", "image/jpeg", b"\xff\xd8photo"),)))
    night = desk.sync()
    assert night.status == "succeeded", night.message
    central_db = Database(central.db_url)
    try:
        with central_db.reading() as session:
            request = session.get(InterventionRequest, saved.request_id)
            assert request is not None
            assert (request.status, request.outcome, request.technician_id) == (
                InterventionStatus.DONE, "Collier posé", tech)
            assert request.agency_id == desk.installation.agency_id
            actions = session.scalars(select(InterventionEvent.action).where(
                InterventionEvent.request_id == saved.request_id)
                .order_by(InterventionEvent.at)).all()
            assert actions == ["created", "scheduled", "started", "done"]
            assert session.scalar(select(InterventionLine.label).where(
                InterventionLine.request_id == saved.request_id)) == part.label
            assert session.scalar(select(InterventionAttachment.id).where(
                InterventionAttachment.request_id == saved.request_id)) is not None
    finally:
        central_db.dispose()

