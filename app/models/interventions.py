"""Intervention requests (ISIS) and the technicians who carry them out."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced
from app.models.enums import (
    Energy,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    RequestChannel,
)


class Technician(Synced, Base):
    __tablename__ = "technician"

    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")
    speciality: Mapped[Energy | None]
    is_active: Mapped[bool] = mapped_column(default=True)


class InterventionRequest(Synced, Base):
    __tablename__ = "intervention_request"
    __table_args__ = (Index("ix_intervention_status_schedule", "status", "scheduled_for"),)

    number: Mapped[str] = mapped_column(String(24), unique=True)
    type: Mapped[InterventionType]
    priority: Mapped[InterventionPriority] = mapped_column(default=InterventionPriority.NORMAL)
    status: Mapped[InterventionStatus] = mapped_column(default=InterventionStatus.NEW)
    channel: Mapped[RequestChannel] = mapped_column(default=RequestChannel.COUNTER)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customer.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    premise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("premise.id"))
    meter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    technician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("technician.id"))
    requested_at: Mapped[datetime]
    scheduled_for: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(40), default="")
