from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.errors import ValidationError
from kernel.money import Currency

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


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("12 500", 12500), ("12500", 12500), ("12 500 F CFA", 12500), ("12\u202f500\xa0F\u202fCFA", 12500),
     ("12 500 FCFA", 12500), ("1 000 000 XOF", 1000000), (" 750 F ", 750)],
)
def test_french_forms_of_an_amount_are_read(typed: str, amount: int) -> None:
    assert XOF.parse(typed) == Decimal(amount)


@pytest.mark.parametrize(
    ("currency", "typed", "understood"),
    [(XOF, "100 €", "euros (compris : 100 €)"),
     (XOF, "€100", "euros (compris : 100 €)"),
     (XOF, "100 USD", "dollars des États-Unis"),
     (EUR, "12 500 F CFA", "francs CFA")],
)
def test_another_currency_is_refused_saying_what_was_understood(
    currency: Currency, typed: str, understood: str
) -> None:
    with pytest.raises(ValidationError) as error:
        currency.parse(typed)
    assert understood in error.value.fields["amount"]
    assert f"encaisse en {currency.symbol}" in error.value.fields["amount"]


@pytest.mark.parametrize(
    ("typed", "understood"),
    [("1.000", "1 000 ou 1,000"), ("1,000", "1 000 ou 1,000"), ("12.500", "12 500 ou 12,500"),
     ("1.000.000", "plusieurs « . »"), ("1,000,000", "plusieurs « , »"),
     ("1.000,50", "un point et une virgule"), ("1 00", "groupés autrement que par trois")],
)
def test_ambiguous_separators_are_refused_saying_what_was_understood(typed: str, understood: str) -> None:
    with pytest.raises(ValidationError) as error:
        XOF.parse(typed)
    assert "ambigu" in error.value.fields["amount"] and understood in error.value.fields["amount"]


def test_decimals_beyond_the_currency_are_refused_in_plain_french() -> None:
    with pytest.raises(ValidationError) as error:
        EUR.exact_minor(Decimal("1.005"))
    assert error.value.fields["amount"] == "Le montant ne peut pas avoir plus de 2 décimales"
    assert XOF.symbol == "F CFA" and EUR.symbol == "€"
