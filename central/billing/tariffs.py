"""Tariffs as billing sees them: each contract is priced under the version of its tariff (same
code) in force on the last day billed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Tariff
from app.models.enums import Energy, MeterPayment
from app.services.money import Currency
from app.services.pricing import Band, PricedInvoice, TariffTerms, price_consumption
from central.billing.period import band_months

UNITS = {Energy.WATER: "m³", Energy.ELECTRICITY: "kWh"}


@dataclass(frozen=True)
class TariffVersion:
    id: uuid.UUID
    code: str
    agency_id: uuid.UUID | None
    payment: MeterPayment
    valid_from: date
    valid_to: date | None
    terms: TariffTerms

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


def terms_of(tariff: Tariff) -> TariffTerms:
    return TariffTerms(
        label=tariff.name,
        unit=UNITS[tariff.energy],
        bands=tuple(Band(b.lower_bound, b.upper_bound, b.unit_price) for b in tariff.bands),
        fixed_charge_minor=tariff.fixed_charge_minor,
        vat_rate=tariff.vat_rate,
    )


def scale_bands(terms: TariffTerms, months: int) -> TariffTerms:
    """Monthly bands widened for an invoice covering several months (catch-up, correction)."""
    if months == 1:
        return terms
    bands = tuple(
        Band(b.lower * months, None if b.upper is None else b.upper * months, b.unit_price)
        for b in terms.bands
    )
    return replace(terms, bands=bands)


class TariffBook:
    """Every tariff, loaded once per billing run (a few rows)."""

    def __init__(self, versions: list[TariffVersion]) -> None:
        self.by_id = {v.id: v for v in versions}
        self._by_code: dict[tuple[str, uuid.UUID | None], list[TariffVersion]] = defaultdict(list)
        for version in sorted(versions, key=lambda v: v.valid_from):
            self._by_code[(version.code, version.agency_id)].append(version)

    @classmethod
    def load(cls, session: Session) -> TariffBook:
        tariffs = session.scalars(select(Tariff).options(selectinload(Tariff.bands))).all()
        return cls(
            [
                TariffVersion(
                    t.id, t.code, t.agency_id, t.payment, t.valid_from, t.valid_to, terms_of(t)
                )
                for t in tariffs
            ]
        )

    def postpaid_ids(self) -> list[uuid.UUID]:
        return [v.id for v in self.by_id.values() if v.payment is MeterPayment.POSTPAID]

    def in_force(self, tariff_id: uuid.UUID, day: date) -> TariffVersion:
        """The version of the contract's tariff in force on ``day`` (its own row if none is)."""
        own = self.by_id[tariff_id]
        for version in reversed(self._by_code[(own.code, own.agency_id)]):
            if version.in_force_on(day):
                return version
        return own


@lru_cache(maxsize=65536)
def priced(terms: TariffTerms, units: int, share: Fraction, currency: Currency) -> PricedInvoice:
    """Pricing is pure and most invoices repeat the same few (units, share): cache it."""
    return price_consumption(scale_bands(terms, band_months(share)), units, share, currency)
