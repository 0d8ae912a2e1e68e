"""The split of a prepaid sale under its tariff, both ways (energy → amount, amount → energy).

The money paid goes, in this order, to the account's arrears (a configurable share of the sale,
never more than is owed), then VAT on the rest, the month's fixed charge (first purchase of the
month only), and energy priced by band, where the band is found from the energy this meter
already bought this month. Energy is rounded up to the 0.1 kWh that STS carries and VAT down:
every rounding is in the customer's favour. Energy → amount answers the smallest amount whose
split gives at least the energy asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Band:
    lower: int
    upper: int | None
    #: Price of a kWh before VAT, in the currency's major unit.
    price: Decimal
    social: bool = False


@dataclass(frozen=True)
class Terms:
    """What prices one sale of one meter at one moment."""

    bands: tuple[Band, ...]
    fixed_charge_minor: int
    vat_rate: Decimal
    arrears_share: Decimal
    exponent: int
    #: Energy the meter already bought this month; no sale this month yet takes the fixed charge.
    month_energy: Decimal = Decimal(0)
    first_of_month: bool = True
    arrears_owed_minor: int = 0


@dataclass(frozen=True)
class BandPart:
    lower: int
    upper: int | None
    social: bool
    energy: Decimal
    price: Decimal
    #: Money of this band before VAT, in minor units (fractions kept).
    minor: Decimal


@dataclass(frozen=True)
class Split:
    amount_minor: int
    energy: Decimal
    energy_minor: int
    fixed_charge_minor: int
    arrears_minor: int
    vat_minor: int
    bands: tuple[BandPart, ...] = field(default=())


class PricingError(ValueError):
    """The amount does not buy any energy (arrears share and fixed charge take it all)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _ceil(value: Decimal, quantum: Decimal = Decimal(1)) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_CEILING)


def _floor(value: Decimal, quantum: Decimal = Decimal(1)) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_FLOOR)


def _minor_price(band: Band, exponent: int) -> Decimal:
    return band.price.scaleb(exponent)


def energy_cost(terms: Terms, energy: Decimal) -> tuple[Decimal, tuple[BandPart, ...]]:
    """Money (minor units, before VAT, unrounded) of ``energy`` kWh bought after the month's."""
    start = terms.month_energy
    left = energy
    total = Decimal(0)
    parts = []
    for band in terms.bands:
        if left <= 0:
            break
        top = Decimal(band.upper) if band.upper is not None else None
        if top is not None and start >= top:
            continue
        room = left if top is None else min(left, top - max(start, Decimal(band.lower)))
        if room <= 0:
            continue
        money = room * _minor_price(band, terms.exponent)
        parts.append(BandPart(band.lower, band.upper, band.social, room, band.price, money))
        total += money
        left -= room
        start += room
    return total, tuple(parts)


def _energy_for(terms: Terms, money: Decimal) -> Decimal:
    """kWh that ``money`` (minor units before VAT) buys after the month's energy (exact)."""
    start = terms.month_energy
    energy = Decimal(0)
    for band in terms.bands:
        if money <= 0:
            break
        top = Decimal(band.upper) if band.upper is not None else None
        if top is not None and start >= top:
            continue
        unit = _minor_price(band, terms.exponent)
        can = money / unit if unit > 0 else Decimal(10**9)
        room = can if top is None else min(can, top - max(start, Decimal(band.lower)))
        energy += room
        money -= room * unit
        start += room
    return energy


def from_amount(terms: Terms, amount_minor: int) -> Split:
    """The split of an amount paid."""
    if amount_minor <= 0:
        raise PricingError("amount_invalid", "Montant invalide.")
    arrears = 0
    if terms.arrears_owed_minor > 0 and terms.arrears_share > 0:
        arrears = min(terms.arrears_owed_minor,
                      int(_floor(Decimal(amount_minor) * terms.arrears_share)))
    rest = amount_minor - arrears
    excl_vat = int(_ceil(Decimal(rest) / (1 + terms.vat_rate)))
    vat = rest - excl_vat
    fixed = terms.fixed_charge_minor if terms.first_of_month else 0
    money = excl_vat - fixed
    if money <= 0:
        raise PricingError(
            "amount_too_small",
            "Montant insuffisant : il ne couvre pas la prime fixe du mois et les arriérés.")
    energy = _ceil(_energy_for(terms, Decimal(money)), TENTH)
    if energy <= 0:
        raise PricingError("amount_too_small", "Montant insuffisant pour acheter de l'énergie.")
    _cost, bands = energy_cost(terms, energy)
    return Split(amount_minor, energy, money, fixed, arrears, vat, bands)


def from_energy(terms: Terms, energy: Decimal) -> Split:
    """The smallest amount whose split gives at least ``energy`` kWh (rounded up to 0.1)."""
    wanted = _ceil(energy, TENTH)
    if wanted <= 0:
        raise PricingError("energy_invalid", "Quantité d'énergie invalide.")
    cost, _bands = energy_cost(terms, wanted)
    fixed = terms.fixed_charge_minor if terms.first_of_month else 0
    gross = (cost + fixed) * (1 + terms.vat_rate)
    if terms.arrears_owed_minor > 0 and terms.arrears_share > 0:
        with_share = gross / (1 - terms.arrears_share)
        gross = min(with_share, gross + terms.arrears_owed_minor)
    high = int(_ceil(gross)) + 2
    while _energy_or_zero(terms, high) < wanted:
        high *= 2
    low = 0
    while high - low > 1:  # smallest amount giving the energy
        middle = (low + high) // 2
        if _energy_or_zero(terms, middle) >= wanted:
            high = middle
        else:
            low = middle
    return from_amount(terms, high)


def _energy_or_zero(terms: Terms, amount_minor: int) -> Decimal:
    try:
        return from_amount(terms, amount_minor).energy
    except PricingError:
        return Decimal(0)
