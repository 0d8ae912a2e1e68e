"""Intervention requests (issue 19): taking them, their deadlines on working time, the workflow
and its history, two agents on one request, the planning clashes, the automatic reconnection
after a payment, the readings of a report, works from a quote, lists and printing."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.models import (
    Account,
    Commune,
    InterventionLine,
    InterventionRequest,
    MeterReading,
    PublicHoliday,
    ServiceConnection,
    Street,
    Technician,
    WorksCatalogueItem,
    WorksQuote,
    WorksQuoteLine,
)
from app.models.capture import SYSTEM
from app.models.enums import (
    ConnectionStatus,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    PaymentMethod,
    QuoteStatus,
    Role,
    Skill,
)
from app.services.interventions import calendar, lists, planning, report, requests, workflow
from app.services.interventions.links import create_works_request
from app.services.interventions.planning import PlanningClash, TechnicianInput, place_job
from app.services.interventions.requests import (
    DuplicateRequestWarning,
    RequestInput,
    create_request,
    update_request,
)
from app.services.interventions.work_order import day_sheet_pdf, work_order_pdf
from app.services.payments import record_payment
from kernel.context import ServiceContext, SignedInUser, UnitOfWork
from kernel.errors import (
    BusinessError,
    ConcurrentEditError,
    PermissionDeniedError,
    ValidationError,
)
from tests.services.helpers import household

ABIDJAN = ZoneInfo("Africa/Abidjan")


def _as(ctx: ServiceContext, role: Role, name: str = "") -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, name or f"Awa {role.value}", role))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ABIDJAN)


def _street(ctx: ServiceContext, commune: str = "Cocody", n: int = 0) -> tuple[uuid.UUID, uuid.UUID]:
    with ctx.reading() as session:
        place = session.scalars(select(Commune).where(Commune.name == commune)).one()
        street = session.scalars(select(Street).where(Street.commune_id == place.id)
                                 .order_by(Street.name)).all()[n]
        return place.id, street.id


def _leak(ctx: ServiceContext, **changes: object) -> RequestInput:
    commune_id, street_id = _street(ctx)
    fields: dict[str, object] = dict(type=InterventionType.LEAK, priority=InterventionPriority.HIGH,
                                     description="Eau qui jaillit du trottoir", commune_id=commune_id,
                                     street_id=street_id, reporter_name="Un passant")
    fields.update(changes)
    return RequestInput(**fields)  # type: ignore[arg-type]


def _technician(ctx: ServiceContext, name: str, *skills: Skill) -> uuid.UUID:
    return planning.save_technician(ctx, TechnicianInput(name=name, skills=frozenset(skills)))


def _version(ctx: ServiceContext, request_id: uuid.UUID) -> int:
    return lists.request_detail(ctx, request_id).version


def _next_monday(ctx: ServiceContext) -> date:
    today = ctx.installation.today()
    return today + timedelta(days=7 - today.weekday())


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
    commune_id, _street_id = _street(ctx)
    with pytest.raises(ValidationError, match="point de repère"):
        create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite",
                                         commune_id=commune_id))
    first = create_request(ctx, _leak(ctx))
    with pytest.raises(DuplicateRequestWarning) as warning:
        create_request(ctx, _leak(ctx, reporter_name="Un voisin"))
    assert first.number in warning.value.message
    assert [d.number for d in warning.value.duplicates] == [first.number]
    second = create_request(ctx, _leak(ctx), confirmed_duplicate=True)
    assert second.number != first.number
    create_request(ctx, _leak(ctx, type=InterventionType.BREAKDOWN))  # another kind: no warning
    workflow.cancel(ctx, first.request_id, first.version, "Doublon")
    workflow.cancel(ctx, second.request_id, second.version, "Doublon")
    create_request(ctx, _leak(ctx))  # none open any more


def test_the_same_landmark_is_the_same_place(ctx: ServiceContext) -> None:
    commune_id, _ = _street(ctx)
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
    monkeypatch.setattr(requests, "utcnow", lambda: _at(friday, 16).astimezone(UTC))
    # A leak at high priority: 4 working hours. Friday 16:00–16:30, Monday is the agency's
    # holiday, Tuesday 07:30 + 3 h 30 = 11:00.
    saved = create_request(ctx, _leak(ctx))
    assert saved.due_at == _at(date(2026, 12, 8), 11).astimezone(UTC)
    # Urgent: 2 hours → Friday's half hour, then Tuesday 07:30 + 1 h 30.
    urgent = create_request(ctx, _leak(ctx, priority=InterventionPriority.URGENT,
                                       type=InterventionType.BREAKDOWN))
    assert urgent.due_at == _at(date(2026, 12, 8), 9).astimezone(UTC)
    # A new priority moves the deadline, counted from when the request was taken.
    moved = update_request(ctx, urgent.request_id, urgent.version,
                           _leak(ctx, type=InterventionType.BREAKDOWN,
                                 priority=InterventionPriority.NORMAL))
    # 8 hours: Friday 0.5 h, Tuesday 7.5 h → 07:30–12:00 (4.5) and 13:00–16:00 (3).
    assert moved.due_at == _at(date(2026, 12, 8), 16).astimezone(UTC)


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
    assert cal.add_working_minutes(_at(wednesday, 11), 90) == _at(wednesday, 13, 30).astimezone(UTC)
    assert cal.add_working_minutes(_at(wednesday, 20), 30) == _at(date(2026, 12, 3), 8).astimezone(UTC)
    assert cal.working_minutes_between(_at(wednesday, 11), _at(wednesday, 14)) == 120
    assert not cal.is_working_day(date(2026, 12, 25)), "Noël, from central's holidays"


def test_an_open_request_past_its_deadline_is_overdue_in_the_lists(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests, "utcnow", lambda: datetime(2026, 1, 5, 9, tzinfo=UTC))
    late = create_request(ctx, _leak(ctx))
    monkeypatch.undo()
    fresh = create_request(ctx, _leak(ctx, type=InterventionType.COMPLAINT,
                                      priority=InterventionPriority.LOW))
    rows = {r.number: r for r in lists.list_requests(ctx, lists.RequestFilter())}
    assert rows[late.number].overdue and not rows[fresh.number].overdue
    overdue = lists.list_requests(ctx, lists.RequestFilter(overdue_only=True))
    assert [r.number for r in overdue] == [late.number]
    assert lists.overdue_count(ctx) == 1
    assert lists.request_detail(ctx, late.request_id).overdue


# --- workflow ---------------------------------------------------------------------------------

def test_the_workflow_keeps_who_and_when_and_asks_for_reasons(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT, "Yao KOUASSI")
    saved = create_request(agent, _leak(ctx))
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    version = place_job(agent, saved.request_id, saved.version, tech,
                        _at(_next_monday(ctx), 9).astimezone(UTC))
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
        update_request(agent, saved.request_id, version, _leak(ctx))


def test_two_agents_editing_one_request(ctx: ServiceContext) -> None:
    saved = create_request(ctx, _leak(ctx))
    first, second = _as(ctx, Role.AGENT, "Yao"), _as(ctx, Role.AGENT, "Awa")
    update_request(first, saved.request_id, saved.version, _leak(ctx, description="Grosse fuite"))
    with pytest.raises(ConcurrentEditError, match="modifiée par un autre poste"):
        update_request(second, saved.request_id, saved.version, _leak(ctx, description="Petite"))
    with pytest.raises(ConcurrentEditError):
        workflow.cancel(second, saved.request_id, saved.version, "Doublon")
    assert lists.request_detail(ctx, saved.request_id).description == "Grosse fuite"


# --- planning clashes -------------------------------------------------------------------------

def test_planning_clashes_are_refused_unless_a_supervisor_forces_them(ctx: ServiceContext) -> None:
    agent, supervisor = _as(ctx, Role.AGENT), _as(ctx, Role.SUPERVISOR, "Awa KONÉ")
    monday = _next_monday(ctx)
    water = _technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    power = _technician(ctx, "Hervé GNAGNE", Skill.ELECTRICITY)
    one = create_request(ctx, _leak(ctx))
    two = create_request(ctx, _leak(ctx, type=InterventionType.LEAK_AT_CUSTOMER))
    place_job(agent, one.request_id, one.version, water, _at(monday, 9).astimezone(UTC))
    with pytest.raises(PlanningClash, match="déjà la demande") as clash:
        place_job(agent, two.request_id, two.version, water, _at(monday, 9, 30).astimezone(UTC))
    assert one.number in clash.value.message
    with pytest.raises(PlanningClash, match="compétence demandée \\(eau\\)"):
        place_job(agent, two.request_id, two.version, power, _at(monday, 9).astimezone(UTC))
    with pytest.raises(PlanningClash, match="heures"):
        place_job(agent, two.request_id, two.version, water, _at(monday, 18).astimezone(UTC))
    with pytest.raises(PlanningClash, match="pas un jour travaillé"):
        place_job(agent, two.request_id, two.version, water,
                  _at(monday - timedelta(days=1), 9).astimezone(UTC))
    planning.add_absence(ctx, water, monday + timedelta(days=1), monday + timedelta(days=2), "Congé")
    with pytest.raises(PlanningClash, match="absent"):
        place_job(agent, two.request_id, two.version, water,
                  _at(monday + timedelta(days=1), 9).astimezone(UTC))
    with pytest.raises(PermissionDeniedError):
        place_job(agent, two.request_id, two.version, water, _at(monday, 9, 30).astimezone(UTC),
                  force=True)
    version = place_job(supervisor, two.request_id, two.version, water,
                        _at(monday, 9, 30).astimezone(UTC), force=True)
    detail = lists.request_detail(ctx, two.request_id)
    assert (detail.version, detail.forced_by, detail.status) == (
        version, "supervisor", InterventionStatus.SCHEDULED)
    assert "forcé malgré" in detail.history[-1].note
    board = planning.board(ctx, monday, 5)
    clashing = {j.number: j.clashes for j in board.jobs}
    assert clashing[two.number] and clashing[one.number], "the board shows both at once"


def test_travel_between_communes_needs_a_buffer(ctx: ServiceContext) -> None:
    monday = _next_monday(ctx)
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    here = create_request(ctx, _leak(ctx))
    near = create_request(ctx, _leak(ctx, type=InterventionType.LOW_PRESSURE))
    commune_id, street_id = _street(ctx, "Yopougon")
    far = create_request(ctx, _leak(ctx, commune_id=commune_id, street_id=street_id,
                                    type=InterventionType.BREAKDOWN))
    place_job(ctx, here.request_id, here.version, tech, _at(monday, 8).astimezone(UTC))
    # The leak takes an hour: 09:10 in the same commune is fine, in another one it is not.
    place_job(ctx, near.request_id, near.version, tech, _at(monday, 9, 10).astimezone(UTC))
    with pytest.raises(PlanningClash, match="temps de trajet"):
        place_job(ctx, far.request_id, far.version, tech, _at(monday, 10, 20).astimezone(UTC))
    place_job(ctx, far.request_id, far.version, tech, _at(monday, 10, 40).astimezone(UTC))


def test_the_board_shows_the_week_and_the_requests_to_plan(ctx: ServiceContext) -> None:
    monday = _next_monday(ctx)
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    planned = create_request(ctx, _leak(ctx))
    waiting = create_request(ctx, _leak(ctx, type=InterventionType.COMPLAINT))
    version = place_job(ctx, planned.request_id, planned.version, tech,
                        _at(monday + timedelta(days=2), 14).astimezone(UTC))
    week = planning.board(ctx, monday, 7)
    assert [j.number for j in week.jobs_of(tech)] == [planned.number]
    assert [j.number for j in week.unscheduled] == [waiting.number]
    assert "Seydou TRAORÉ" in [t.name for t in week.technicians]
    assert planning.board(ctx, monday, 1).jobs_of(tech) == []
    planning.unschedule(ctx, planned.request_id, version)
    assert {j.number for j in planning.board(ctx, monday, 7).unscheduled} == {
        planned.number, waiting.number}


# --- rules that tie modules together ----------------------------------------------------------

def _cut_off(ctx: ServiceContext, connection_id: uuid.UUID, account_id: uuid.UUID, owed: int) -> None:
    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        uow.session.execute(update(ServiceConnection).where(ServiceConnection.id == connection_id)
                            .values(status=ConnectionStatus.CUT_OFF))
        uow.session.execute(update(Account).where(Account.id == account_id)
                            .values(balance_minor=owed, balance_as_of=datetime.now(UTC)))
        uow.commit()


def test_paying_a_disconnected_accounts_debt_asks_for_its_reconnection(ctx: ServiceContext) -> None:
    home = household(ctx)
    _cut_off(ctx, home.connection_id, home.account_id, 30_000)
    partial = record_payment(ctx, home.account_id, Decimal(10_000), PaymentMethod.CASH)
    assert partial.reconnections == ()
    paid = record_payment(ctx, home.account_id, Decimal(20_000), PaymentMethod.CASH)
    assert len(paid.reconnections) == 1
    rows = lists.customer_requests(ctx, home.customer_id)
    assert [(r.number, r.type, r.priority) for r in rows] == [
        (paid.reconnections[0], InterventionType.RECONNECTION, InterventionPriority.HIGH)]
    detail = lists.request_detail(ctx, rows[0].request_id)
    assert detail.meter_id == home.meter_id and paid.receipt_number in detail.description
    again = record_payment(ctx, home.account_id, Decimal(1_000), PaymentMethod.CASH, confirmed=True)
    assert again.reconnections == (), "one open reconnection request is enough"


def test_a_paid_account_that_is_not_cut_off_asks_for_nothing(ctx: ServiceContext) -> None:
    home = household(ctx)
    _cut_off(ctx, home.connection_id, home.account_id, 5_000)
    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        uow.session.execute(update(ServiceConnection).values(status=ConnectionStatus.ACTIVE))
        uow.commit()
    assert record_payment(ctx, home.account_id, Decimal(5_000), PaymentMethod.CASH).reconnections == ()


def test_a_reading_check_closes_with_a_reading_through_the_readings_service(ctx: ServiceContext) -> None:
    home = household(ctx)
    saved = create_request(ctx, RequestInput(type=InterventionType.METER_CHECK,
                                             description="Le client conteste", meter_id=home.meter_id))
    version = workflow.start(ctx, saved.request_id, saved.version)
    with pytest.raises(ValidationError, match="inférieur au précédent"):
        report.complete(ctx, saved.request_id, version, report.ReportInput("Relevé", 20, site_index=100))
    assert lists.request_detail(ctx, saved.request_id).status is InterventionStatus.IN_PROGRESS
    done = report.complete(ctx, saved.request_id, version,
                           report.ReportInput("Index conforme", 20, site_index=250))
    with ctx.reading() as session:
        reading = session.get(MeterReading, done.reading_id)
        assert reading is not None and reading.index_value == 250
        assert saved.number in reading.note
    assert lists.request_detail(ctx, saved.request_id).reading_index == 250


def test_a_disputed_index_found_wrong_is_corrected_by_a_supervisor(ctx: ServiceContext) -> None:
    home = household(ctx, readings=[(60, 190), (30, 2200)])
    with ctx.reading() as session:
        disputed = session.scalars(select(MeterReading).where(
            MeterReading.meter_id == home.meter_id, MeterReading.index_value == 2200)).one()
    saved = create_request(ctx, RequestInput(type=InterventionType.METER_CHECK,
                                             description="Index 2200 contesté", meter_id=home.meter_id,
                                             disputed_reading_id=disputed.id))
    version = workflow.start(ctx, saved.request_id, saved.version)
    wrong = report.ReportInput("2200 tapé au lieu de 220", 30, site_index=250,
                               corrected_disputed_index=220)
    with pytest.raises(PermissionDeniedError, match="superviseur"):
        report.complete(_as(ctx, Role.AGENT), saved.request_id, version, wrong)
    done = report.complete(_as(ctx, Role.SUPERVISOR), saved.request_id, version, wrong)
    with ctx.reading() as session:
        corrected = session.get(MeterReading, disputed.id)
        assert corrected is not None
        assert (corrected.index_value, corrected.corrected_from_index) == (220, 2200)
        assert saved.number in corrected.note
    assert done.corrected_reading_id == disputed.id and done.reading_id is not None


def test_the_report_keeps_parts_time_attachments_and_a_follow_up(ctx: ServiceContext) -> None:
    home = household(ctx)
    saved = create_request(ctx, RequestInput(type=InterventionType.LEAK_AT_CUSTOMER,
                                             description="Fuite avant compteur", account_id=home.account_id))
    with ctx.reading() as session:
        pipe = session.scalars(select(WorksCatalogueItem).where(WorksCatalogueItem.code == "PEHD-25")).one()
    photo = report.Attachment("fuite.png", "image/png", b"\x89PNG fake", "Avant réparation")
    with pytest.raises(ValidationError, match="photos"):
        report.complete(ctx, saved.request_id, saved.version, report.ReportInput(
            "x" * 5, 10, attachments=(report.Attachment("a.exe", "application/x-msdownload", b"MZ"),)))
    version = workflow.start(ctx, saved.request_id, saved.version)
    done = report.complete(ctx, saved.request_id, version, report.ReportInput(
        "Tube remplacé sur 2 m", 75, parts=(report.PartUsed(pipe.id, Decimal("2.5")),),
        attachments=(photo,), follow_up="request", follow_up_type=InterventionType.METER_CHANGE,
        follow_up_note="Compteur à remplacer (verre fendu)"))
    detail = lists.request_detail(ctx, saved.request_id)
    assert detail.status is InterventionStatus.DONE and detail.time_spent_minutes == 75
    assert [(p.label, p.quantity) for p in detail.parts] == [(pipe.label, Decimal("2.5"))]
    assert [(a.filename, a.caption) for a in detail.attachments] == [("fuite.png", "Avant réparation")]
    assert report.attachment_content(ctx, detail.attachments[0].document_id)[2] == b"\x89PNG fake"
    follow = [r for r in lists.customer_requests(ctx, home.customer_id) if r.number == done.follow_up_number]
    assert follow and follow[0].type is InterventionType.METER_CHANGE


def _approved_quote(ctx: ServiceContext, customer_id: uuid.UUID, premise_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        items = {i.code: i for i in uow.session.scalars(select(WorksCatalogueItem))}
        today = ctx.installation.today()
        quote = WorksQuote(agency_id=ctx.installation.agency_id, number=f"DV101-T-{uuid.uuid4().hex[:6]}",
                           status=QuoteStatus.APPROVED, customer_id=customer_id, premise_id=premise_id,
                           subject="Branchement neuf", issued_on=today, valid_until=today,
                           approved_on=today, approved_by="Hélène KONÉ")
        for position, (code, quantity) in enumerate((("BR-EAU-15", "1"), ("TR-ML", "12.5")), start=1):
            item = items[code]
            quote.lines.append(WorksQuoteLine(
                agency_id=quote.agency_id, position=position, catalogue_item_id=item.id, label=item.label,
                quantity=Decimal(quantity), unit=item.unit, unit_price_minor=item.unit_price_minor,
                vat_rate=item.vat_rate, amount_excl_vat_minor=0, vat_minor=0, amount_minor=0))
        uow.session.add(quote)
        uow.session.flush()
        uow.commit()
        return quote.id


def test_works_from_an_approved_quote_carry_its_lines(ctx: ServiceContext) -> None:
    home = household(ctx)
    quote_id = _approved_quote(ctx, home.customer_id, home.premise_id)
    with ctx.unit_of_work() as uow:
        quote = uow.session.get(WorksQuote, quote_id)
        assert quote is not None
        request = create_works_request(ctx, quote)
        assert create_works_request(ctx, quote) is request, "ordered twice: the same job"
        uow.commit()
        request_id = request.id
    detail = lists.request_detail(ctx, request_id)
    assert detail.type is InterventionType.WORKS and detail.quote_number.startswith("DV101-T-")
    assert [(t.label, t.quantity) for t in detail.tasks] == [
        ("Branchement eau DN 15 (jusqu'à 10 m)", Decimal("1")),
        ("Tranchée et remblai (par mètre)", Decimal("12.5"))]
    assert detail.channel.value == "quote" and detail.energy is not None
    with ctx.reading() as session:
        assert session.scalar(select(InterventionLine.quote_line_id).where(
            InterventionLine.request_id == request_id).limit(1)) is not None
    with ctx.unit_of_work() as uow:
        uow.session.execute(update(WorksQuote).values(status=QuoteStatus.DRAFT))
        uow.commit()
    with ctx.unit_of_work() as uow:
        draft = uow.session.get(WorksQuote, quote_id)
        assert draft is not None
        with pytest.raises(BusinessError, match="n'est pas accepté"):
            create_works_request(ctx, draft)


# --- lists, export, printing ------------------------------------------------------------------

def test_lists_filter_count_and_export(ctx: ServiceContext, tmp_path: Path) -> None:
    monday = _next_monday(ctx)
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER)
    a = create_request(ctx, _leak(ctx))
    create_request(ctx, _leak(ctx, type=InterventionType.COMPLAINT))
    commune_id, street_id = _street(ctx, "Yopougon")
    c = create_request(ctx, _leak(ctx, commune_id=commune_id, street_id=street_id))
    place_job(ctx, a.request_id, a.version, tech, _at(monday, 9).astimezone(UTC))
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
    monday = _next_monday(ctx)
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER, Skill.METERS)
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
    place_job(ctx, saved.request_id, saved.version, tech, _at(monday, 10).astimezone(UTC))
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


def test_ordering_the_works_of_an_approved_quote_makes_the_job(ctx: ServiceContext) -> None:
    from app.services.works.quotes import order_works

    home = household(ctx)
    quote_id = _approved_quote(ctx, home.customer_id, home.premise_id)
    ordered = order_works(ctx, quote_id)
    rows = [r for r in lists.customer_requests(ctx, home.customer_id)
            if r.number == ordered.request_number]
    assert len(rows) == 1 and rows[0].type is InterventionType.WORKS
    detail = lists.request_detail(ctx, rows[0].request_id)
    assert detail.quote_number == ordered.number and detail.premise_id == home.premise_id
    assert [t.label for t in detail.tasks] == [line.label for line in ordered.lines]
    assert detail.history[0].note == f"Commandé depuis le devis {ordered.number}"


def _ordered_connection_quote(ctx: ServiceContext) -> tuple[uuid.UUID, uuid.UUID, int]:
    """A prospect's connection quote (water tariff), approved and ordered: (quote, job, version)."""
    from app.models.enums import ApprovalMethod, Civility
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.connection import connection_tariffs
    from app.services.works.quotes import (
        Prospect,
        QuoteInput,
        approve_quote,
        create_quote,
        order_works,
        send_quote,
    )
    from app.services.works.totals import LineInput

    item = item_for(load_catalogue(ctx), "PEHD-25")
    assert item is not None
    water = next(t for t, name in connection_tariffs(ctx) if "au" in name.lower())
    commune_id, street_id = _street(ctx)
    saved = create_quote(ctx, QuoteInput(
        [LineInput(item.label, Decimal(8), item.unit_price_minor, item.vat_rate, item.unit,
                   catalogue_item_id=item.item_id)],
        prospect=Prospect(Civility.MRS, "Yao", "Adjoua", "0505050505", commune_id, street_id, "21"),
        tariff_id=water, subject="Branchement neuf"))
    send_quote(ctx, saved.quote_id)
    approve_quote(ctx, saved.quote_id, "Adjoua Yao", ApprovalMethod.IN_PERSON)
    ordered = order_works(ctx, saved.quote_id)
    with ctx.reading() as session:
        job = session.scalars(select(InterventionRequest).where(
            InterventionRequest.number == ordered.request_number)).one()
    tech = _technician(ctx, "Seydou TRAORÉ", Skill.WATER, Skill.METERS)
    version = place_job(ctx, job.id, job.version, tech, _at(_next_monday(ctx), 9).astimezone(UTC))
    return saved.quote_id, job.id, workflow.start(ctx, job.id, version)


