"""The figures of a works quote: each line rounded on its own with the billing engine's rules
(``kernel.pricing``: half up to the currency, VAT per line on the rounded amount), a
discount on the whole quote made of one line per VAT rate, and totals that are sums of lines.

Works invoices reuse the same lines, so a quote and its invoice always agree to the unit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from app.models.enums import InvoiceLineKind
from kernel.errors import ValidationError
from kernel.money import Currency
from kernel.pricing import PricedLine, line_vat_minor

#: Above this, a quantity or a unit price is a typing slip.
MAX_QUANTITY = Decimal("1000000")
MAX_LINES = 200


@dataclass(frozen=True)
class LineInput:
    """One line as typed: from the catalogue (``catalogue_item_id``) or free."""

    label: str
    quantity: Decimal
    unit_price_minor: int
    vat_rate: Decimal
    unit: str = "u"
    discount_rate: Decimal = Decimal(0)
    catalogue_item_id: uuid.UUID | None = None
    code: str = ""


@dataclass(frozen=True)
class RateSummary:
    vat_rate: Decimal
    base_minor: int
    vat_minor: int

    @property
    def total_minor(self) -> int:
        return self.base_minor + self.vat_minor


@dataclass(frozen=True)
class PricedQuote:
    lines: tuple[PricedLine, ...]
    #: The discount on the whole quote: one negative line per VAT rate (empty without one).
    discounts: tuple[PricedLine, ...] = field(default=())

    @property
    def all_lines(self) -> tuple[PricedLine, ...]:
        return self.lines + self.discounts

    @property
    def gross_excl_vat_minor(self) -> int:
        """Total excluding VAT before the discount on the whole quote."""
        return sum(line.amount_excl_vat_minor for line in self.lines)

    @property
    def total_excl_vat_minor(self) -> int:
        return sum(line.amount_excl_vat_minor for line in self.all_lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.all_lines)

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.all_lines)

    def by_rate(self) -> list[RateSummary]:
        return summarise(self.all_lines)


def summarise(lines: Sequence[PricedLine]) -> list[RateSummary]:
    """The VAT summary: base and VAT per rate (sums of the lines), rates in increasing order."""
    rates: dict[Decimal, list[int]] = {}
    for line in lines:
        found = rates.setdefault(line.vat_rate, [0, 0])
        found[0] += line.amount_excl_vat_minor
        found[1] += line.vat_minor
    return [RateSummary(rate, base, vat) for rate, (base, vat) in sorted(rates.items())]


def percent_text(rate: Decimal) -> str:
    """``0.18`` → ``18 %``; ``0.055`` → ``5,5 %``."""
    value = (rate * 100).normalize()
    text = format(value, "f")
    return text.replace(".", ",") + " %"


def parse_percent(text: str, field_name: str) -> Decimal:
    """A percentage typed by an agent ("10", "5,5", "10 %") as a rate (0.1, 0.055)."""
    raw = text.replace("%", "").replace(" ", "").replace(",", ".").strip()
    if not raw:
        return Decimal(0)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError({field_name: f"Pourcentage illisible : « {text.strip()} »"}) from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise ValidationError({field_name: "Le pourcentage doit être entre 0 et 100"})
    rate = value / 100
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValidationError({field_name: "Deux décimales au plus pour un pourcentage"})
    return rate


def parse_quantity(text: str, field_name: str = "quantity") -> Decimal:
    """A quantity typed the French way ("12,5" metres), three decimals at most."""
    raw = text.replace(" ", "").replace("\u202f", "").replace(",", ".").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError({field_name: f"Quantité illisible : « {text.strip()} »"}) from None
    if not value.is_finite() or value <= 0:
        raise ValidationError({field_name: "La quantité doit être positive"})
    if value != value.quantize(Decimal("0.001")):
        raise ValidationError({field_name: "Trois décimales au plus pour une quantité"})
    if value > MAX_QUANTITY:
        raise ValidationError({field_name: "Quantité trop grande : vérifiez la saisie"})
    return value


def check_line(line: LineInput, position: int) -> dict[str, str]:
    problems: dict[str, str] = {}
    where = f"lines.{position}"
    if not line.label.strip():
        problems[f"{where}.label"] = f"Ligne {position} : saisissez le libellé"
    if line.quantity <= 0 or line.quantity != line.quantity.quantize(Decimal("0.001")) \
            or line.quantity > MAX_QUANTITY:
        problems[f"{where}.quantity"] = f"Ligne {position} : quantité positive, 3 décimales au plus"
    if line.unit_price_minor < 0:
        problems[f"{where}.unit_price"] = f"Ligne {position} : le prix unitaire ne peut être négatif"
    if not 0 <= line.vat_rate < 1:
        problems[f"{where}.vat_rate"] = f"Ligne {position} : taux de TVA invalide"
    if not 0 <= line.discount_rate <= 1:
        problems[f"{where}.discount"] = f"Ligne {position} : la remise doit être entre 0 et 100 %"
    return problems


def price_line(line: LineInput, currency: Currency) -> PricedLine:
    unit_price = currency.from_minor(line.unit_price_minor)
    excl = currency.to_minor(line.quantity * unit_price * (1 - line.discount_rate))
    label = line.label.strip()
    return PricedLine(
        InvoiceLineKind.WORKS, label, line.quantity, line.unit or "u", unit_price, excl,
        line.vat_rate, line_vat_minor(excl, line.vat_rate, currency),
    )


def discount_label(rate: Decimal, vat_rate: Decimal, several_rates: bool) -> str:
    text = f"Remise {percent_text(rate)} sur le total"
    return f"{text} (TVA {percent_text(vat_rate)})" if several_rates else text


def price_quote(lines: Sequence[LineInput], discount_rate: Decimal,
                currency: Currency) -> PricedQuote:
    """The quote's lines priced, and its discount on the total as one line per VAT rate."""
    priced = tuple(price_line(line, currency) for line in lines)
    if not discount_rate:
        return PricedQuote(priced)
    rates = summarise(priced)
    discounts = []
    for summary in rates:
        excl = -currency.to_minor(currency.from_minor(summary.base_minor) * discount_rate)
        if not excl:
            continue
        discounts.append(PricedLine(
            InvoiceLineKind.ADJUSTMENT, discount_label(discount_rate, summary.vat_rate,
                                                       len(rates) > 1),
            Decimal(1), "", currency.from_minor(excl), excl, summary.vat_rate,
            line_vat_minor(excl, summary.vat_rate, currency),
        ))
    return PricedQuote(priced, tuple(discounts))
