"""Reading requests: the list with its filters (status, kind, commune, technician, overdue), the
counts per status, the CSV export, one request in full with its history, and a customer's
requests for the customer file."""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Customer,
    Document,
    InterventionAttachment,
    InterventionEvent,
    InterventionLine,
    InterventionRequest,
    Meter,
    MeterReading,
    Premise,
    Street,
    Technician,
    WorksQuote,
)
from app.models.enums import (
    CustomerKind,
    Energy,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    RequestChannel,
)
from app.models.ids import utcnow
from app.services.interventions.planning import customer_name, is_overdue
from app.services.interventions.requests import OPEN_STATUSES
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError
from kernel.identifiers import format_account_number
from kernel.numbering import PREFIX, Series
from kernel.vocabulary import label

PAGE = 200
MAX_EXPORT = 100_000


@dataclass(frozen=True)
class RequestFilter:
    status: InterventionStatus | None = None
    open_only: bool = False
    type: InterventionType | None = None
    commune_id: uuid.UUID | None = None
    technician_id: uuid.UUID | None = None
    overdue_only: bool = False
    customer_id: uuid.UUID | None = None
    #: A request number, or its end ("123" finds DI101-2026-000123).
    number: str = ""


@dataclass(frozen=True)
class RequestRow:
    request_id: uuid.UUID
    version: int
    number: str
    type: InterventionType
    priority: InterventionPriority
    status: InterventionStatus
    requested_at: datetime
    due_at: datetime | None
    overdue: bool
    scheduled_for: datetime | None
    technician: str
    commune: str
    place: str
    description: str


def _filtered(query: Select[*tuple[Any, ...]], flt: RequestFilter, now: datetime, series: str,
              with_status: bool = True) -> Select[*tuple[Any, ...]]:
    if with_status and flt.status is not None:
        query = query.where(InterventionRequest.status == flt.status)
    if flt.open_only:
        query = query.where(InterventionRequest.status.in_(OPEN_STATUSES))
    if flt.type is not None:
        query = query.where(InterventionRequest.type == flt.type)
    if flt.commune_id is not None:
        query = query.where(InterventionRequest.commune_id == flt.commune_id)
    if flt.technician_id is not None:
        query = query.where(InterventionRequest.technician_id == flt.technician_id)
    if flt.customer_id is not None:
        query = query.where(InterventionRequest.customer_id == flt.customer_id)
    if flt.overdue_only:
        query = query.where(InterventionRequest.status.in_(OPEN_STATUSES),
                            InterventionRequest.due_at < now)
    number = flt.number.strip().upper()
    if number:
        query = query.where(InterventionRequest.number.in_(_numbers(number, now, series)))
    return query


def _numbers(typed: str, now: datetime, series: str) -> list[str]:
    """The numbers a typed number may mean: itself, or — digits only — the counter of the
    last five years' series (an exact look-up on the unique index, never a scan)."""
    if not typed.isdigit() or len(typed) > 6:
        return [typed]
    return [typed] + [f"{series}-{year}-{int(typed):06d}"
                      for year in range(now.year - 4, now.year + 1)]


R = InterventionRequest
LIST_COLUMNS = (R.id, R.version, R.number, R.type, R.priority, R.status, R.requested_at,
                R.due_at, R.done_at, R.scheduled_for, R.landmark, R.description,
                Technician.name.label("technician"), Commune.name.label("commune"),
                Customer.kind.label("customer_kind"), Customer.last_name, Customer.first_name,
                Customer.organisation_name)


def _rows(session: Session, flt: RequestFilter, offset: int, limit: int,
          now: datetime, series: str) -> list[RequestRow]:
    order = (InterventionRequest.due_at.asc() if flt.overdue_only
             else InterventionRequest.requested_at.desc())
    # The page's ids first, on the table's indexes alone; the joins for those rows only.
    page = (_filtered(select(InterventionRequest.id), flt, now, series)
            .order_by(order).offset(offset).limit(limit).subquery())
    rows = session.execute(
        select(*LIST_COLUMNS)
        .join(page, page.c.id == InterventionRequest.id)
        .outerjoin(Technician, Technician.id == InterventionRequest.technician_id)
        .outerjoin(Commune, Commune.id == InterventionRequest.commune_id)
        .outerjoin(Customer, Customer.id == InterventionRequest.customer_id)
        .order_by(order, InterventionRequest.id)).all()
    return [
        RequestRow(r.id, r.version, r.number, r.type, r.priority, r.status, r.requested_at,
                   r.due_at, is_overdue(r.status, r.due_at, r.done_at, now), r.scheduled_for,
                   r.technician or "", r.commune or "",
                   customer_name(r.customer_kind, r.last_name, r.first_name,
                                 r.organisation_name) or r.landmark, r.description)
        for r in rows
    ]


