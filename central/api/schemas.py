"""What the API sends and receives. Amounts are integer minor units of the installation's
currency (see ``/version``); rates, quantities and prices are decimal strings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import (
    AccountStatus,
    Civility,
    CustomerKind,
    Energy,
    IdentityDocumentType,
    InvoiceKind,
    InvoiceLineKind,
    InvoiceStatus,
    MeterPayment,
    PaymentMode,
    Role,
    SmsStatus,
    VendChannel,
    VendStatus,
)

T = TypeVar("T")


class Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Synced(Row):
    id: uuid.UUID
    agency_id: uuid.UUID | None
    version: int
    updated_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    #: Give it as ``after`` to get the next page (empty: last page).
    next_after: uuid.UUID | None


class AgencyOut(Synced):
    code: str
    name: str
    address: str
    phone: str
    email: str
    is_active: bool


class TariffBandOut(Synced):
    lower_bound: int
    upper_bound: int | None
    unit_price: Decimal


class TariffOut(Synced):
    code: str
    name: str
    energy: Energy
    payment: MeterPayment
    fixed_charge_minor: int
    vat_rate: Decimal
    valid_from: date
    valid_to: date | None
    sts_tariff_index: int | None
    bands: list[TariffBandOut]


class CatalogueItemOut(Synced):
    code: str
    label: str
    category: str
    energy: Energy | None
    unit: str
    unit_price_minor: int
    vat_rate: Decimal
    is_active: bool


class StreetOut(Synced):
    commune_id: uuid.UUID
    name: str


class CommuneOut(Synced):
    code: str
    name: str
    postal_code: str
    streets: list[StreetOut]


class UserOut(Synced):
    """A desk needs the Argon2 hash to sign its agents in offline."""

    username: str
    full_name: str
    role: Role
    password_hash: str
    is_active: bool


class UserSummary(BaseModel):
    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    agency_code: str | None
    is_active: bool


class CustomerOut(Synced):
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
    is_active: bool


class AccountOut(Synced):
    number: str
    customer_id: uuid.UUID
    status: AccountStatus
    payment_mode: PaymentMode
    opened_on: date
    closed_on: date | None
    balance_minor: int
    balance_as_of: datetime | None


class InvoiceLineOut(Row):
    id: uuid.UUID
    position: int
    kind: InvoiceLineKind
    label: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount_excl_vat_minor: int
    vat_rate: Decimal
    vat_minor: int
    amount_minor: int


class InvoiceOut(Synced):
    number: str
    kind: InvoiceKind
    status: InvoiceStatus
    account_id: uuid.UUID
    contract_id: uuid.UUID | None
    credited_invoice_id: uuid.UUID | None
    period: str | None
    period_start: date | None
    period_end: date | None
    issued_on: date
    due_on: date | None
    total_excl_vat_minor: int
    vat_minor: int
    total_minor: int
    is_estimated: bool


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut]


class VendTransactionOut(Synced):
    receipt_number: str
    meter_id: uuid.UUID
    account_id: uuid.UUID | None
    channel: VendChannel
    status: VendStatus
    amount_minor: int
    energy: Decimal
    token: str
    token_class: int
    token_subclass: int
    phone: str
    sms_status: SmsStatus
    sold_at: datetime
    sold_by: str
    reprint_count: int


class IntegratedOut(BaseModel):
    invoice_id: uuid.UUID
    number: str
    created: bool
    balance_minor: int


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{3}$")
    name: str = Field(min_length=1, max_length=120)
    id: uuid.UUID | None = None


class AgencyCreated(BaseModel):
    agency: AgencyOut
    #: Shown once: only its hash is kept.
    credential: str


class CredentialOut(BaseModel):
    credential: str


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    full_name: str
    role: Role = Role.AGENT
    agency_code: str | None = Field(default=None, pattern=r"^\d{3}$")
    password: str = Field(repr=False)


class BillingRunOut(Row):
    id: uuid.UUID
    period: str
    agency_code: str | None
    issued_on: date
    status: str
    started_at: datetime
    finished_at: datetime | None
    chunks: int
    contracts: int
    invoices: int
    credit_notes: int
    estimated: int
    total_minor: int
    resumed_from: uuid.UUID | None
    error: str


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=200)
    issued_on: date | None = None


class CorrectionOut(BaseModel):
    credited_number: str
    credit_note_number: str
    new_number: str
    old_total_minor: int
    new_total_minor: int


class BalanceRefreshOut(BaseModel):
    accounts: int
    changed: int
