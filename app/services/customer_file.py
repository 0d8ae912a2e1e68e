"""The whole customer file in plain data: identity, accounts with balances, premises with their
connections, meters and contracts. Screens get this, never live database objects."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Contract,
    Customer,
    Meter,
    MeterReading,
    Premise,
    ServiceConnection,
    Street,
    Tariff,
)
from app.models.enums import (
    AccountStatus,
    Civility,
    ConnectionStatus,
    ContractStatus,
    CustomerKind,
    Energy,
    IdentityDocumentType,
    MeterPayment,
    MeterStatus,
    PaymentMode,
    ReadingKind,
    ReadingSource,
)
from app.services.balances import Balance, balances_of
from app.services.search import format_address, format_phone
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.identifiers import format_account_number


@dataclass(frozen=True)
class Identity:
    customer_id: uuid.UUID
    version: int
    kind: CustomerKind
    civility: Civility | None
    last_name: str
    first_name: str
    organisation_name: str
    phone: str
    mobile: str
    email: str
    id_document_type: IdentityDocumentType | None
    id_document_number: str
    birth_date: date | None
    notes: str

    @property
    def display_name(self) -> str:
        if self.kind is CustomerKind.ORGANISATION:
            return self.organisation_name
        name = " ".join(p for p in (self.last_name.upper(), self.first_name) if p)
        return f"{self.civility.value} {name}" if self.civility else name

    @property
    def phones(self) -> str:
        return " / ".join(format_phone(p) for p in (self.mobile, self.phone) if p)


@dataclass(frozen=True)
class AccountSummary:
    account_id: uuid.UUID
    number: str
    status: AccountStatus
    payment_mode: PaymentMode
    opened_on: date
    closed_on: date | None
    #: The solde à jour (central's balance and what this desk did since).
    balance_minor: int
    balance_as_of: datetime | None
    billing_address: str
    balance: Balance | None = None

    @property
    def formatted_number(self) -> str:
        return format_account_number(self.number)


@dataclass(frozen=True)
class ReadingLine:
    reading_id: uuid.UUID
    reading_date: date
    index_value: int
    source: ReadingSource
    kind: ReadingKind
    consumption: int | None
    recorded_by: str


@dataclass(frozen=True)
class MeterInfo:
    meter_id: uuid.UUID
    version: int
    serial: str
    energy: Energy
    payment: MeterPayment
    status: MeterStatus
    digits: int
    installed_on: date | None
    removed_on: date | None
    sts_drn: str | None
    #: The last index actually read (central's estimates left out).
    last_reading: ReadingLine | None

    @property
    def max_index(self) -> int:
        return 10**self.digits - 1


@dataclass(frozen=True)
class ContractInfo:
    contract_id: uuid.UUID
    version: int
    number: str
    account_id: uuid.UUID
    account_number: str
    tariff_name: str
    status: ContractStatus
    start_date: date
    end_date: date | None
    is_this_customer: bool


@dataclass(frozen=True)
class ConnectionInfo:
    connection_id: uuid.UUID
    reference: str
    energy: Energy
    status: ConnectionStatus
    meters: tuple[MeterInfo, ...]
    contracts: tuple[ContractInfo, ...]

    @property
    def current_meter(self) -> MeterInfo | None:
        return next((m for m in self.meters if m.status is MeterStatus.INSTALLED), None)

    @property
    def current_contract(self) -> ContractInfo | None:
        return next((c for c in self.contracts if c.status is ContractStatus.ACTIVE), None)


@dataclass(frozen=True)
class PremiseInfo:
    premise_id: uuid.UUID
    address: str
    connections: tuple[ConnectionInfo, ...]


@dataclass(frozen=True)
class CustomerFile:
    identity: Identity
    accounts: tuple[AccountSummary, ...]
    premises: tuple[PremiseInfo, ...]

    @property
    def balance_as_of(self) -> datetime | None:
        dates = [a.balance_as_of for a in self.accounts if a.balance_as_of]
        return max(dates) if dates else None


def identity_of(customer: Customer) -> Identity:
    return Identity(
        customer.id,
        customer.version,
        customer.kind,
        customer.civility,
        customer.last_name,
        customer.first_name,
        customer.organisation_name,
        customer.phone,
        customer.mobile,
        customer.email,
        customer.id_document_type,
        customer.id_document_number,
        customer.birth_date,
        customer.notes,
    )


def reading_line(reading: MeterReading) -> ReadingLine:
    return ReadingLine(
        reading.id,
        reading.reading_date,
        reading.index_value,
        reading.source,
        reading.kind,
        reading.consumption,
        reading.recorded_by,
    )


def _last_readings(session: Session, meter_ids: list[uuid.UUID]) -> dict[uuid.UUID, ReadingLine]:
    if not meter_ids:
        return {}
    ranked = (
        select(
            MeterReading,
            func.row_number()
            .over(
                partition_by=MeterReading.meter_id,
                order_by=(MeterReading.reading_date.desc(), MeterReading.read_at.desc()),
            )
            .label("rank"),
        )
        .where(
            MeterReading.meter_id.in_(meter_ids),
            MeterReading.source != ReadingSource.ESTIMATE,
        )
        .subquery()
    )
    latest = (
        select(MeterReading).join(ranked, ranked.c.id == MeterReading.id).where(ranked.c.rank == 1)
    )
    return {r.meter_id: reading_line(r) for r in session.scalars(latest)}


def load_customer_file(ctx: ServiceContext, customer_id: uuid.UUID) -> CustomerFile:
    with ctx.reading() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError("Ce client n'existe pas (ou plus) dans la base de l'agence.")
        accounts = list(
            session.scalars(
                select(Account)
                .where(Account.customer_id == customer_id)
                .order_by(Account.opened_on)
            )
        )
        account_ids = [a.id for a in accounts]
        contracts = (
            list(session.scalars(select(Contract).where(Contract.account_id.in_(account_ids))))
            if account_ids
            else []
        )
        connection_ids = {c.connection_id for c in contracts}
        premise_ids = {a.billing_premise_id for a in accounts if a.billing_premise_id}
        connections = (
            list(
                session.scalars(
                    select(ServiceConnection).where(
                        (ServiceConnection.id.in_(connection_ids))
                        | (ServiceConnection.premise_id.in_(premise_ids))
                    )
                )
            )
            if connection_ids or premise_ids
            else []
        )
        premise_ids |= {c.premise_id for c in connections}
        connection_ids |= {c.id for c in connections}
        all_contracts = (
            list(
                session.scalars(
                    select(Contract)
                    .where(Contract.connection_id.in_(connection_ids))
                    .order_by(Contract.start_date.desc())
                )
            )
            if connection_ids
            else []
        )
        meters = (
            list(
                session.scalars(
                    select(Meter)
                    .where(Meter.connection_id.in_(connection_ids))
                    .order_by(Meter.installed_on.desc())
                )
            )
            if connection_ids
            else []
        )
        last = _last_readings(session, [m.id for m in meters])
        tariffs = dict(session.execute(select(Tariff.id, Tariff.name)).all())
        account_numbers = (
            dict(
                session.execute(
                    select(Account.id, Account.number).where(
                        Account.id.in_({c.account_id for c in all_contracts})
                    )
                ).all()
            )
            if all_contracts
            else {}
        )
        addresses = (
            {
                pid: format_address(number, street, complement, commune)
                for pid, number, street, complement, commune in session.execute(
                    select(
                        Premise.id,
                        Premise.house_number,
                        Street.name,
                        Premise.complement,
                        Commune.name,
                    )
                    .join(Commune, Commune.id == Premise.commune_id)
                    .outerjoin(Street, Street.id == Premise.street_id)
                    .where(Premise.id.in_(premise_ids))
                )
            }
            if premise_ids
            else {}
        )
        premises = []
        for premise_id in sorted(premise_ids, key=lambda p: addresses.get(p, "")):
            items = []
            for connection in sorted(
                (c for c in connections if c.premise_id == premise_id), key=lambda c: c.energy.value
            ):
                items.append(
                    ConnectionInfo(
                        connection.id,
                        connection.reference,
                        connection.energy,
                        connection.status,
                        tuple(
                            MeterInfo(
                                m.id,
                                m.version,
                                m.serial,
                                m.energy,
                                m.payment,
                                m.status,
                                m.digits,
                                m.installed_on,
                                m.removed_on,
                                m.sts_drn,
                                last.get(m.id),
                            )
                            for m in meters
                            if m.connection_id == connection.id
                        ),
                        tuple(
                            ContractInfo(
                                c.id,
                                c.version,
                                c.number,
                                c.account_id,
                                format_account_number(account_numbers.get(c.account_id, "")),
                                tariffs.get(c.tariff_id, ""),
                                c.status,
                                c.start_date,
                                c.end_date,
                                c.account_id in account_ids,
                            )
                            for c in all_contracts
                            if c.connection_id == connection.id
                        ),
                    )
                )
            premises.append(PremiseInfo(premise_id, addresses.get(premise_id, ""), tuple(items)))
        balances = balances_of(session, account_ids)
        return CustomerFile(
            identity=identity_of(customer),
            accounts=tuple(
                AccountSummary(
                    a.id,
                    a.number,
                    a.status,
                    a.payment_mode,
                    a.opened_on,
                    a.closed_on,
                    balances[a.id].current_minor,
                    a.balance_as_of,
                    addresses.get(a.billing_premise_id, "") if a.billing_premise_id else "",
                    balances[a.id],
                )
                for a in accounts
            ),
            premises=tuple(premises),
        )


def meter_readings(ctx: ServiceContext, meter_id: uuid.UUID, limit: int = 100) -> list[ReadingLine]:
    """Newest first; where central has not yet computed a consumption, the difference with the
    previous index (through zero for a rollover) is shown."""
    with ctx.reading() as session:
        meter = session.get(Meter, meter_id)
        rows = list(
            session.scalars(
                select(MeterReading)
                .where(MeterReading.meter_id == meter_id)
                .order_by(MeterReading.reading_date.desc(), MeterReading.read_at.desc())
                .limit(limit + 1)
            )
        )
    if not rows:
        return []
    counted = (
        ReadingKind.REGULAR,
        ReadingKind.ROLLOVER,
        ReadingKind.MOVE_OUT,
        ReadingKind.METER_REMOVED,
    )
    lines = []
    for newer, older in zip(rows, [*rows[1:], None], strict=True):
        line = reading_line(newer)
        if (
            line.consumption is None
            and older is not None
            and meter is not None
            and newer.kind in counted
        ):
            used = newer.index_value - older.index_value
            if newer.kind is ReadingKind.ROLLOVER:
                used += meter.max_index + 1
            line = replace(line, consumption=used)
        lines.append(line)
    return lines[:limit]
