"""Reference data owned by central: agencies, communes and streets."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced


class Agency(Synced, Base):
    __tablename__ = "agency"

    code: Mapped[str] = mapped_column(String(3), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class Commune(Synced, Base):
    __tablename__ = "commune"

    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    postal_code: Mapped[str] = mapped_column(String(10), default="")

    streets: Mapped[list[Street]] = relationship(back_populates="commune")


class Street(Synced, Base):
    __tablename__ = "street"
    __table_args__ = (UniqueConstraint("commune_id", "name"),)

    commune_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commune.id"), index=True)
    name: Mapped[str] = mapped_column(String(160))

    commune: Mapped[Commune] = relationship(back_populates="streets")