def _series(ctx: ServiceContext) -> str:
    return f"{PREFIX[Series.INTERVENTION]}{ctx.installation.agency_code}"


def list_requests(ctx: ServiceContext, flt: RequestFilter, offset: int = 0,
                  limit: int = PAGE) -> list[RequestRow]:
    with ctx.reading() as session:
        return _rows(session, flt, offset, limit, utcnow(), _series(ctx))


def counts_by_status(ctx: ServiceContext, flt: RequestFilter) -> dict[InterventionStatus, int]:
    """How many requests of each status the other filters leave (the status filter aside)."""
    with ctx.reading() as session:
        query = _filtered(select(InterventionRequest.status, func.count()), flt, utcnow(),
                          _series(ctx), with_status=False)
        counts: dict[InterventionStatus, int] = {
            status: count for status, count in session.execute(
                query.group_by(InterventionRequest.status))}
    return {status: int(counts.get(status, 0)) for status in InterventionStatus}


def overdue_count(ctx: ServiceContext) -> int:
    with ctx.reading() as session:
        return int(session.scalar(select(func.count()).where(
            InterventionRequest.status.in_(OPEN_STATUSES),
            InterventionRequest.due_at < utcnow())) or 0)


def customer_requests(ctx: ServiceContext, customer_id: uuid.UUID) -> list[RequestRow]:
    return list_requests(ctx, RequestFilter(customer_id=customer_id), 0, 500)


EXPORT_HEADER = ("Numéro", "Type", "Priorité", "Statut", "Demandée le", "Échéance", "En retard",
                 "Planifiée le", "Technicien", "Commune", "Client / lieu", "Description")