def test_a_completed_connection_job_puts_the_meter_in_service(ctx: ServiceContext) -> None:
    """The report gives the meter put in and its index: in the closing's own transaction the
    site gets its connection, the meter (installed that day, that index) and the contract on
    the quote's tariff, and the job points at them."""
    from app.models import Contract, Meter, MeterReading
    from app.models.enums import ContractStatus, Energy, MeterStatus, ReadingKind
    from kernel.identifiers import make_meter_serial

    agent = _as(ctx, Role.AGENT, "Yao KOUASSI")
    quote_id, job_id, version = _ordered_connection_quote(agent)
    detail = lists.request_detail(agent, job_id)
    assert detail.connects_meter and detail.meter_id is None
    with pytest.raises(ValidationError, match="compteur posé"):
        report.complete(agent, job_id, version, report.ReportInput("Branchement posé", 120))
    serial = make_meter_serial(Energy.WATER, 77001)
    with agent.unit_of_work() as uow:  # a meter of that serial already exists elsewhere
        uow.session.add(Meter(agency_id=agent.installation.agency_id, serial=serial,
                              energy=Energy.WATER, digits=5))
        uow.commit()
    with pytest.raises(ValidationError, match="existe déjà"):
        report.complete(agent, job_id, version, report.ReportInput(
            "Branchement posé", 120, meter_serial=serial, installed_index=4))
    still = lists.request_detail(agent, job_id)
    assert still.status is not InterventionStatus.DONE, "nothing of the closing was written"
    with agent.reading() as session:
        quote = session.get(WorksQuote, quote_id)
        assert quote is not None and quote.customer_id is None, "the prospect stays a prospect"
    serial = make_meter_serial(Energy.WATER, 77002)
    yesterday = agent.installation.today() - timedelta(days=1)
    done = report.complete(agent, job_id, version, report.ReportInput(
        "Branchement posé, compteur scellé", 120, meter_serial=serial, installed_index=4,
        reading_day=yesterday))
    assert done.connected is not None
    with agent.reading() as session:
        meter = session.get(Meter, done.connected.meter_id)
        assert meter is not None and meter.serial == serial
        assert (meter.status, meter.installed_on, meter.initial_index) == (
            MeterStatus.INSTALLED, yesterday, 4)
        contract = session.get(Contract, done.connected.contract_id)
        assert contract is not None and contract.status is ContractStatus.ACTIVE
        assert contract.connection_id == meter.connection_id and contract.start_date == yesterday
        reading = session.get(MeterReading, contract.move_in_reading_id)
        assert reading is not None and (reading.index_value, reading.kind) == (4, ReadingKind.MOVE_IN)
        quote = session.get(WorksQuote, quote_id)
        assert quote is not None and quote.customer_id is not None
        assert contract.account_id == quote.account_id == done.connected.account_id
    closed = lists.request_detail(agent, job_id)
    assert closed.status is InterventionStatus.DONE and closed.meter_id == meter.id
    assert closed.customer_id == quote.customer_id and not closed.connects_meter
    assert f"compteur {serial} posé à l'index 4" in closed.history[-1].note


