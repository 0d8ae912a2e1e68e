"""CRC (FACTS §4) and amount encoding (FACTS §3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.sts.amount import (
    MAX_STEPS,
    decode_amount,
    decode_steps,
    encode_amount,
    encode_steps,
)
from central.sts.crc import crc16_modbus, sts_crc, sts_crc_c
from central.sts.errors import AmountError
from central.sts.layout import seal, tid_block


@pytest.mark.parametrize(
    ("data", "field"),
    [("000B19EB230100", 0xC207), ("00004A2D900FF2", 0x0FFA)],
)
def test_crc_examples(data: str, field: int) -> None:
    assert sts_crc(int(data, 16)) == field
    assert sts_crc(int(data, 16)) != crc16_modbus(bytes.fromhex(data))  # the byte swap matters


def test_crc_from_the_standard_bitstring() -> None:
    assert int("000B19EB230100", 16) == 12205947027712
    assert sts_crc(12205947027712) == 49671


def test_crc_stsa_page_example() -> None:
    """Class 0, sub 0, RND 5, TID 0xC02A55 (2016-12-11 15:49), 1000 kWh -> CRC 0x1970."""
    assert seal(0, tid_block(0, 5, 0xC02A55, 0x2710)) & 0xFFFF == 0x1970


def test_crc_c_differs_from_crc() -> None:
    assert sts_crc_c(0x000B19EB230100) != sts_crc(0x000B19EB230100)


@pytest.mark.parametrize(
    ("kwh", "field"),
    [
        ("0", 0x0000),
        ("0.1", 0x0001),
        ("25.6", 0x0100),
        ("1000.0", 0x2710),
        ("1638.3", 0x3FFF),
        ("1638.4", 0x4000),
        ("18022.3", 0x8000),
        ("18022.4", 0x8000),
        ("181862.3", 0xC000),
        ("1820162.4", 0xFFFF),
    ],
)
def test_amount_examples(kwh: str, field: int) -> None:
    assert encode_amount(kwh) == field


def test_amount_rounds_up_in_the_customers_favour() -> None:
    assert encode_amount("0.01") == 0x0001
    assert decode_amount(encode_amount("1638.45")) == Decimal("1639.4")
    assert decode_amount(encode_amount("18021.41")) == Decimal("18022.4")
    assert encode_amount(0.1) == 0x0001  # float goes through str, not 0.1000000000000000055


@pytest.mark.parametrize(
    ("field", "steps"),
    [(0x3FFF, 16383), (0x4000, 16384), (0x7FFF, 180214), (0x8000, 180224),
     (0xBFFF, 1818524), (0xC000, 1818624), (0xFFFF, 18201624)],
)
def test_exponent_boundaries(field: int, steps: int) -> None:
    assert decode_steps(field) == steps
    assert encode_steps(steps) == field


@given(st.integers(min_value=0, max_value=MAX_STEPS))
def test_encoding_is_the_smallest_value_not_below_the_request(steps: int) -> None:
    field = encode_steps(steps)
    assert decode_steps(field) >= steps
    if field:
        assert decode_steps(field - 1) < steps


def test_watts_use_one_step_per_unit() -> None:
    assert encode_amount(1000, 1) == 1000
    assert decode_amount(1000, 1) == 1000


@pytest.mark.parametrize(
    "bad", ["1820162.5", "-0.1", "abc", "NaN", "Infinity", 10**9, Decimal("sNaN"), True, [1]]
)
def test_amount_refused(bad: object) -> None:
    encode_amount(1)  # a cached 1 must not answer for True
    with pytest.raises(AmountError):
        encode_amount(bad)  # type: ignore[arg-type]


def test_amount_above_maximum_message() -> None:
    with pytest.raises(AmountError, match="above the maximum 1820162.4 kWh"):
        encode_amount("1820162.5", 10, "kWh")
    with pytest.raises(AmountError):
        encode_steps(MAX_STEPS + 1)
    with pytest.raises(AmountError):
        decode_steps(0x10000)