def export_csv(ctx: ServiceContext, flt: RequestFilter, path: Path) -> int:
    """Writes the filtered list (at most ``MAX_EXPORT`` rows) the way French spreadsheets open
    it (semicolons, UTF-8 with a byte order mark); returns the number of rows."""
    zone = ctx.installation.zone

    def moment(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%d/%m/%Y %H:%M") if value else ""

    with ctx.reading() as session:
        rows = _rows(session, flt, 0, MAX_EXPORT, utcnow(), _series(ctx))
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(EXPORT_HEADER)
            for row in rows:
                writer.writerow((row.number, label(row.type), label(row.priority),
                                 label(row.status), moment(row.requested_at),
                                 moment(row.due_at), "oui" if row.overdue else "",
                                 moment(row.scheduled_for), row.technician, row.commune,
                                 row.place, " ".join(row.description.split())))
    except OSError as error:
        raise BusinessError(f"Impossible d'écrire le fichier {path} : {error.strerror}") from error
    return len(rows)


@dataclass(frozen=True)
class EventRow:
    at: datetime
    who: str
    action: str
    from_status: InterventionStatus | None
    to_status: InterventionStatus | None
    note: str


@dataclass(frozen=True)
class LineRow:
    kind: str
    label: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class AttachmentRow:
    document_id: uuid.UUID
    filename: str
    caption: str
    size: int


@dataclass(frozen=True)
class RequestDetail:
    request_id: uuid.UUID
    version: int
    number: str
    type: InterventionType
    priority: InterventionPriority
    status: InterventionStatus
    channel: RequestChannel
    energy: Energy | None
    description: str
    reporter_name: str
    contact_name: str
    contact_phone: str
    customer_id: uuid.UUID | None
    customer: str
    account_id: uuid.UUID | None
    account_number: str
    premise_id: uuid.UUID | None
    meter_id: uuid.UUID | None
    meter_serial: str
    commune_id: uuid.UUID | None
    commune: str
    street_id: uuid.UUID | None
    street: str
    house_number: str
    landmark: str
    address: str
    requested_at: datetime
    recorded_by: str
    due_at: datetime | None
    overdue: bool
    duration_minutes: int
    technician_id: uuid.UUID | None
    technician: str
    scheduled_for: datetime | None
    started_at: datetime | None
    done_at: datetime | None
    forced_by: str
    findings: str
    time_spent_minutes: int | None
    reading_index: int | None
    disputed_reading_id: uuid.UUID | None
    disputed_index: int | None
    quote_number: str
    follow_up: str
    follow_up_note: str
    history: list[EventRow] = field(default_factory=list)
    tasks: list[LineRow] = field(default_factory=list)
    parts: list[LineRow] = field(default_factory=list)
    attachments: list[AttachmentRow] = field(default_factory=list)
    #: A connection quote's works not connected yet: the report asks for the meter put in.
    connects_meter: bool = False
    #: ... on a prepaid tariff: the meter's STS number too.
    connects_prepaid: bool = False


ACTION_LABELS = {
    "created": "Demande enregistrée", "edited": "Demande modifiée", "scheduled": "Planifiée",
    "moved": "Replanifiée", "unscheduled": "Retirée du planning", "started": "Commencée",
    "done": "Terminée", "cancelled": "Annulée", "reopened": "Rouverte",
    "noted": "Signalement ajouté",
}


def request_detail(ctx: ServiceContext, request_id: uuid.UUID) -> RequestDetail:
    from app.services.interventions.report import connects_meter, connects_prepaid

    with ctx.reading() as session:
        r = session.get(InterventionRequest, request_id)
        if r is None:
            raise NotFoundError("Demande d'intervention introuvable.")
        customer = session.get(Customer, r.customer_id) if r.customer_id else None
        account = session.get(Account, r.account_id) if r.account_id else None
        meter = session.get(Meter, r.meter_id) if r.meter_id else None
        commune = session.get(Commune, r.commune_id) if r.commune_id else None
        street = session.get(Street, r.street_id) if r.street_id else None
        premise = session.get(Premise, r.premise_id) if r.premise_id else None
        technician = session.get(Technician, r.technician_id) if r.technician_id else None
        reading = session.get(MeterReading, r.reading_id) if r.reading_id else None
        disputed = (session.get(MeterReading, r.disputed_reading_id)
                    if r.disputed_reading_id else None)
        quote = session.get(WorksQuote, r.quote_id) if r.quote_id else None
        first = " ".join(p for p in (r.house_number, street.name if street else "") if p)
        complement = premise.complement if premise else ""
        address = ", ".join(p for p in (first, complement, r.landmark,
                                        commune.name if commune else "") if p)
        events = [EventRow(e.at, e.actor_name or e.actor, ACTION_LABELS.get(e.action, e.action),
                           e.from_status, e.to_status, e.note)
                  for e in session.scalars(select(InterventionEvent)
                                           .where(InterventionEvent.request_id == r.id)
                                           .order_by(InterventionEvent.at))]
        lines = session.scalars(select(InterventionLine)
                                .where(InterventionLine.request_id == r.id)
                                .order_by(InterventionLine.kind, InterventionLine.position)).all()
        attachments = [AttachmentRow(d.id, d.filename, a.caption, d.size)
                       for a, d in session.execute(
                           select(InterventionAttachment, Document)
                           .join(Document, Document.id == InterventionAttachment.document_id)
                           .where(InterventionAttachment.request_id == r.id))]
        name = ""
        if customer is not None:
            name = customer.display_name
            if customer.kind is CustomerKind.PERSON and customer.civility:
                name = f"{customer.civility.value} {name}"
        return RequestDetail(
            r.id, r.version, r.number, r.type, r.priority, r.status, r.channel, r.energy,
            r.description, r.reporter_name, r.contact_name, r.contact_phone, r.customer_id,
            name, r.account_id, format_account_number(account.number) if account else "",
            r.premise_id, r.meter_id, meter.serial if meter else "", r.commune_id,
            commune.name if commune else "", r.street_id, street.name if street else "",
            r.house_number, r.landmark, address, r.requested_at, r.recorded_by, r.due_at,
            is_overdue(r.status, r.due_at, r.done_at, utcnow()), r.duration_minutes,
            r.technician_id, technician.name if technician else "", r.scheduled_for,
            r.started_at, r.done_at, r.forced_by, r.outcome, r.time_spent_minutes,
            reading.index_value if reading else None, r.disputed_reading_id,
            disputed.index_value if disputed else None, quote.number if quote else "",
            r.follow_up, r.follow_up_note, events,
            [LineRow(li.kind, li.label, li.quantity, li.unit) for li in lines
             if li.kind == "task"],
            [LineRow(li.kind, li.label, li.quantity, li.unit) for li in lines
             if li.kind == "part"],
            attachments, connects_meter(session, r), connects_prepaid(session, r))
