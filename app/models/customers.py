"""Customers, their accounts and the premises they occupy."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.enums import (
    AccountStatus,
    Civility,
    CustomerKind,
    IdentityDocumentType,
    PaymentMode,
    PremiseCategory,
)
from app.models.reference import Commune, Street


class Customer(Synced, Base):
    """A person or an organisation the agency serves (ODYSSEE's "personne")."""

    __tablename__ = "customer"

    kind: Mapped[CustomerKind] = mapped_column(default=CustomerKind.PERSON)
    civility: Mapped[Civility | None]
    last_name: Mapped[str] = mapped_column(String(100), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    organisation_name: Mapped[str] = mapped_column(String(160), default="")
    phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    mobile: Mapped[str] = mapped_column(String(20), default="", index=True)
    email: Mapped[str] = mapped_column(String(120), default="")
    id_document_type: Mapped[IdentityDocumentType | None]
    id_document_number: Mapped[str] = mapped_column(String(40), default="")
    birth_date: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    accounts: Mapped[list[Account]] = relationship(back_populates="customer")

    @property
    def display_name(self) -> str:
        if self.kind is CustomerKind.ORGANISATION:
            return self.organisation_name
        return " ".join(p for p in (self.last_name.upper(), self.first_name) if p)


class Account(Synced, Base):
    """A customer account: what invoices and payments are posted to. Numbered with a check key."""

    __tablename__ = "account"

    number: Mapped[str] = mapped_column(String(14), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"), index=True)
    status: Mapped[AccountStatus] = mapped_column(default=AccountStatus.ACTIVE)
    payment_mode: Mapped[PaymentMode] = mapped_column(default=PaymentMode.CASH)
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    billing_premise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("premise.id"))
    #: Balance in minor units as computed by central (positive: the customer owes).
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_as_of: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="accounts")


class Premise(Synced, Base):
    """A property or dwelling served by the network (ODYSSEE's "propriété")."""

    __tablename__ = "premise"

    commune_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commune.id"), index=True)
    street_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("street.id"), index=True)
    house_number: Mapped[str] = mapped_column(String(12), default="")
    complement: Mapped[str] = mapped_column(String(120), default="")
    #: Cadastral or land-plot reference ("lot", "îlot").
    plot_reference: Mapped[str] = mapped_column(String(40), default="")
    #: Its use: the estimates of a never-read meter start from its category's average.
    category: Mapped[PremiseCategory] = mapped_column(
        default=PremiseCategory.DOMESTIC, server_default=PremiseCategory.DOMESTIC.value
    )
    owner_customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id"), index=True
    )

    commune: Mapped[Commune] = relationship()
    street: Mapped[Street | None] = relationship()
