"""Interventions tied to the other modules (issue 19): the reconnection asked after a payment,
the readings of a report, works from an approved quote, a connection job that puts a meter (and
a prepaid meter's STS identity) in service, the letters and quotes followed up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.models import (
    Account,
    InterventionLine,
    InterventionRequest,
    MeterReading,
    ServiceConnection,
    WorksCatalogueItem,
    WorksQuote,
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
from app.services.interventions import lists, report, workflow
from app.services.interventions.links import create_works_request
from app.services.interventions.planning import place_job
from app.services.interventions.requests import (
    RequestInput,
    create_request,
)
from app.services.payments import record_payment
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import (
    BusinessError,
    PermissionDeniedError,
    ValidationError,
)
from tests.services.helpers import household
from tests.services.interventions_setup import (
    abidjan_time,
    approved_quote,
    as_role,
    leak,
    next_monday,
    ordered_connection_quote,
    ordered_prepaid_quote,
    technician,
)

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
        report.complete(as_role(ctx, Role.AGENT), saved.request_id, version, wrong)
    done = report.complete(as_role(ctx, Role.SUPERVISOR), saved.request_id, version, wrong)
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



def test_works_from_an_approved_quote_carry_its_lines(ctx: ServiceContext) -> None:
    home = household(ctx)
    quote_id = approved_quote(ctx, home.customer_id, home.premise_id)
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



def test_ordering_the_works_of_an_approved_quote_makes_the_job(ctx: ServiceContext) -> None:
    from app.services.works.quotes import order_works

    home = household(ctx)
    quote_id = approved_quote(ctx, home.customer_id, home.premise_id)
    ordered = order_works(ctx, quote_id)
    rows = [r for r in lists.customer_requests(ctx, home.customer_id)
            if r.number == ordered.request_number]
    assert len(rows) == 1 and rows[0].type is InterventionType.WORKS
    detail = lists.request_detail(ctx, rows[0].request_id)
    assert detail.quote_number == ordered.number and detail.premise_id == home.premise_id
    assert [t.label for t in detail.tasks] == [line.label for line in ordered.lines]
    assert detail.history[0].note == f"Commandé depuis le devis {ordered.number}"



def test_a_completed_connection_job_puts_the_meter_in_service(ctx: ServiceContext) -> None:
    """The report gives the meter put in and its index: in the closing's own transaction the
    site gets its connection, the meter (installed that day, that index) and the contract on
    the quote's tariff, and the job points at them."""
    from app.models import Contract, Meter, MeterReading
    from app.models.enums import ContractStatus, Energy, MeterStatus, ReadingKind
    from kernel.identifiers import make_meter_serial

    agent = as_role(ctx, Role.AGENT, "Yao KOUASSI")
    quote_id, job_id, version = ordered_connection_quote(agent)
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

    agent = as_role(ctx, Role.AGENT, "Yao KOUASSI")
    home = household(ctx)
    appointment = next(t for t in list_templates(agent) if t.code == "RDV")
    first = create_request(agent, leak(ctx, customer_id=home.customer_id,
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

    second = create_request(agent, leak(ctx, customer_id=home.customer_id,
                                         account_id=home.account_id, premise_id=home.premise_id,
                                         commune_id=None, street_id=None, landmark=""),
                            confirmed_duplicate=True)
    version = workflow.start(agent, second.request_id, second.version)
    quoted = report.complete(agent, second.request_id, version, report.ReportInput(
        "Branchement à refaire", 30, follow_up="quote"))
    assert quoted.quote_account_number == format_account_number(home.account_number)
    assert lists.request_detail(agent, second.request_id).follow_up == "quote"

    street = create_request(agent, leak(ctx), confirmed_duplicate=True)
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

    agent = as_role(ctx, Role.AGENT, "Yao KOUASSI")
    prepaid_id, _quote_id, request_number = ordered_prepaid_quote(agent)
    with agent.reading() as session:
        job = session.scalars(select(InterventionRequest).where(
            InterventionRequest.number == request_number)).one()
    tech = technician(agent, "Awa DIALLO", Skill.ELECTRICITY, Skill.METERS)
    version = place_job(agent, job.id, job.version, tech, abidjan_time(next_monday(agent), 9).astimezone(UTC))
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


