"""Closing a job with the technician's report: findings, the index read on site (recorded by the
readings service, with its own checks), the disputed index corrected when the check found it
wrong (a supervisor's correction, through the same service), parts used from the catalogue, time
spent, photos or scans, and what follows (a quote, a letter, another request).

The readings are written first, each in its own transaction as the readings service does: a
refused index (or one to confirm) stops the closing before anything of it is written. The
request's version is checked before them and again when the request is closed."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Document,
    InterventionAttachment,
    InterventionLine,
    InterventionRequest,
    WorksCatalogueItem,
    WorksQuote,
)
from app.models.enums import InterventionStatus, InterventionType, ReadingSource
from app.models.ids import utcnow
from app.services.interventions.requests import RequestInput, add_event, new_request
from app.services.interventions.workflow import check_step, load_for_step
from app.services.letters.fields import Subject
from app.services.letters.issue import IssuedLetter, issue_letter
from app.services.letters.templates import require_usable, template_content
from app.services.readings import correct_reading, record_reading
from app.services.works.connection import (
    Connected,
    connect_quote,
    is_connection_quote,
    is_prepaid_quote,
)
from kernel.context import ServiceContext
from kernel.errors import ConcurrentEditError, NotFoundError, ValidationError
from kernel.identifiers import format_account_number, validate_meter_serial

FOLLOW_UPS = {"": "Aucune", "quote": "Un devis", "letter": "Un courrier",
              "request": "Une autre demande"}
MAX_ATTACHMENT = 10 * 1024 * 1024
ATTACHMENT_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf", "image/tiff"})


@dataclass(frozen=True)
class PartUsed:
    catalogue_item_id: uuid.UUID
    quantity: Decimal


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class ReportInput:
    findings: str
    time_spent_minutes: int
    site_index: int | None = None
    reading_day: date | None = None
    rollover: bool = False
    confirmed_unusual: bool = False
    confirmed_vacant: bool = False
    #: For a reading check found wrong: the index the disputed reading should have had.
    corrected_disputed_index: int | None = None
    parts: tuple[PartUsed, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    follow_up: str = ""
    follow_up_type: InterventionType | None = None
    follow_up_note: str = ""
    #: The works of a connection quote: the meter put in and its index at install (its day is
    #: ``reading_day``, today when empty).
    meter_serial: str = ""
    installed_index: int | None = None
    meter_digits: int = 6
    #: A prepaid meter's STS number (DRN).
    sts_drn: str = ""
    #: A letter follow-up: the template it is issued from (the letters service merges it).
    letter_template_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Completed:
    version: int
    reading_id: uuid.UUID | None
    corrected_reading_id: uuid.UUID | None
    follow_up_number: str | None
    #: The connection made by a connection quote's works: its reference, meter and contract.
    connected: Connected | None = None
    #: A letter follow-up: the letter issued once the job is closed.
    letter: IssuedLetter | None = None
    #: A quote follow-up: the account the new quote is for (the screen opens it), if any.
    quote_account_number: str = ""


def _check(report: ReportInput) -> None:
    errors = {}
    if len(report.findings.strip()) < 3:
        errors["findings"] = "Décrivez ce qui a été constaté et fait"
    if not 1 <= report.time_spent_minutes <= 24 * 60:
        errors["time_spent_minutes"] = "Indiquez le temps passé (de 1 minute à 24 heures)"
    if report.follow_up not in FOLLOW_UPS:
        errors["follow_up"] = "Suite inconnue"
    if report.follow_up == "request" and report.follow_up_type is None:
        errors["follow_up_type"] = "Choisissez le type de la nouvelle demande"
    if report.follow_up == "letter" and report.letter_template_id is None:
        errors["letter_template_id"] = "Choisissez le modèle du courrier"
    if any(p.quantity <= 0 for p in report.parts):
        errors["parts"] = "Les quantités de pièces doivent être positives"
    for attachment in report.attachments:
        if attachment.media_type not in ATTACHMENT_TYPES:
            errors["attachments"] = f"{attachment.filename} : seules les photos (JPEG, PNG, " \
                "TIFF) et les PDF sont acceptés"
        elif len(attachment.content) > MAX_ATTACHMENT:
            errors["attachments"] = f"{attachment.filename} dépasse 10 Mo"
    if errors:
        raise ValidationError(errors)


def connects_prepaid(session: Session, request: InterventionRequest) -> bool:
    """A connection job whose quote's tariff is prepaid: the meter's STS number is asked."""
    quote = session.get(WorksQuote, request.quote_id) if request.quote_id else None
    return connects_meter(session, request) and quote is not None and is_prepaid_quote(
        session, quote)


def connects_meter(session: Session, request: InterventionRequest) -> bool:
    """The works job of a connection quote not connected yet: closing it puts the meter in
    service (the connection, the meter and the contract on the quote's tariff)."""
    if request.type is not InterventionType.WORKS or request.quote_id is None:
        return False
    quote = session.get(WorksQuote, request.quote_id)
    return quote is not None and is_connection_quote(session, quote) and (
        request.meter_id is None)


def _check_installation(report: ReportInput) -> None:
    errors = {}
    if not report.meter_serial.strip():
        errors["meter_serial"] = "Indiquez le numéro du compteur posé"
    if report.installed_index is None:
        errors["installed_index"] = "Indiquez l'index du compteur à la pose"
    if report.site_index is not None:
        errors["site_index"] = "Le compteur est neuf : son index est l'index de pose"
    if errors:
        raise ValidationError(errors)


def complete(ctx: ServiceContext, request_id: uuid.UUID, version: int,
             report: ReportInput) -> Completed:
    """Closes the job with its report. Readings raise what the readings service raises
    (``UnusualConsumptionError``, ``VacantPremiseWarning`` to confirm, ``ValidationError``);
    correcting the disputed index is a supervisor's."""
    _check(report)
    with ctx.reading() as session:
        request = load_for_step(session, request_id, version)
        if request.status is not InterventionStatus.SCHEDULED:
            check_step(request, InterventionStatus.DONE)
        number, meter_id = request.number, request.meter_id
        disputed_id = request.disputed_reading_id
        connecting = connects_meter(session, request)
        customer_id = request.customer_id
        if report.follow_up == "letter" and report.letter_template_id is not None:
            # a template the letters service would refuse stops the closing, not the letter
            require_usable(template_content(session, report.letter_template_id))
    if connecting:
        _check_installation(report)
    if report.follow_up == "letter" and customer_id is None and not connecting:
        raise ValidationError({"follow_up": "Un courrier s'adresse à un client : cette demande "
                                            "n'est liée à aucun client"})
    corrected_id = None
    if report.corrected_disputed_index is not None:
        if disputed_id is None:
            raise ValidationError({"corrected_disputed_index":
                                   "Cette demande ne porte pas sur une relève contestée"})
        correct_reading(ctx, disputed_id, report.corrected_disputed_index,
                        f"contrôle sur place (demande {number}) : {report.findings.strip()}"[:150])
        corrected_id = disputed_id
    reading_id = None
    if report.site_index is not None:
        if meter_id is None:
            raise ValidationError({"site_index": "Aucun compteur n'est lié à cette demande"})
        recorded = record_reading(
            ctx, meter_id, report.reading_day or ctx.installation.today(), report.site_index,
            ReadingSource.AGENT, rollover=report.rollover,
            confirmed_unusual=report.confirmed_unusual,
            confirmed_vacant=report.confirmed_vacant,
            note=f"Relevé sur place — demande {number}")
        reading_id = recorded.reading_id
    try:
        completed = _close(ctx, request_id, version, report, reading_id, corrected_id)
    except ConcurrentEditError as error:
        if reading_id is not None or corrected_id is not None:
            raise ConcurrentEditError(
                f"{error.message}\n\nLa relève du rapport est déjà enregistrée : ne la "
                "saisissez pas une seconde fois.") from error
        raise
    return _follow_up(ctx, request_id, report, completed)


def _follow_up(ctx: ServiceContext, request_id: uuid.UUID, report: ReportInput,
               completed: Completed) -> Completed:
    """What follows a closed job and is another module's to make: the letter (issued by the
    letters service, numbered in its own transaction, about this request) or the quote (the
    screen opens a new one for the request's account: a quote needs its lines typed)."""
    if report.follow_up not in ("letter", "quote"):
        return completed
    with ctx.reading() as session:
        request = session.get(InterventionRequest, request_id)
        assert request is not None
        customer_id, account_id = request.customer_id, request.account_id
        account = session.get(Account, account_id) if account_id else None
    if report.follow_up == "quote":
        number = format_account_number(account.number) if account is not None else ""
        return replace(completed, quote_account_number=number)
    assert report.letter_template_id is not None and customer_id is not None
    letter = issue_letter(ctx, report.letter_template_id,
                          Subject(customer_id, account_id, intervention_id=request_id),
                          {"objet": f"Suite de l'intervention {request.number}"})
    return replace(completed, letter=letter, follow_up_number=letter.number)


def _close(ctx: ServiceContext, request_id: uuid.UUID, version: int, report: ReportInput,
           reading_id: uuid.UUID | None, corrected_id: uuid.UUID | None) -> Completed:
    now = utcnow()
    with ctx.unit_of_work() as uow:
        session = uow.session
        request = load_for_step(session, request_id, version)
        if request.status is InterventionStatus.SCHEDULED:
            request.status = InterventionStatus.IN_PROGRESS
            request.started_at = request.started_at or now
            add_event(session, ctx, request, "started", InterventionStatus.SCHEDULED)
        check_step(request, InterventionStatus.DONE)
        before = request.status
        request.status = InterventionStatus.DONE
        request.done_at = now
        request.outcome = report.findings.strip()
        request.time_spent_minutes = report.time_spent_minutes
        request.reading_id = reading_id or request.reading_id
        request.follow_up = report.follow_up
        request.follow_up_note = report.follow_up_note.strip()
        position = session.scalar(select(func.coalesce(func.max(InterventionLine.position), 0))
                                  .where(InterventionLine.request_id == request.id)) or 0
        for part in report.parts:
            item = session.get(WorksCatalogueItem, part.catalogue_item_id)
            if item is None:
                raise NotFoundError("Pièce introuvable dans le catalogue.")
            position += 1
            session.add(InterventionLine(
                agency_id=request.agency_id, request_id=request.id, kind="part",
                position=position, label=item.label, quantity=part.quantity, unit=item.unit,
                catalogue_item_id=item.id))
        for attachment in report.attachments:
            document = Document(
                agency_id=request.agency_id, kind="intervention", filename=attachment.filename,
                media_type=attachment.media_type, content=attachment.content,
                sha256=hashlib.sha256(attachment.content).hexdigest(),
                size=len(attachment.content))
            session.add(document)
            session.flush()
            session.add(InterventionAttachment(
                agency_id=request.agency_id, request_id=request.id, document_id=document.id,
                caption=" ".join(attachment.caption.split())[:200]))
        connected = None
        if connects_meter(session, request):
            quote = session.get(WorksQuote, request.quote_id)
            assert quote is not None and report.installed_index is not None
            connected = connect_quote(ctx, session, quote, report.meter_serial,
                                      report.installed_index,
                                      report.reading_day or ctx.installation.today(),
                                      report.meter_digits, report.sts_drn)
            request.meter_id, request.account_id = connected.meter_id, connected.account_id
            request.customer_id, request.premise_id = quote.customer_id, quote.premise_id
        follow_up_number = None
        if report.follow_up == "request":
            assert report.follow_up_type is not None
            follow = new_request(session, ctx, RequestInput(
                type=report.follow_up_type, priority=request.priority,
                channel=request.channel, description=report.follow_up_note.strip()
                or f"Suite de la demande {request.number} : {request.outcome}",
                reporter_name=request.reporter_name, contact_name=request.contact_name,
                contact_phone=request.contact_phone, customer_id=request.customer_id,
                account_id=request.account_id, premise_id=request.premise_id,
                meter_id=request.meter_id, commune_id=request.commune_id,
                street_id=request.street_id, house_number=request.house_number,
                landmark=request.landmark or "suite de demande", energy=request.energy),
                confirmed_duplicate=True, note=f"Suite de la demande {request.number}")
            follow.follows_id = request.id
            follow_up_number = follow.number
        note = report.findings.strip()
        if corrected_id is not None:
            note += f" — index contesté corrigé à {report.corrected_disputed_index}"
        if reading_id is not None:
            note += f" — index relevé sur place : {report.site_index}"
        if connected is not None:
            note += (f" — compteur {validate_meter_serial(report.meter_serial)} posé à l'index {report.installed_index}, "
                     f"branchement {connected.connection_reference}, abonnement "
                     f"{connected.contract_number}")
        add_event(session, ctx, request, "done", before, note)
        uow.commit()
        return Completed(request.version, reading_id, corrected_id, follow_up_number,
                         connected)


def attachment_content(ctx: ServiceContext, document_id: uuid.UUID) -> tuple[str, str, bytes]:
    with ctx.reading() as session:
        document = session.get(Document, document_id)
        if document is None or document.kind != "intervention":
            raise NotFoundError("Pièce jointe introuvable.")
        return document.filename, document.media_type, document.content


def parts_list(ctx: ServiceContext) -> list[tuple[uuid.UUID, str, str]]:
    """The catalogue items a technician may report as used: (id, label, unit)."""
    with ctx.reading() as session:
        return [(i.id, f"{i.code} — {i.label}", i.unit) for i in session.scalars(
            select(WorksCatalogueItem).where(WorksCatalogueItem.is_active.is_(True))
            .order_by(WorksCatalogueItem.category, WorksCatalogueItem.code))]

