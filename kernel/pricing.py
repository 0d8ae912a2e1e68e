"""Pricing of consumption under a tariff: progressive bands, prorated fixed charge, VAT per line.

Pure functions shared by the desk (estimates, demo data) and central's billing engine. Every line
is rounded to the currency on its own (half up), and the invoice totals are the sums of the
rounded lines, so totals always add up line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from app.models.enums import InvoiceLineKind
from kernel.money import Currency
from kernel.vocabulary import UNITS

if TYPE_CHECKING:
    from app.models.network import Tariff


@dataclass(frozen=True)
class Band:
    """Bounds are whole units for a month; prorated bounds (``central.billing.tariffs``) may
    carry up to three decimals."""

    lower: int | Decimal
    upper: int | Decimal | None
    unit_price: Decimal


@dataclass(frozen=True)
class TariffTerms:
    label: str
    unit: str
    bands: tuple[Band, ...]
    fixed_charge_minor: int
    vat_rate: Decimal


def terms_of(tariff: Tariff) -> TariffTerms:
    """A tariff row's prices as the pricing rules read them."""
    return TariffTerms(
        label=tariff.name,
        unit=UNITS[tariff.energy],
        bands=tuple(Band(b.lower_bound, b.upper_bound, b.unit_price) for b in tariff.bands),
        fixed_charge_minor=tariff.fixed_charge_minor,
        vat_rate=tariff.vat_rate,
    )


@dataclass(frozen=True)
class PricedLine:
    kind: InvoiceLineKind
    label: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount_excl_vat_minor: int
    vat_rate: Decimal
    vat_minor: int

    @property
    def amount_minor(self) -> int:
        return self.amount_excl_vat_minor + self.vat_minor


@dataclass(frozen=True)
class PricedInvoice:
    lines: tuple[PricedLine, ...]

    @property
    def total_excl_vat_minor(self) -> int:
        return sum(line.amount_excl_vat_minor for line in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.lines)

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


Quantity = int | Decimal


def split_into_bands(
    quantity: Quantity, bands: tuple[Band, ...]
) -> list[tuple[Band, Quantity]]:
    """How much of ``quantity`` falls in each band (bands sorted, contiguous from 0)."""
    if quantity < 0:
        raise ValueError("negative consumption")
    parts: list[tuple[Band, Quantity]] = []
    for band in bands:
        top = quantity if band.upper is None else min(quantity, band.upper)
        in_band = top - band.lower
        if in_band > 0:
            parts.append((band, in_band))
    return parts


def line_vat_minor(excl_minor: int, vat_rate: Decimal, currency: Currency) -> int:
    """The VAT of one line: on the line's rounded amount, rounded on its own (half up)."""
    return currency.to_minor(currency.from_minor(excl_minor) * vat_rate)


def _line(
    kind: InvoiceLineKind,
    label: str,
    quantity: Decimal,
    unit: str,
    unit_price: Decimal,
    excl_minor: int,
    vat_rate: Decimal,
    currency: Currency,
) -> PricedLine:
    vat = line_vat_minor(excl_minor, vat_rate, currency)
    return PricedLine(kind, label, quantity, unit, unit_price, excl_minor, vat_rate, vat)


def bound_text(value: int | Decimal) -> str:
    """A band bound as printed on an invoice: ``10``, ``6,667``."""
    if isinstance(value, int) or value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f").replace(".", ",")


def band_label(band: Band, unit: str) -> str:
    if band.upper is None:
        return f"Consommation au-delà de {bound_text(band.lower)} {unit}"
    return f"Consommation de {bound_text(band.lower)} à {bound_text(band.upper)} {unit}"


def fixed_charge_label(share: Fraction) -> str:
    if share == 1:
        return "Prime fixe"
    if share.denominator == 1:
        return f"Prime fixe ({share.numerator} mois)"
    return f"Prime fixe ({share.numerator}/{share.denominator} mois)"


def price_consumption(
    terms: TariffTerms,
    quantity: Quantity,
    fixed_charge_share: Fraction,
    currency: Currency,
    *,
    suffix: str = "",
) -> PricedInvoice:
    """Lines for ``quantity`` units and the share of the monthly fixed charge (days / month)."""
    lines: list[PricedLine] = []
    for band, in_band in split_into_bands(quantity, terms.bands):
        amount = Decimal(in_band) * band.unit_price
        lines.append(
            _line(
                InvoiceLineKind.CONSUMPTION,
                band_label(band, terms.unit) + suffix,
                Decimal(in_band),
                terms.unit,
                band.unit_price,
                currency.to_minor(amount),
                terms.vat_rate,
                currency,
            )
        )
    if terms.fixed_charge_minor and fixed_charge_share > 0:
        share = Decimal(fixed_charge_share.numerator) / Decimal(fixed_charge_share.denominator)
        monthly = currency.from_minor(terms.fixed_charge_minor)
        label = fixed_charge_label(fixed_charge_share) + suffix
        lines.append(
            _line(
                InvoiceLineKind.FIXED_CHARGE,
                label,
                share.quantize(Decimal("0.001")),
                "mois",
                monthly,
                currency.to_minor(monthly * share),
                terms.vat_rate,
                currency,
            )
        )
    return PricedInvoice(tuple(lines))
