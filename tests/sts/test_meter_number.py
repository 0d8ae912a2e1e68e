"""MeterPAN, DRN and Luhn check digits (FACTS §7)."""

from __future__ import annotations

import pytest

from central.sts.errors import CheckDigitError, MeterNumberError
from central.sts.meter_number import (
    luhn_check_digit,
    pan_from_drn,
    parse_meter_number,
    parse_pan,
    validate_drn,
)


@pytest.mark.parametrize(
    ("pan", "iin", "drn", "drn_check", "pan_check", "mfr"),
    [
        ("600727000000000009", "600727", "00000000000", 0, 9, 0),
        ("000001000000000082", "0000", "0100000000008", 8, 2, 100),
    ],
)
def test_pan_examples(pan: str, iin: str, drn: str, drn_check: int, pan_check: int,
                      mfr: int) -> None:
    parsed = parse_pan(pan)
    assert (parsed.iin, parsed.drn, parsed.mfr_code) == (iin, drn, mfr)
    assert luhn_check_digit(drn[:-1]) == drn_check
    assert luhn_check_digit(pan[:-1]) == pan_check
    assert parsed.digits == pan == str(parsed)


def test_luhn_values_from_facts() -> None:
    assert luhn_check_digit("0000000000") == 0
    assert luhn_check_digit("60072700000000000") == 9
    assert luhn_check_digit("4750015023") == 1
    assert luhn_check_digit("1234567890") == 3


def test_sdk_sample_drn_is_valid() -> None:
    pan = pan_from_drn("47500150231")
    assert pan.iin == "600727" and pan.mfr_code == 47 and pan.serial == "50015023"
    assert parse_pan(pan.digits) == pan


def test_dart_example_drn_has_a_wrong_check_digit() -> None:
    with pytest.raises(CheckDigitError) as caught:
        validate_drn("12345678901")
    assert (caught.value.found, caught.value.expected) == (1, 3)
    assert "expected 3" in caught.value.message_en and "attendu 3" in caught.value.message_fr


def test_wrong_pan_check_digit_is_named() -> None:
    with pytest.raises(CheckDigitError, match="MeterPAN 600727000000000008: check digit is 8"):
        parse_pan("600727000000000008")


def test_wrong_drn_check_digit_inside_a_pan() -> None:
    body = "600727" + "1234567890" + "1"
    pan = body + str(luhn_check_digit(body))
    with pytest.raises(CheckDigitError, match="DRN 12345678901"):
        parse_pan(pan)


def test_thirteen_digit_drn_builds_a_short_iin_pan() -> None:
    pan = pan_from_drn("0100000000008")
    assert pan.digits == "000001000000000082"
    assert pan.pan_block == "0000100000000008"


@pytest.mark.parametrize("text", ["6007 2700 0000 0000 09", "600727-000000000009"])
def test_operator_input_with_separators(text: str) -> None:
    assert parse_meter_number(text).digits == "600727000000000009"


@pytest.mark.parametrize("text", ["60072700000000000", "60072700000000000x", "1234", "٦٠٠٧٢٧"])
def test_malformed_numbers(text: str) -> None:
    with pytest.raises(MeterNumberError):
        parse_meter_number(text)
