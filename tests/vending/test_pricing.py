"""The split of a prepaid sale: bands by the month's energy, social first band, fixed charge on
the month's first purchase, arrears share, VAT, 0.1 kWh rounding in the customer's favour."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.vending.pricing import Band, PricingError, Terms, from_amount, from_energy

BANDS = (Band(0, 50, Decimal(60), True), Band(50, 150, Decimal(90)), Band(150, None, Decimal(120)))


def terms(**changes: object) -> Terms:
    base = {"bands": BANDS, "fixed_charge_minor": 500, "vat_rate": Decimal("0.18"),
            "arrears_share": Decimal("0.2"), "exponent": 0}
    return Terms(**{**base, **changes})  # type: ignore[arg-type]


def test_first_purchase_of_the_month_pays_the_fixed_charge_and_starts_in_the_social_band() -> None:
    split = from_amount(terms(), 5000)
    # 5000 = 762 VAT + 4238 before VAT = 500 fixed charge + 3738 of energy:
    # 50 kWh at 60 (social) + 8.2 kWh at 90.
    assert (split.vat_minor, split.fixed_charge_minor, split.energy_minor) == (762, 500, 3738)
    assert split.energy == Decimal("58.2")
    assert [(b.lower, b.energy, b.social) for b in split.bands] == [
        (0, Decimal(50), True), (50, Decimal("8.2"), False)]
    assert split.amount_minor == sum((split.vat_minor, split.fixed_charge_minor,
                                      split.energy_minor, split.arrears_minor))


def test_later_purchases_skip_the_fixed_charge_and_start_where_the_month_stands() -> None:
    split = from_amount(terms(first_of_month=False, month_energy=Decimal(140)), 5000)
    assert split.fixed_charge_minor == 0
    # 4238 before VAT: 10 kWh at 90 (up to 150) = 900, then 3338 / 120 = 27.816… → 27.9
    assert split.energy == Decimal("37.9")
    assert [b.lower for b in split.bands] == [50, 150]


def test_the_arrears_share_is_taken_first_and_never_more_than_owed() -> None:
    split = from_amount(terms(arrears_owed_minor=5000), 10_000)
    assert split.arrears_minor == 2000
    small_debt = from_amount(terms(arrears_owed_minor=300), 10_000)
    assert small_debt.arrears_minor == 300


def test_energy_to_amount_is_the_smallest_amount_giving_at_least_that_energy() -> None:
    quote = from_energy(terms(), Decimal("58.2"))
    assert (quote.amount_minor, quote.energy) == (4991, Decimal("58.2"))
    assert from_amount(terms(), 4990).energy == Decimal("58.1")
    # 58.15 kWh asked: STS carries 0.1 kWh, the customer gets 58.2.
    assert from_energy(terms(), Decimal("58.15")).energy == Decimal("58.2")


def test_an_amount_that_only_covers_the_fixed_charge_is_refused() -> None:
    with pytest.raises(PricingError) as refused:
        from_amount(terms(), 500)
    assert refused.value.code == "amount_too_small"


@settings(max_examples=60, deadline=None)
@given(energy=st.decimals(min_value=Decimal("0.1"), max_value=Decimal(2000), places=1),
       month=st.integers(0, 300), first=st.booleans(), owed=st.integers(0, 20_000))
def test_both_ways_agree(energy: Decimal, month: int, first: bool, owed: int) -> None:
    t = terms(month_energy=Decimal(month), first_of_month=first, arrears_owed_minor=owed)
    quote = from_energy(t, energy)
    assert quote.energy >= energy
    assert from_amount(t, quote.amount_minor) == quote
    assert quote.amount_minor == 1 or _energy(t, quote.amount_minor - 1) < energy


def _energy(t: Terms, amount: int) -> Decimal:
    try:
        return from_amount(t, amount).energy
    except PricingError:
        return Decimal(0)
