"""Tariffs as billing sees them: each contract is priced under the versions of its tariff (same
code) in force over the days billed. Band widths are monthly; an invoice covering another number
of days has them prorated by days (``width × days / days in the month``, rounded half up to the
thousandth), like the fixed charge."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Tariff
from app.models.enums import MeterPayment
from central.billing.period import ONE_DAY
from kernel.money import Currency
from kernel.pricing import (
    Band,
    PricedInvoice,
    Quantity,
    TariffTerms,
    price_consumption,
    terms_of,
)

#: Prorated band bounds and split quantities keep three decimals (the lines' quantity scale).
THOUSANDTH = Decimal("0.001")


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


def exact(value: Fraction) -> Decimal:
    """A fraction rounded half up to the thousandth."""
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return quotient.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


def _prorated(bound: int | Decimal, share: Fraction) -> int | Decimal:
    scaled = exact(Fraction(bound) * share)
    return int(scaled) if scaled == scaled.to_integral_value() else scaled


def prorate_bands(terms: TariffTerms, share: Fraction) -> TariffTerms:
    """Monthly band widths for an invoice covering ``share`` months of days (each calendar month
    counting its days over its length): ``bound × share``, rounded half up to the thousandth.
    A 20-day window of a 30-day month has the band 0–10 become 0–6.667."""
    if share == 1 or share <= 0:
        return terms
    bands = tuple(
        Band(_prorated(b.lower, share), None if b.upper is None else _prorated(b.upper, share),
             b.unit_price)
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
        #: Nearly every contract of a run has the same window: its segments are worked out once.
        self._segments: dict[tuple[uuid.UUID, date, date], list[tuple[TariffVersion, date, date]]] = {}

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

    def segments(
        self, tariff_id: uuid.UUID, start: date, end: date
    ) -> list[tuple[TariffVersion, date, date]]:
        """The versions in force over ``start``..``end``, each with its own days (one item when
        no version starts inside the window, which is nearly always)."""
        key = (tariff_id, start, end)
        found = self._segments.get(key)
        if found is None:
            found = self._segments[key] = self._cut(tariff_id, start, end)
        return found

    def _cut(
        self, tariff_id: uuid.UUID, start: date, end: date
    ) -> list[tuple[TariffVersion, date, date]]:
        own = self.by_id[tariff_id]
        versions = self._by_code[(own.code, own.agency_id)]
        cuts = [v.valid_from for v in versions if start < v.valid_from <= end]
        if not cuts:
            return [(self.in_force(tariff_id, end), start, end)]
        found: list[tuple[TariffVersion, date, date]] = []
        first = start
        for cut in [*sorted(set(cuts)), end + ONE_DAY]:
            version = self.in_force(tariff_id, cut - ONE_DAY)
            if found and found[-1][0].id == version.id:
                found[-1] = (version, found[-1][1], cut - ONE_DAY)
            else:
                found.append((version, first, cut - ONE_DAY))
            first = cut
        return found

    def in_force(self, tariff_id: uuid.UUID, day: date) -> TariffVersion:
        """The version of the contract's tariff in force on ``day`` (its own row if none is)."""
        own = self.by_id[tariff_id]
        for version in reversed(self._by_code[(own.code, own.agency_id)]):
            if version.in_force_on(day):
                return version
        return own


@lru_cache(maxsize=65536)
def priced(
    terms: TariffTerms, units: Quantity, share: Fraction, currency: Currency, suffix: str = ""
) -> PricedInvoice:
    """Pricing is pure and most invoices repeat the same few (units, share): cache it. Bands
    and the fixed charge are both prorated by ``share`` (months of days billed)."""
    return price_consumption(prorate_bands(terms, share), units, share, currency, suffix=suffix)