def test_letter_and_quote_follow_ups_are_made_once_the_job_is_closed(ctx: ServiceContext) -> None:
    """A letter follow-up is issued by the letters service about the request (numbered, kept on
    the customer); a quote follow-up names the account the screen opens a new quote for."""
    from app.services.letters.issue import letters_of_customer
    from app.services.letters.templates import list_templates
    from kernel.identifiers import format_account_number

    agent = _as(ctx, Role.AGENT, "Yao KOUASSI")
    home = household(ctx)
    appointment = next(t for t in list_templates(agent) if t.code == "RDV")
    first = create_request(agent, _leak(ctx, customer_id=home.customer_id,
                                        account_id=home.account_id, premise_id=home.premise_id,
                                        commune_id=None, street_id=None, landmark=""))
    version = workflow.start(agent, first.request_id, first.version)
    with pytest.raises(ValidationError, match="modèle du courrier"):
        report.complete(agent, first.request_id, version,
                        report.ReportInput("Fuite réparée", 30, follow_up="letter"))
    done = report.complete(agent, first.request_id, version, report.ReportInput(
        "Fuite réparée", 30, follow_up="letter", letter_template_id=appointment.id))
    assert done.letter is not None and done.letter.docx[:2] == b"PK"
    assert done.follow_up_number == done.letter.number
    letters = letters_of_customer(agent, home.customer_id)
    assert [row.number for row in letters] == [done.letter.number]
    assert letters[0].subject == f"Suite de l'intervention {lists.request_detail(agent, first.request_id).number}"

    second = create_request(agent, _leak(ctx, customer_id=home.customer_id,
                                         account_id=home.account_id, premise_id=home.premise_id,
                                         commune_id=None, street_id=None, landmark=""),
                            confirmed_duplicate=True)
    version = workflow.start(agent, second.request_id, second.version)
    quoted = report.complete(agent, second.request_id, version, report.ReportInput(
        "Branchement à refaire", 30, follow_up="quote"))
    assert quoted.quote_account_number == format_account_number(home.account_number)
    assert lists.request_detail(agent, second.request_id).follow_up == "quote"

    street = create_request(agent, _leak(ctx), confirmed_duplicate=True)
    version = workflow.start(agent, street.request_id, street.version)
    with pytest.raises(ValidationError, match="aucun client"):
        report.complete(agent, street.request_id, version, report.ReportInput(
            "Fuite sur la voie", 30, follow_up="letter", letter_template_id=appointment.id))
    assert lists.request_detail(agent, street.request_id).status is InterventionStatus.IN_PROGRESS


