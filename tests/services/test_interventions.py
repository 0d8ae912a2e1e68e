"""Intervention requests (issue 19): taking them, their deadlines on working time, the workflow
and its history, two agents on one request, the planning clashes, technicians, lists, export
and printing."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    InterventionRequest,
    PublicHoliday,
    Technician,
)
from app.models.capture import SYSTEM
from app.models.enums import (
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    Role,
    Skill,
)
from app.services.interventions import calendar, lists, planning, report, requests, workflow
from app.services.interventions.planning import PlanningClash, TechnicianInput, place_job
from app.services.interventions.requests import (
    DuplicateRequestWarning,
    RequestInput,
    create_request,
    update_request,
)
from app.services.interventions.work_order import day_sheet_pdf, work_order_pdf
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import (
    BusinessError,
    ConcurrentEditError,
    PermissionDeniedError,
    ValidationError,
)
from tests.services.helpers import household
from tests.services.interventions_setup import (
    ABIDJAN,
    abidjan_time,
    as_role,
    leak,
    next_monday,
    street_of,
    technician,
)

# --- taking a request -------------------------------------------------------------------------

def test_a_request_links_a_customer_place_and_gets_its_number(ctx: ServiceContext) -> None:
    home = household(ctx)
    saved = create_request(ctx, RequestInput(type=InterventionType.METER_CHECK,
                                             description="Index contesté", meter_id=home.meter_id))
    detail = lists.request_detail(ctx, saved.request_id)
    assert detail.number.startswith("DI101-")
    assert (detail.customer_id, detail.premise_id) == (home.customer_id, home.premise_id)
    assert detail.meter_serial and detail.commune == "Cocody" and detail.energy is not None
    assert [e.action for e in detail.history] == ["Demande enregistrée"]


def test_a_street_leak_needs_a_place_and_warns_of_an_open_one(ctx: ServiceContext) -> None:
    with pytest.raises(ValidationError) as error:
        create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite"))
    assert "commune" in error.value.fields["commune_id"]
    commune_id, _street_id = street_of(ctx)
    with pytest.raises(ValidationError, match="point de repère"):
        create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite",
                                         commune_id=commune_id))
    first = create_request(ctx, leak(ctx))
    with pytest.raises(DuplicateRequestWarning) as warning:
        create_request(ctx, leak(ctx, reporter_name="Un voisin"))
    assert first.number in warning.value.message
    assert [d.number for d in warning.value.duplicates] == [first.number]
    second = create_request(ctx, leak(ctx), confirmed_duplicate=True)
    assert second.number != first.number
    create_request(ctx, leak(ctx, type=InterventionType.BREAKDOWN))  # another kind: no warning
    workflow.cancel(ctx, first.request_id, first.version, "Doublon")
    workflow.cancel(ctx, second.request_id, second.version, "Doublon")
    create_request(ctx, leak(ctx))  # none open any more


def test_the_same_landmark_is_the_same_place(ctx: ServiceContext) -> None:
    commune_id, _ = street_of(ctx)
    create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite",
                                     commune_id=commune_id, landmark="Carrefour de la Pharmacie"))
    with pytest.raises(DuplicateRequestWarning):
        create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite",
                                         commune_id=commune_id,
                                         landmark="carrefour de la  pharmacie"))


# --- deadlines on working time ----------------------------------------------------------------

def test_the_deadline_skips_the_weekend_and_the_agencys_holiday(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    friday = date(2026, 12, 4)
    other = _other_agency(ctx)
    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        uow.session.add(PublicHoliday(day=date(2026, 12, 7), name="Fête de la commune",
                                      agency_id=ctx.installation.agency_id))
        uow.session.add(PublicHoliday(day=date(2026, 12, 8), name="Fête d'une autre agence",
                                      agency_id=other))
        uow.commit()
    monkeypatch.setattr(requests, "utcnow", lambda: abidjan_time(friday, 16).astimezone(UTC))
    # A leak at high priority: 4 working hours. Friday 16:00–16:30, Monday is the agency's
    # holiday, Tuesday 07:30 + 3 h 30 = 11:00.
    saved = create_request(ctx, leak(ctx))
    assert saved.due_at == abidjan_time(date(2026, 12, 8), 11).astimezone(UTC)
    # Urgent: 2 hours → Friday's half hour, then Tuesday 07:30 + 1 h 30.
    urgent = create_request(ctx, leak(ctx, priority=InterventionPriority.URGENT,
                                       type=InterventionType.BREAKDOWN))
    assert urgent.due_at == abidjan_time(date(2026, 12, 8), 9).astimezone(UTC)
    # A new priority moves the deadline, counted from when the request was taken.
    moved = update_request(ctx, urgent.request_id, urgent.version,
                           leak(ctx, type=InterventionType.BREAKDOWN,
                                 priority=InterventionPriority.NORMAL))
    # 8 hours: Friday 0.5 h, Tuesday 7.5 h → 07:30–12:00 (4.5) and 13:00–16:00 (3).
    assert moved.due_at == abidjan_time(date(2026, 12, 8), 16).astimezone(UTC)


def _other_agency(ctx: ServiceContext) -> uuid.UUID:
    from app.models import Agency

    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        agency = Agency(code="102", name="Agence de Yopougon")
        uow.session.add(agency)
        uow.session.flush()
        uow.commit()
        return agency.id


def test_the_calendar_counts_lunch_breaks_and_nights(ctx: ServiceContext) -> None:
    with ctx.reading() as session:
        cal = calendar.load_calendar(session, ctx.installation.agency_id, ABIDJAN)
    wednesday = date(2026, 12, 2)
    assert cal.add_working_minutes(abidjan_time(wednesday, 11), 90) == abidjan_time(wednesday, 13, 30).astimezone(UTC)
    assert cal.add_working_minutes(abidjan_time(wednesday, 20), 30) == abidjan_time(date(2026, 12, 3), 8).astimezone(UTC)
    assert cal.working_minutes_between(abidjan_time(wednesday, 11), abidjan_time(wednesday, 14)) == 120
    assert not cal.is_working_day(date(2026, 12, 25)), "Noël, from central's holidays"


def test_an_open_request_past_its_deadline_is_overdue_in_the_lists(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "utcnow", lambda: datetime(2026, 1, 5, 9, tzinfo=UTC))
    late = create_request(ctx, leak(ctx))
    monkeypatch.undo()
    fresh = create_request(ctx, leak(ctx, type=InterventionType.COMPLAINT,
                                      priority=InterventionPriority.LOW))
    rows = {r.number: r for r in lists.list_requests(ctx, lists.RequestFilter())}
    assert rows[late.number].overdue and not rows[fresh.number].overdue
    overdue = lists.list_requests(ctx, lists.RequestFilter(overdue_only=True))
    assert [r.number for r in overdue] == [late.number]
    assert lists.overdue_count(ctx) == 1
    assert lists.request_detail(ctx, late.request_id).overdue


# --- workflow ---------------------------------------------------------------------------------

def test_the_workflow_keeps_who_and_when_and_asks_for_reasons(ctx: ServiceContext) -> None:
    agent = as_role(ctx, Role.AGENT, "Yao KOUASSI")
    saved = create_request(agent, leak(ctx))
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    version = place_job(agent, saved.request_id, saved.version, tech,
                        abidjan_time(next_monday(ctx), 9).astimezone(UTC))
    with pytest.raises(BusinessError, match="ne peut pas passer"):
        workflow.reopen(agent, saved.request_id, version, "Pas fini")
    version = workflow.start(agent, saved.request_id, version)
    with pytest.raises(ValidationError, match="motif"):
        workflow.cancel(agent, saved.request_id, version, " ")
    done = report.complete(agent, saved.request_id, version,
                           report.ReportInput("Joint de vanne remplacé", 45))
    with pytest.raises(ValidationError, match="motif de la réouverture"):
        workflow.reopen(agent, saved.request_id, done.version, "")
    version = workflow.reopen(agent, saved.request_id, done.version, "La fuite a repris")
    version = workflow.cancel(agent, saved.request_id, version, "Réparée par la mairie")
    detail = lists.request_detail(ctx, saved.request_id)
    assert detail.status is InterventionStatus.CANCELLED
    assert [(e.action, e.to_status) for e in detail.history] == [
        ("Demande enregistrée", InterventionStatus.NEW),
        ("Planifiée", InterventionStatus.SCHEDULED),
        ("Commencée", InterventionStatus.IN_PROGRESS),
        ("Terminée", InterventionStatus.DONE),
        ("Rouverte", InterventionStatus.REOPENED),
        ("Annulée", InterventionStatus.CANCELLED),
    ]
    assert {e.who for e in detail.history} == {"Yao KOUASSI"}
    assert detail.history[-2].note == "La fuite a repris"
    assert detail.history[-1].note == "Réparée par la mairie"
    with pytest.raises(BusinessError, match="terminée ou annulée"):
        update_request(agent, saved.request_id, version, leak(ctx))


def test_two_agents_editing_one_request(ctx: ServiceContext) -> None:
    saved = create_request(ctx, leak(ctx))
    first, second = as_role(ctx, Role.AGENT, "Yao"), as_role(ctx, Role.AGENT, "Awa")
    update_request(first, saved.request_id, saved.version, leak(ctx, description="Grosse fuite"))
    with pytest.raises(ConcurrentEditError, match="modifiée par un autre poste"):
        update_request(second, saved.request_id, saved.version, leak(ctx, description="Petite"))
    with pytest.raises(ConcurrentEditError):
        workflow.cancel(second, saved.request_id, saved.version, "Doublon")
    assert lists.request_detail(ctx, saved.request_id).description == "Grosse fuite"


# --- planning clashes -------------------------------------------------------------------------

def test_planning_clashes_are_refused_unless_a_supervisor_forces_them(ctx: ServiceContext) -> None:
    agent, supervisor = as_role(ctx, Role.AGENT), as_role(ctx, Role.SUPERVISOR, "Awa KONÉ")
    monday = next_monday(ctx)
    water = technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    power = technician(ctx, "Hervé GNAGNE", Skill.ELECTRICITY)
    one = create_request(ctx, leak(ctx))
    two = create_request(ctx, leak(ctx, type=InterventionType.LEAK_AT_CUSTOMER))
    place_job(agent, one.request_id, one.version, water, abidjan_time(monday, 9).astimezone(UTC))
    with pytest.raises(PlanningClash, match="déjà la demande") as clash:
        place_job(agent, two.request_id, two.version, water, abidjan_time(monday, 9, 30).astimezone(UTC))
    assert one.number in clash.value.message
    with pytest.raises(PlanningClash, match="compétence demandée \\(eau\\)"):
        place_job(agent, two.request_id, two.version, power, abidjan_time(monday, 9).astimezone(UTC))
    with pytest.raises(PlanningClash, match="heures"):
        place_job(agent, two.request_id, two.version, water, abidjan_time(monday, 18).astimezone(UTC))
    with pytest.raises(PlanningClash, match="pas un jour travaillé"):
        place_job(agent, two.request_id, two.version, water,
                  abidjan_time(monday - timedelta(days=1), 9).astimezone(UTC))
    planning.add_absence(ctx, water, monday + timedelta(days=1), monday + timedelta(days=2), "Congé")
    with pytest.raises(PlanningClash, match="absent"):
        place_job(agent, two.request_id, two.version, water,
                  abidjan_time(monday + timedelta(days=1), 9).astimezone(UTC))
    with pytest.raises(PermissionDeniedError):
        place_job(agent, two.request_id, two.version, water, abidjan_time(monday, 9, 30).astimezone(UTC),
                  force=True)
    version = place_job(supervisor, two.request_id, two.version, water,
                        abidjan_time(monday, 9, 30).astimezone(UTC), force=True)
    detail = lists.request_detail(ctx, two.request_id)
    assert (detail.version, detail.forced_by, detail.status) == (
        version, "supervisor", InterventionStatus.SCHEDULED)
    assert "forcé malgré" in detail.history[-1].note
    board = planning.board(ctx, monday, 5)
    clashing = {j.number: j.clashes for j in board.jobs}
    assert clashing[two.number] and clashing[one.number], "the board shows both at once"


def test_travel_between_communes_needs_a_buffer(ctx: ServiceContext) -> None:
    monday = next_monday(ctx)
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    here = create_request(ctx, leak(ctx))
    near = create_request(ctx, leak(ctx, type=InterventionType.LOW_PRESSURE))
    commune_id, street_id = street_of(ctx, "Yopougon")
    far = create_request(ctx, leak(ctx, commune_id=commune_id, street_id=street_id,
                                    type=InterventionType.BREAKDOWN))
    place_job(ctx, here.request_id, here.version, tech, abidjan_time(monday, 8).astimezone(UTC))
    # The leak takes an hour: 09:10 in the same commune is fine, in another one it is not.
    place_job(ctx, near.request_id, near.version, tech, abidjan_time(monday, 9, 10).astimezone(UTC))
    with pytest.raises(PlanningClash, match="temps de trajet"):
        place_job(ctx, far.request_id, far.version, tech, abidjan_time(monday, 10, 20).astimezone(UTC))
    place_job(ctx, far.request_id, far.version, tech, abidjan_time(monday, 10, 40).astimezone(UTC))


def test_the_board_shows_the_week_and_the_requests_to_plan(ctx: ServiceContext) -> None:
    monday = next_monday(ctx)
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    planned = create_request(ctx, leak(ctx))
    waiting = create_request(ctx, leak(ctx, type=InterventionType.COMPLAINT))
    version = place_job(ctx, planned.request_id, planned.version, tech,
                        abidjan_time(monday + timedelta(days=2), 14).astimezone(UTC))
    week = planning.board(ctx, monday, 7)
    assert [j.number for j in week.jobs_of(tech)] == [planned.number]
    assert [j.number for j in week.unscheduled] == [waiting.number]
    assert "Seydou TRAORÉ" in [t.name for t in week.technicians]
    assert planning.board(ctx, monday, 1).jobs_of(tech) == []
    planning.unschedule(ctx, planned.request_id, version)
    assert {j.number for j in planning.board(ctx, monday, 7).unscheduled} == {
        planned.number, waiting.number}



# --- lists, export, printing ------------------------------------------------------------------

def test_lists_filter_count_and_export(ctx: ServiceContext, tmp_path: Path) -> None:
    monday = next_monday(ctx)
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    a = create_request(ctx, leak(ctx))
    create_request(ctx, leak(ctx, type=InterventionType.COMPLAINT))
    commune_id, street_id = street_of(ctx, "Yopougon")
    c = create_request(ctx, leak(ctx, commune_id=commune_id, street_id=street_id))
    place_job(ctx, a.request_id, a.version, tech, abidjan_time(monday, 9).astimezone(UTC))
    workflow.cancel(ctx, c.request_id, c.version, "Doublon")

    def numbers(**filters: object) -> set[str]:
        return {r.number for r in lists.list_requests(ctx, lists.RequestFilter(**filters))}  # type: ignore[arg-type]

    assert numbers(status=InterventionStatus.SCHEDULED) == {a.number}
    assert numbers(technician_id=tech) == {a.number}
    assert numbers(commune_id=commune_id) == {c.number}
    assert len(numbers(type=InterventionType.LEAK)) == 2
    assert len(numbers(open_only=True)) == 2
    assert numbers(number=a.number[-3:]) == {a.number}
    counts = lists.counts_by_status(ctx, lists.RequestFilter())
    assert (counts[InterventionStatus.NEW], counts[InterventionStatus.SCHEDULED],
            counts[InterventionStatus.CANCELLED]) == (1, 1, 1)
    path = tmp_path / "demandes.csv"
    assert lists.export_csv(ctx, lists.RequestFilter(), path) == 3
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Numéro;Type;Priorité;Statut")
    assert "Fuite sur le réseau;Haute;Planifiée" in text and "Seydou TRAORÉ" in text


def test_the_work_order_and_the_day_sheet_print(ctx: ServiceContext) -> None:
    home = household(ctx)
    monday = next_monday(ctx)
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER, Skill.METERS)
    saved = create_request(ctx, RequestInput(type=InterventionType.METER_CHANGE, description="Verre fendu",
                                             meter_id=home.meter_id, contact_phone="07 01 02 03 04"))
    name, pdf = work_order_pdf(ctx, saved.request_id)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert name == f"bon-intervention-{saved.number}.pdf"
    for expected in (saved.number, "Remplacement de compteur", "KONÉ", "Verre fendu", "Constatations",
                     "Cocody", "07 01 02 03 04"):
        assert expected in text, expected
    with pytest.raises(BusinessError, match="aucune intervention"):
        day_sheet_pdf(ctx, tech, monday)
    place_job(ctx, saved.request_id, saved.version, tech, abidjan_time(monday, 10).astimezone(UTC))
    _name, sheet = day_sheet_pdf(ctx, tech, monday)
    pages = PdfReader(io.BytesIO(sheet)).pages
    assert len(pages) == 2 and "FEUILLE DE JOURNÉE" in pages[0].extract_text()
    assert "10:00" in pages[0].extract_text()


def test_technicians_teams_skills_and_absences(ctx: ServiceContext) -> None:
    team = planning.save_team(ctx, "Équipe nord")
    with pytest.raises(ValidationError, match="compétence"):
        planning.save_technician(ctx, TechnicianInput(name="Sans compétence"))
    tech = planning.save_technician(ctx, TechnicianInput(
        name="Awa DIALLO", team_id=team, skills=frozenset({Skill.ELECTRICITY, Skill.METERS}),
        day_starts_minute=8 * 60, day_ends_minute=17 * 60))
    planning.add_absence(ctx, tech, date(2026, 12, 21), date(2026, 12, 24), "Congé annuel")
    with pytest.raises(ValidationError):
        planning.add_absence(ctx, tech, date(2026, 12, 24), date(2026, 12, 21))
    row = next(t for t in planning.technicians(ctx) if t.technician_id == tech)
    assert (row.team, row.skills_text) == ("Équipe nord", "électricité, compteurs")
    absent = row.absent_on(date(2026, 12, 22))
    assert absent is not None and absent.reason == "Congé annuel"
    demo = {t.name: t.skills for t in planning.technicians(ctx)}
    assert demo["Célestine YAPI"] == frozenset(Skill)
    with ctx.reading() as session:
        assert session.scalar(select(Technician.team_id).where(Technician.id == tech)) == team


def test_requests_are_the_agencys_and_declare_what_they_point_at() -> None:
    from app.models import Base
    from app.models.ownership import Owner, owner_of, undeclared
    from kernel.wire import synced_tables

    synced = {t.name for t in synced_tables()}
    for name in ("intervention_request", "intervention_event", "intervention_line",
                 "intervention_attachment", "technician_team", "technician_absence",
                 "intervention_deadline", "working_hours", "public_holiday"):
        assert name in synced and undeclared(Base.metadata.tables[name], synced) == [], name
    assert owner_of("intervention_request") is Owner.AGENCY
    assert owner_of("intervention_deadline") is Owner.CENTRAL
    assert owner_of("intervention_request", "status") is Owner.SHARED
    assert InterventionRequest.__tablename__ == "intervention_request"


