"""The network at a premise: service connections, meters, contracts and readings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.enums import (
    ConnectionStatus,
    ContractStatus,
    Energy,
    MeterPayment,
    MeterStatus,
    ReadingKind,
    ReadingSource,
)
from app.models.types import ScaledDecimal


class ServiceConnection(Synced, Base):
    """A branchement: the physical link of one premise to the water or electricity network."""

    __tablename__ = "service_connection"

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    premise_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("premise.id"), index=True)
    energy: Mapped[Energy]
    status: Mapped[ConnectionStatus] = mapped_column(default=ConnectionStatus.ACTIVE)
    installed_on: Mapped[date | None]
    #: Subscribed power in kVA (electricity) or pipe diameter in mm (water).
    rating: Mapped[int | None] = mapped_column(SmallInteger)

    meters: Mapped[list[Meter]] = relationship(back_populates="connection")


class Meter(Synced, Base):
    """A water or electricity meter; prepaid electricity meters carry their STS identity."""

    __tablename__ = "meter"

    serial: Mapped[str] = mapped_column(String(20), unique=True)
    energy: Mapped[Energy]
    payment: Mapped[MeterPayment] = mapped_column(default=MeterPayment.POSTPAID)
    status: Mapped[MeterStatus] = mapped_column(default=MeterStatus.INSTALLED)
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("service_connection.id"), index=True
    )
    make: Mapped[str] = mapped_column(String(40), default="")
    #: Number of register digits: the index rolls over after 10**digits - 1.
    digits: Mapped[int] = mapped_column(SmallInteger, default=6)
    initial_index: Mapped[int] = mapped_column(BigInteger, default=0)
    installed_on: Mapped[date | None]
    removed_on: Mapped[date | None]

    # STS (IEC 62055-41) identity of a prepaid meter; the vending keys never leave central.
    sts_drn: Mapped[str | None] = mapped_column(String(13), unique=True)
    sts_iin: Mapped[str | None] = mapped_column(String(6))
    sts_sgc: Mapped[int | None]
    sts_tariff_index: Mapped[int | None] = mapped_column(SmallInteger)
    sts_key_revision: Mapped[int | None] = mapped_column(SmallInteger)
    sts_key_type: Mapped[int | None] = mapped_column(SmallInteger)
    sts_key_expiry: Mapped[int | None] = mapped_column(SmallInteger)
    sts_algorithm: Mapped[str | None] = mapped_column(String(2))
    sts_dkga: Mapped[str | None] = mapped_column(String(2))
    sts_base_date: Mapped[int | None] = mapped_column(SmallInteger)
    prepaid_tariff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tariff.id"))

    connection: Mapped[ServiceConnection | None] = relationship(back_populates="meters")

    @property
    def max_index(self) -> int:
        return 10**self.digits - 1


class Contract(Synced, Base):
    """An abonnement: an account takes a connection under a tariff from move-in to move-out."""

    __tablename__ = "contract"
    __table_args__ = (Index("ix_contract_connection_period", "connection_id", "start_date"),)

    number: Mapped[str] = mapped_column(String(24), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("account.id"), index=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("service_connection.id"))
    tariff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tariff.id"), index=True)
    status: Mapped[ContractStatus] = mapped_column(default=ContractStatus.ACTIVE)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    move_in_reading_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter_reading.id"))
    move_out_reading_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("meter_reading.id"))
    #: Last day already billed by central (billing resumes from the day after).
    billed_until: Mapped[date | None]


class MeterReading(Synced, Base):
    """A relève: the index of one meter on one day, with where it came from."""

    __tablename__ = "meter_reading"
    __table_args__ = (Index("ix_meter_reading_meter_date", "meter_id", "reading_date"),)

    meter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meter.id"))
    reading_date: Mapped[date]
    read_at: Mapped[datetime]
    index_value: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[ReadingSource] = mapped_column(default=ReadingSource.AGENT)
    kind: Mapped[ReadingKind] = mapped_column(default=ReadingKind.REGULAR)
    #: Consumption this reading accounts for, when central computed it (estimates carry it).
    consumption: Mapped[int | None] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    #: Read on the meter of a premise with no contract in force: never billed, listed for the
    #: supervisor (consumption on a vacant premise is a leak or fraud signal).
    on_vacant_premise: Mapped[bool] = mapped_column(default=False)
    #: The index first typed, when a supervisor corrected it (central then credits and
    #: re-bills the invoice computed on it).
    corrected_from_index: Mapped[int | None] = mapped_column(BigInteger)


class Tariff(Synced, Base):
    """A price list: progressive consumption bands, a monthly fixed charge and VAT."""

    __tablename__ = "tariff"

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    energy: Mapped[Energy]
    payment: Mapped[MeterPayment] = mapped_column(default=MeterPayment.POSTPAID)
    #: Fixed charge per full month, in minor units, before VAT.
    fixed_charge_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    #: STS tariff index of prepaid meters sold under this tariff.
    sts_tariff_index: Mapped[int | None] = mapped_column(SmallInteger)
    #: Premise categories (``PremiseCategory`` values, comma-separated) the tariff is for;
    #: empty: any.
    customer_categories: Mapped[str] = mapped_column(String(120), default="", server_default="")
    #: Prepaid: the share of each purchase kept to recover the account's arrears (0.25 = 25 %).
    arrears_recovery_share: Mapped[Decimal | None] = mapped_column(ScaledDecimal(4))

    bands: Mapped[list[TariffBand]] = relationship(
        back_populates="tariff", order_by="TariffBand.lower_bound", cascade="all, delete-orphan"
    )


class TariffBand(Synced, Base):
    """One tranche: the unit price from ``lower_bound`` up to ``upper_bound`` (open when empty)."""

    __tablename__ = "tariff_band"

    tariff_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tariff.id"), index=True)
    lower_bound: Mapped[int] = mapped_column(BigInteger)
    upper_bound: Mapped[int | None] = mapped_column(BigInteger)
    #: Price of one unit (m³ or kWh) in the currency's major unit, up to 4 decimals.
    unit_price: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    #: The social (lifeline) band: the first band, at a subsidised price.
    is_social: Mapped[bool] = mapped_column(default=False, server_default=false())

    tariff: Mapped[Tariff] = relationship(back_populates="bands")
