"""A request's life: new → scheduled → in progress → done, cancelled with a reason at any open
step, reopened with a reason once closed. Every step is kept with who and when; a step saved
from a screen checks the version the agent saw (two agents on the same request)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from app.models import InterventionRequest
from app.models.enums import InterventionStatus as S
from app.models.ids import utcnow
from app.services.editing import get_for_edit
from app.services.interventions.calendar import due_at, load_calendar
from app.services.interventions.requests import add_event
from kernel.context import ServiceContext
from kernel.errors import BusinessError, ValidationError

#: Which status may follow which.
NEXT: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.SCHEDULED, S.IN_PROGRESS, S.CANCELLED}),
    S.REOPENED: frozenset({S.SCHEDULED, S.IN_PROGRESS, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.SCHEDULED, S.NEW, S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.DONE, S.CANCELLED}),
    S.DONE: frozenset({S.REOPENED}),
    S.CANCELLED: frozenset({S.REOPENED}),
}


def check_step(request: InterventionRequest, to: S) -> None:
    if to not in NEXT[request.status]:
        from kernel.vocabulary import label

        raise BusinessError(
            f"La demande {request.number} est « {label(request.status).lower()} » : "
            f"elle ne peut pas passer à « {label(to).lower()} »."
        )


def _reason(reason: str, what: str) -> str:
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationError({"reason": f"Indiquez le motif {what}"})
    return reason


def load_for_step(session: Session, request_id: uuid.UUID, version: int) -> InterventionRequest:
    return get_for_edit(session, InterventionRequest, request_id, version,
                        "Demande d'intervention")


def start(ctx: ServiceContext, request_id: uuid.UUID, version: int) -> int:
    """The technician is on site."""
    with ctx.unit_of_work() as uow:
        request = load_for_step(uow.session, request_id, version)
        check_step(request, S.IN_PROGRESS)
        before = request.status
        request.status = S.IN_PROGRESS
        request.started_at = utcnow()
        add_event(uow.session, ctx, request, "started", before)
        uow.commit()
        return request.version


def cancel(ctx: ServiceContext, request_id: uuid.UUID, version: int, reason: str) -> int:
    reason = _reason(reason, "de l'annulation")
    with ctx.unit_of_work() as uow:
        request = load_for_step(uow.session, request_id, version)
        check_step(request, S.CANCELLED)
        before = request.status
        request.status = S.CANCELLED
        request.done_at = utcnow()
        add_event(uow.session, ctx, request, "cancelled", before, reason)
        uow.commit()
        return request.version


def reopen(ctx: ServiceContext, request_id: uuid.UUID, version: int, reason: str) -> int:
    """A closed request comes back to be planned again, with a new deadline counted from now."""
    reason = _reason(reason, "de la réouverture")
    with ctx.unit_of_work() as uow:
        session = uow.session
        request = load_for_step(session, request_id, version)
        check_step(request, S.REOPENED)
        before = request.status
        request.status = S.REOPENED
        request.done_at = None
        request.started_at = None
        request.scheduled_for = None
        calendar = load_calendar(session, ctx.installation.agency_id, ctx.installation.zone)
        request.due_at = due_at(session, calendar, request.type, request.priority, utcnow())
        add_event(session, ctx, request, "reopened", before, reason)
        uow.commit()
        return request.version
