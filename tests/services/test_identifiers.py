import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.models.enums import Energy
from kernel.errors import ValidationError
from kernel.identifiers import (
    format_account_number,
    make_account_number,
    make_drn,
    make_meter_serial,
    normalise_phone,
    validate_account_number,
    validate_drn,
    validate_meter_serial,
)


def test_account_number_layout_and_key() -> None:
    number = make_account_number("101", 2026, 42)
    assert len(number) == 14 and number.startswith("10126" + "0000042")
    assert validate_account_number(format_account_number(number)) == number


def test_wrong_account_number_is_refused_with_a_message() -> None:
    number = make_account_number("101", 2026, 42)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(ValidationError) as error:
        validate_account_number(wrong)
    assert "Clé" in error.value.fields["account_number"]
    with pytest.raises(ValidationError, match="14 chiffres"):
        validate_account_number("1012600")


@given(st.integers(1, 10**7 - 1), st.integers(0, 13), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(counter: int, position: int, delta: int) -> None:
    number = make_account_number("101", 2024, counter)
    digits = list(number)
    digits[position] = str((int(digits[position]) + delta) % 10)
    with pytest.raises(ValidationError):
        validate_account_number("".join(digits))


@given(st.integers(1, 10**7 - 1), st.integers(0, 12))
def test_any_swap_of_neighbours_is_caught(counter: int, position: int) -> None:
    number = make_account_number("101", 2024, counter)
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2:]
    with pytest.raises(ValidationError):
        validate_account_number(swapped)


def test_meter_serials_and_drn_have_luhn_digits() -> None:
    serial = make_meter_serial(Energy.WATER, 10_000_123)
    assert validate_meter_serial(serial.lower()) == serial
    with pytest.raises(ValidationError, match="contrôle"):
        validate_meter_serial(serial[:-1] + str((int(serial[-1]) + 1) % 10))
    drn = make_drn(4, 10_000_001)
    assert len(drn) == 11 and validate_drn(drn) == drn
    assert validate_drn("47500150231") == "47500150231"  # a real manufacturer's sample DRN
    with pytest.raises(ValidationError, match="contrôle"):
        validate_drn("12345678901")
    with pytest.raises(ValidationError, match="11 ou 13"):
        validate_drn("1234")


@pytest.mark.parametrize(
    "typed",
    ["07 01 02 03 04", "+225 07 01 02 03 04", "00225 0701020304", "07.01.02.03.04", "0701020304"],
)
def test_phone_numbers_are_normalised(typed: str) -> None:
    assert normalise_phone(typed) == "0701020304"
