"""Declarative base, naming convention and the columns every synchronised row carries."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, MetaData, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from app.models.ids import new_id, utcnow
from app.models.types import UTCDateTime, enum_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Incremented with every Alembic revision that changes a synchronised table's shape.
SCHEMA_VERSION = 8


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: Uuid(),
        datetime: UTCDateTime(),
        enum.Enum: enum_column(enum.Enum),
    }


class Synced:
    """Columns of every row that travels between agencies and central.

    The UUID is made where the row is born and never changes. ``version`` is the optimistic lock:
    every update checks it and the write path increments it (or copies the server's when a row is
    applied from central). ``agency_id`` is the owning agency; it is empty for central reference
    data (tariffs, catalogue, communes, users of the head office).
    """

    #: Whether the write path audits and journals this table (local tables set False).
    __synced__: ClassVar[bool] = True

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr
    @classmethod
    def agency_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("agency.id"), index=True)

    @declared_attr.directive
    @classmethod
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version, "version_id_generator": False}
