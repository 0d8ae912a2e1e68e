"""Properties: decode(issue(x)) == x for every valid field and both algorithms, and a
single mistyped digit is rejected (or, rarely, is another valid token)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.sts.decoder import decode_token
from central.sts.errors import TokenRejectedError
from central.sts.keys import DecoderKeyCache, KeySource
from central.sts.meter_number import luhn_check_digit, pan_from_drn
from central.sts.profile import MeterKeyProfile
from central.sts.tid import MAX_TID
from central.sts.tokens import issue_credit, issue_test_token, issue_tid_token
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02, TEST_VENDING_KEY_DKGA04

CACHE = DecoderKeyCache()
ALGORITHMS = [(2, 7, "real"), (2, 7, "sample"), (4, 7, "real"), (4, 11, "real")]


@st.composite
def profiles(draw: st.DrawFn, dkga: int, ea: int, tables: str) -> MeterKeyProfile:
    body = draw(st.text("0123456789", min_size=10, max_size=10))
    drn = body + str(luhn_check_digit(body))
    return MeterKeyProfile(
        pan=pan_from_drn(drn).digits,
        sgc=draw(st.integers(0, 999_999)),
        ti=draw(st.integers(0, 99)),
        krn=draw(st.integers(1, 9)),
        kt=draw(st.integers(0, 3)),
        dkga=dkga, ea=ea, tables=tables,
        base_date=draw(st.sampled_from([1993, 2014, 2035])),
    )


kinds = st.sampled_from([(0, 0), (0, 1), (0, 2), (0, 3), (2, 0), (2, 1), (2, 2), (2, 5), (2, 6)])


def _keys(dkga: int) -> KeySource:
    return TEST_VENDING_KEY_DKGA02 if dkga == 2 else TEST_VENDING_KEY_DKGA04


@pytest.mark.parametrize(("dkga", "ea", "tables"), ALGORITHMS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_decode_inverts_issue(dkga: int, ea: int, tables: str, data: st.DataObject) -> None:
    profile = data.draw(profiles(dkga, ea, tables))
    token_class, subclass = data.draw(kinds)
    rnd = data.draw(st.integers(0, 15))
    tid = data.draw(st.integers(0, MAX_TID))
    value = data.draw(st.integers(0, 0xFFFF))
    keys = _keys(dkga)
    token = issue_tid_token(profile, token_class, subclass, value, tid, keys=keys,
                            rnd=rnd, cache=CACHE)
    assert len(token.digits) == 20 and int(token.digits) < 2**66
    decoded = decode_token(profile, token.digits, keys=keys, cache=CACHE)
    assert (decoded.token_class, decoded.subclass, decoded.rnd, decoded.tid, decoded.value) == (
        token_class, subclass, rnd, tid, value
    )


@settings(max_examples=60, deadline=None)
@given(subclass=st.integers(0, 1), data=st.data())
def test_class1_round_trip(subclass: int, data: st.DataObject) -> None:
    control = data.draw(st.integers(0, 2**36 - 1 if subclass == 0 else 2**28 - 1))
    mfr = data.draw(st.integers(0, 0xFF if subclass == 0 else 0xFFFF))
    token = issue_test_token(subclass, control, mfr)
    decoded = decode_token(None, token.digits)
    assert (decoded.token_class, decoded.subclass, decoded.control, decoded.mfr_code) == (
        1, subclass, control, mfr
    )


def _single_digit_variants(digits: str) -> list[str]:
    return [
        digits[:i] + d + digits[i + 1:]
        for i in range(len(digits))
        for d in "0123456789"
        if d != digits[i]
    ]


@pytest.mark.parametrize(("dkga", "ea", "tables"), [(2, 7, "real"), (4, 11, "real")])
def test_single_digit_errors_are_rejected(dkga: int, ea: int, tables: str) -> None:
    """All 180 one-digit variants of 200 tokens: count how many a meter would accept."""
    profile = MeterKeyProfile(pan="600727000000000009", sgc=123457, ti=1, krn=1, dkga=dkga, ea=ea,
                              tables=tables)
    keys = _keys(dkga)
    tried = accepted = 0
    for minute in range(200):
        issued = datetime(2004, 3, 1, 13) + timedelta(minutes=minute)
        token = issue_credit(profile, "12.5", issued, keys=keys, rnd=minute % 16, cache=CACHE)
        for variant in _single_digit_variants(token.digits):
            tried += 1
            try:
                other = decode_token(profile, variant, keys=keys, cache=CACHE)
            except TokenRejectedError:
                continue
            accepted += 1
            assert other.digits != token.digits
    rejection_rate = 1 - accepted / tried
    assert tried == 200 * 180
    assert rejection_rate >= 0.999, f"{accepted} of {tried} variants accepted"


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, 19), delta=st.integers(1, 9), minute=st.integers(0, 10**6))
def test_any_single_digit_change_is_rejected_or_another_token(
    position: int, delta: int, minute: int
) -> None:
    profile = MeterKeyProfile(pan="600727000000000009", sgc=123456, ti=1, krn=1)
    keys = TEST_VENDING_KEY_DKGA02
    token = issue_tid_token(profile, 0, 0, 1, minute, keys=keys, rnd=5, cache=CACHE)
    digits = token.digits
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1:]
    try:
        other = decode_token(profile, changed, keys=keys, cache=CACHE)
    except TokenRejectedError:
        return
    assert (other.token_class, other.subclass, other.tid, other.rnd, other.value) != (
        0, 0, minute, 5, 1
    )