def test_a_prepaid_connection_job_gives_the_meter_its_sts_identity(ctx: ServiceContext) -> None:
    """A connection quote on the prepaid tariff: the report gives the meter's DRN; the meter is
    prepaid, priced on the quote's tariff, with the agency's STS parameters, under contract."""
    from app.models import Contract, Meter
    from app.models.enums import Energy, MeterPayment
    from kernel.identifiers import make_drn, make_meter_serial

    agent = _as(ctx, Role.AGENT, "Yao KOUASSI")
    prepaid_id, _quote_id, request_number = ordered_prepaid_quote(agent)
    with agent.reading() as session:
        job = session.scalars(select(InterventionRequest).where(
            InterventionRequest.number == request_number)).one()
    tech = _technician(agent, "Awa DIALLO", Skill.ELECTRICITY, Skill.METERS)
    version = place_job(agent, job.id, job.version, tech, _at(_next_monday(agent), 9).astimezone(UTC))
    version = workflow.start(agent, job.id, version)
    detail = lists.request_detail(agent, job.id)
    assert detail.connects_meter and detail.connects_prepaid
    serial = make_meter_serial(Energy.ELECTRICITY, 6)
    with pytest.raises(ValidationError, match="DRN"):
        report.complete(agent, job.id, version, report.ReportInput(
            "Compteur posé", 60, meter_serial=serial, installed_index=0))
    with pytest.raises(ValidationError, match="contrôle"):
        report.complete(agent, job.id, version, report.ReportInput(
            "Compteur posé", 60, meter_serial=serial, installed_index=0,
            sts_drn=make_drn(4, 10_000_002)[:-1] + "0" if not make_drn(4, 10_000_002).endswith("0")
            else make_drn(4, 10_000_002)[:-1] + "1"))
    drn = make_drn(4, 10_000_002)
    done = report.complete(agent, job.id, version, report.ReportInput(
        "Compteur posé", 60, meter_serial=serial, installed_index=0, sts_drn=drn))
    assert done.connected is not None
    with agent.reading() as session:
        meter = session.get(Meter, done.connected.meter_id)
        assert meter is not None
        assert (meter.payment, meter.sts_drn, meter.sts_sgc, meter.sts_key_revision,
                meter.prepaid_tariff_id) == (MeterPayment.PREPAID, drn, 600675, 2, prepaid_id)
        contract = session.get(Contract, done.connected.contract_id)
        assert contract is not None and contract.tariff_id == prepaid_id


