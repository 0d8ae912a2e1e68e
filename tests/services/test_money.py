from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.errors import ValidationError
from app.services.money import Currency

XOF = Currency.of("XOF")
EUR = Currency.of("EUR")


def test_exponents_come_from_iso_4217() -> None:
    assert (XOF.exponent, EUR.exponent) == (0, 2)


@pytest.mark.parametrize(
    ("currency", "amount", "minor"),
    [
        (XOF, Decimal("1234.5"), 1235),
        (XOF, Decimal("1234.49"), 1234),
        (XOF, Decimal("-0.5"), -1),
        (EUR, Decimal("12.345"), 1235),
        (EUR, Decimal("12.344"), 1234),
        (EUR, Decimal("0.005"), 1),
    ],
)
def test_rounding_is_half_up_to_the_currency(currency: Currency, amount: Decimal, minor: int) -> None:
    assert currency.to_minor(amount) == minor


def test_typed_amounts_are_exact_or_refused() -> None:
    assert EUR.exact_minor(EUR.parse("1 234,56 €")) == 123456
    assert XOF.exact_minor(XOF.parse("12 500")) == 12500
    with pytest.raises(ValidationError, match="entier"):
        XOF.exact_minor(Decimal("10.5"))
    with pytest.raises(ValidationError, match="illisible"):
        XOF.parse("douze")


def test_french_formatting() -> None:
    assert XOF.format_minor(1234567) == "1\u202f234\u202f567\xa0F\u202fCFA"
    assert EUR.format_minor(123456) == "1\u202f234,56\xa0€"


@given(st.integers(-(10**15), 10**15))
def test_minor_units_round_trip(minor: int) -> None:
    for currency in (XOF, EUR):
        assert currency.to_minor(currency.from_minor(minor)) == minor
