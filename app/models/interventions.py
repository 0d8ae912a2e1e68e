"""Intervention requests (ISIS), the technicians who carry them out, and the reference data
their deadlines are computed on (central's: deadlines per kind and priority, working hours,
public holidays)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced
from app.models.enums import (
    Energy,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    RequestChannel,
)
from app.models.types import ScaledDecimal


class TechnicianTeam(Synced, Base):
    __tablename__ = "technician_team"

    name: Mapped[str] = mapped_column(String(80))
    is_active: Mapped[bool] = mapped_column(default=True)


class Technician(Synced, Base):
    __tablename__ = "technician"

    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")
    speciality: Mapped[Energy | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technician_team.id"))
    #: ``Skill`` values, comma-separated (``water,meters``).
    skills: Mapped[str] = mapped_column(String(60), default="", server_default="")
    #: Working day, in minutes after midnight (local time): 450 is 07:30.
    day_starts_minute: Mapped[int] = mapped_column(SmallInteger, default=450, server_default="450")
    day_ends_minute: Mapped[int] = mapped_column(SmallInteger, default=990, server_default="990")


class TechnicianAbsence(Synced, Base):
    __tablename__ = "technician_absence"

    technician_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("technician.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(120), default="")


class InterventionRequest(Synced, Base):
    __tablename__ = "intervention_request"
    __table_args__ = (
        Index("ix_intervention_status_schedule", "status", "scheduled_for"),
        Index("ix_intervention_status_requested", "status", "requested_at"),
        Index("ix_intervention_status_due", "status", "due_at"),
        Index("ix_intervention_type_requested", "type", "requested_at"),
        Index("ix_intervention_commune_requested", "commune_id", "requested_at"),
        Index("ix_intervention_technician_schedule", "technician_id", "scheduled_for"),
    )

    number: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[InterventionType]
    priority: Mapped[InterventionPriority] = mapped_column(default=InterventionPriority.NORMAL)
    status: Mapped[InterventionStatus] = mapped_column(default=InterventionStatus.NEW)
    channel: Mapped[RequestChannel] = mapped_column(default=RequestChannel.COUNTER)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customer.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    premise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("premise.id"), index=True)
    meter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technician.id"))
    requested_at: Mapped[datetime] = mapped_column(index=True)
    scheduled_for: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    #: The technician's findings.
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(40), default="")

    energy: Mapped[Energy | None]
    reporter_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    #: The place when no premise is known (a leak in the street).
    commune_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commune.id"))
    street_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("street.id"))
    house_number: Mapped[str] = mapped_column(String(20), default="", server_default="")
    landmark: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: Service-level deadline (central's table for the kind and priority, on working hours).
    due_at: Mapped[datetime | None]
    duration_minutes: Mapped[int] = mapped_column(SmallInteger, default=60, server_default="60")
    #: Who forced a planning clash (a supervisor), empty when the slot was clear.
    forced_by: Mapped[str] = mapped_column(String(40), default="", server_default="")
    quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("works_quote.id"))
    disputed_reading_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter_reading.id"))
    #: The reading recorded from the technician's report.
    reading_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter_reading.id"))
    time_spent_minutes: Mapped[int | None]
    #: ``quote``, ``letter``, ``request`` or empty.
    follow_up: Mapped[str] = mapped_column(String(20), default="", server_default="")
    follow_up_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The request this one follows up.
    follows_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("intervention_request.id"))


class InterventionEvent(Synced, Base):
    """One step of a request's life: who did what, when, with the reason given."""

    __tablename__ = "intervention_event"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("intervention_request.id"), index=True
    )
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(40))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[InterventionStatus | None]
    to_status: Mapped[InterventionStatus | None]
    note: Mapped[str] = mapped_column(Text, default="")


class InterventionLine(Synced, Base):
    """What the job is made of (``task``: a quote's line) or a part used (``part``)."""

    __tablename__ = "intervention_line"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("intervention_request.id"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(SmallInteger)
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit: Mapped[str] = mapped_column(String(10), default="u")
    quote_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("works_quote_line.id"))
    catalogue_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("works_catalogue_item.id")
    )


class InterventionAttachment(Synced, Base):
    """A photo or a scan attached to the report (the bytes are a ``Document``)."""

    __tablename__ = "intervention_attachment"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("intervention_request.id"), index=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id"))
    caption: Mapped[str] = mapped_column(String(200), default="")


class InterventionDeadline(Synced, Base):
    """Central's service level: working hours allowed for a kind of request at a priority."""

    __tablename__ = "intervention_deadline"
    __table_args__ = (UniqueConstraint("type", "priority"),)

    type: Mapped[InterventionType]
    priority: Mapped[InterventionPriority]
    working_hours: Mapped[int] = mapped_column(SmallInteger)


class WorkingHours(Synced, Base):
    """Opening hours of the agencies, one range per row (a morning, an afternoon). Rows with no
    agency are everyone's; an agency's own rows replace them for that weekday."""

    __tablename__ = "working_hours"

    #: 0 is Monday.
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens_minute: Mapped[int] = mapped_column(SmallInteger)
    closes_minute: Mapped[int] = mapped_column(SmallInteger)


class PublicHoliday(Synced, Base):
    """A public holiday: national with no agency, or the agency's own."""

    __tablename__ = "public_holiday"

    day: Mapped[date] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))
