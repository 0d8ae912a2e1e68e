"""Printing: a job's work order and a technician's day sheet (reportlab, imported only when a
document is printed)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from app.models import Agency, InterventionRequest, Technician
from app.models.enums import InterventionStatus
from app.models.ids import utcnow
from app.services.documents.work_order import DaySheetData, WorkOrderData
from app.services.interventions.lists import RequestDetail, request_detail
from app.services.quantities import number as format_number
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError
from kernel.vocabulary import label


def _duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if hours else f"{rest} min"


def order_data(ctx: ServiceContext, detail: RequestDetail) -> WorkOrderData:
    zone = ctx.installation.zone

    def moment(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%d/%m/%Y %H:%M") if value else ""

    contact = " — ".join(p for p in (detail.contact_name or detail.reporter_name,
                                       detail.contact_phone) if p)
    return WorkOrderData(
        number=detail.number, kind=label(detail.type), priority=label(detail.priority),
        status=label(detail.status), requested_at=moment(detail.requested_at),
        due_at=moment(detail.due_at), overdue=detail.overdue, customer=detail.customer,
        account_number=detail.account_number, address=detail.address,
        meter_serial=detail.meter_serial, contact=contact, technician=detail.technician,
        scheduled_for=moment(detail.scheduled_for), duration=_duration(detail.duration_minutes),
        description=detail.description,
        tasks=[(t.label, f"{t.quantity.normalize():f} {t.unit}") for t in detail.tasks],
        disputed_index=(format_number(detail.disputed_index)
                        if detail.disputed_index is not None else ""),
        quote_number=detail.quote_number,
    )


def _agency(ctx: ServiceContext) -> str:
    with ctx.reading() as session:
        agency = session.get(Agency, ctx.installation.agency_id)
        return agency.name if agency else ctx.installation.agency_name


def work_order_pdf(ctx: ServiceContext, request_id: uuid.UUID) -> tuple[str, bytes]:
    """(file name, PDF) of the job's work order."""
    from app.services.documents.work_order_pdf import render_work_order

    detail = request_detail(ctx, request_id)
    pdf = render_work_order(_agency(ctx), order_data(ctx, detail))
    return f"bon-intervention-{detail.number}.pdf", pdf


def day_sheet_pdf(ctx: ServiceContext, technician_id: uuid.UUID, day: date) -> tuple[str, bytes]:
    """(file name, PDF) of the technician's jobs of ``day``, in the order of the day."""
    from app.services.documents.work_order_pdf import render_day_sheet

    zone = ctx.installation.zone
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    with ctx.reading() as session:
        technician = session.get(Technician, technician_id)
        if technician is None:
            raise NotFoundError("Technicien introuvable.")
        name = technician.name
        ids = list(session.scalars(
            select(InterventionRequest.id).where(
                InterventionRequest.technician_id == technician_id,
                InterventionRequest.scheduled_for >= start,
                InterventionRequest.scheduled_for < start + timedelta(days=1),
                InterventionRequest.status.in_((InterventionStatus.SCHEDULED,
                                                InterventionStatus.IN_PROGRESS)),
            ).order_by(InterventionRequest.scheduled_for)))
    if not ids:
        raise BusinessError(f"{name} n'a aucune intervention planifiée le {day:%d/%m/%Y}.")
    sheet = DaySheetData(name, day.strftime("%d/%m/%Y"),
                         [order_data(ctx, request_detail(ctx, i)) for i in ids])
    pdf = render_day_sheet(_agency(ctx), sheet, utcnow().astimezone(zone))
    slug = "-".join(name.lower().split())
    return f"feuille-{slug}-{day:%Y%m%d}.pdf", pdf