def ordered_prepaid_quote(agent: ServiceContext) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The agency's one prepaid meter so far (its STS model), then a prospect's connection
    quote on the prepaid tariff, approved and ordered: (tariff, quote, job number)."""
    from app.models import Meter, Tariff
    from app.models.enums import ApprovalMethod, Civility, Energy, MeterPayment
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.quotes import (
        Prospect,
        QuoteInput,
        approve_quote,
        create_quote,
        order_works,
        send_quote,
    )
    from app.services.works.totals import LineInput
    from kernel.identifiers import make_drn, make_meter_serial

    agency = agent.installation.agency_id
    with agent.unit_of_work() as uow:  # the agency's prepaid meters so far: one, its STS model
        prepaid = uow.session.scalars(select(Tariff).where(
            Tariff.payment == MeterPayment.PREPAID)).one()
        uow.session.add(Meter(agency_id=agency, serial=make_meter_serial(Energy.ELECTRICITY, 5),
                              energy=Energy.ELECTRICITY, payment=MeterPayment.PREPAID, digits=6,
                              sts_drn=make_drn(4, 10_000_001), sts_iin="600727",
                              sts_sgc=600675, sts_tariff_index=1, sts_key_revision=2,
                              sts_key_type=2, sts_key_expiry=255, sts_algorithm="07",
                              sts_dkga="04", sts_base_date=2014, prepaid_tariff_id=prepaid.id))
        uow.commit()
        prepaid_id = prepaid.id
    item = item_for(load_catalogue(agent), "COFFRET")
    assert item is not None
    commune_id, street_id = _street(agent)
    saved = create_quote(agent, QuoteInput(
        [LineInput(item.label, Decimal(1), item.unit_price_minor, item.vat_rate, item.unit,
                   catalogue_item_id=item.item_id)],
        prospect=Prospect(Civility.MR, "Bamba", "Issa", "0707070707", commune_id, street_id, "4"),
        tariff_id=prepaid_id))
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "Issa Bamba", ApprovalMethod.IN_PERSON)
    ordered = order_works(agent, saved.quote_id)
    return prepaid_id, saved.quote_id, ordered.request_number
