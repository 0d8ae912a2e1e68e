"""The vending platform's records and small rules: a sale as the operator sees it, a
desk seller, a quote, a meter's facts, and the checks of what a request gives.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from app.models import (
    VendTransaction,
)
from app.models.database import Database
from app.models.enums import (
    MeterPayment,
)
from central.meters.fleet import MeterRecord
from central.vending.errors import refused
from central.vending.hes import TokenMaker
from central.vending.pricing import Band, Split
from central.vending.sale_writer import SaleWriter
from kernel.money import Currency
from kernel.numbering import VEND_RECEIPT_CODE

#: The platform's receipt series (one for every operator): ``RP000-2026-000001``.
SERIES_CODE = VEND_RECEIPT_CODE
_PHONE = re.compile(r"\+?\d{8,15}")
REFERENCE_FORMAT = re.compile(r"[A-Za-z0-9._:/-]{1,60}")


@dataclass(frozen=True)
class TariffTerms:
    id: uuid.UUID
    code: str
    name: str
    payment: MeterPayment
    fixed_charge_minor: int
    vat_rate: Decimal
    arrears_recovery_share: Decimal | None
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class MeterFacts:
    meter_id: uuid.UUID
    agency_id: uuid.UUID | None
    drn: str
    record: MeterRecord
    owner: str
    account_id: uuid.UUID | None
    arrears_owed_minor: int
    tariff: TariffTerms
    arrears_share: Decimal


@dataclass(frozen=True)
class Sale:
    """A sale as the operator sees it (a plain copy: no session behind it)."""

    id: uuid.UUID
    reference: str
    receipt: str
    meter: str
    status: str
    channel: str
    phone: str
    amount_minor: int
    energy: Decimal
    energy_minor: int
    fixed_charge_minor: int
    arrears_minor: int
    vat_minor: int
    token: str
    key_change_tokens: tuple[str, ...]
    token_tid: int | None
    sold_at: datetime
    sms_status: str
    hes_status: str | None
    account_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    operator: str
    sold_by: str

    @classmethod
    def of(cls, row: VendTransaction, drn: str, hes: str | None) -> Sale:
        return cls(row.id, row.operator_reference, row.receipt_number, drn, row.status.value,
                   row.channel.value, row.phone, row.amount_minor, row.energy,
                   row.energy_minor, row.fixed_charge_minor, row.arrears_minor, row.vat_minor,
                   row.token, tuple(row.key_change_tokens.split()), row.token_tid, row.sold_at,
                   row.sms_status.value, hes, row.account_id, row.agency_id, row.operator_code,
                   row.sold_by)


@dataclass(frozen=True)
class DeskSeller:
    agency_id: uuid.UUID
    agency_code: str
    #: The agent at the counter (recorded on the sale and its audit entry).
    agent: str


@dataclass(frozen=True)
class Quote:
    meter: str
    owner: str
    tariff_code: str
    tariff_name: str
    split: Split
    first_of_month: bool
    month_energy: Decimal


#: A live search's answer is short (the agent picks one meter) and needs a few characters.
SEARCH_LIMIT = 20
SEARCH_MIN_TEXT = 3
SEARCH_MAX_TEXT = 40


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def mask_name(last: str, first: str) -> str:
    """``Kouassi Aya`` → ``K*** A.``: enough for the payer to recognise the meter."""
    last, first = last.strip(), first.strip()
    if not last and not first:
        return "***"
    head = f"{last[0].upper()}***" if last else ""
    tail = f"{first[0].upper()}." if first else ""
    return f"{head} {tail}".strip()


def _digest(meter: str, amount_minor: int, phone: str, channel: str) -> str:
    return hashlib.sha256(f"{meter}|{amount_minor}|{phone}|{channel}".encode()).hexdigest()


def normalise_meter_number(text: str) -> str:
    return re.sub(r"[\s.-]", "", text or "")


def check_phone(phone: str) -> str:
    cleaned = re.sub(r"[\s.-]", "", phone or "")
    if not _PHONE.fullmatch(cleaned):
        raise refused("phone_invalid", "Numéro de téléphone invalide.", 422)
    return cleaned


def parse_energy(text: str | Decimal) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise refused("energy_invalid", "Quantité d'énergie invalide (ex. 25 ou 25.5).",
                      422) from None
    if not value.is_finite() or value <= 0 or value > 100_000:
        raise refused("energy_invalid", "Quantité d'énergie invalide (ex. 25 ou 25.5).", 422)
    return value



class PlatformState:
    """What every part of the platform holds (set by :class:`central.vending.platform.Platform`)."""

    db: Database
    currency: Currency
    zone: ZoneInfo
    tokens: TokenMaker | None
    hes_enabled: bool
    sms_enabled: bool
    clock: Callable[[], datetime]
    wake: Callable[[], None]
    _tariffs: dict[tuple[uuid.UUID, date], tuple[float, TariffTerms | None]]
    writer: SaleWriter
