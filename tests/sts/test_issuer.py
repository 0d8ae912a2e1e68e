"""Issuing API: class 0/1/2 tokens, input refusals, the stateful issuer and its caches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from central.sts import (
    DecoderKeyCache,
    MeterKeyProfile,
    MonotonicUtcClock,
    TidAllocator,
    TokenIssuer,
    clear_credit,
    clear_tamper,
    decode_token,
    issue_credit,
    issue_test_token,
    set_maximum_phase_power_unbalance_limit,
)
from central.sts.errors import (
    AmountError,
    FunctionError,
    ProfileError,
    TidOutOfRangeError,
    UnsupportedTokenError,
)
from central.sts.tid import MAX_TID
from central.sts.tokens import issue_tid_token
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02 as VK02

WHEN = datetime(2004, 3, 1, 13, 55)


@pytest.mark.parametrize(
    ("subclass", "unit"), [(0, "kWh"), (1, "m3"), (2, "m3"), (3, "time units")]
)
def test_credit_subclasses(profile_a1: MeterKeyProfile, subclass: int, unit: str) -> None:
    token = issue_credit(profile_a1, "12.3", WHEN, keys=VK02, subclass=subclass)
    decoded = decode_token(profile_a1, token.digits, keys=VK02)
    assert (decoded.subclass, str(decoded.amount), decoded.unit) == (subclass, "12.3", unit)


def test_management_tokens(profile_a1: MeterKeyProfile) -> None:
    tamper = decode_token(profile_a1, clear_tamper(profile_a1, WHEN, keys=VK02).digits, keys=VK02)
    assert (tamper.token_class, tamper.subclass, tamper.value) == (2, 5, 0)
    mppul = set_maximum_phase_power_unbalance_limit(profile_a1, 2500, WHEN, keys=VK02)
    decoded = decode_token(profile_a1, mppul.digits, keys=VK02)
    assert (decoded.subclass, decoded.amount, decoded.unit) == (6, 2500, "W")


def test_grouped_display(profile_a1: MeterKeyProfile) -> None:
    token = issue_credit(profile_a1, "0.1", WHEN, keys=VK02, rnd=5)
    assert token.grouped == "2371 6100 5011 8319 4197"
    assert str(token) == "23716100501183194197"


def test_raw_value_and_refusals(profile_a1: MeterKeyProfile) -> None:
    assert issue_credit(profile_a1, None, WHEN, keys=VK02, value=0x0100).value == 0x0100
    with pytest.raises(AmountError, match="16 bits"):
        issue_credit(profile_a1, None, WHEN, keys=VK02, value=0x10000)
    with pytest.raises(AmountError, match="either"):
        issue_credit(profile_a1, "1", WHEN, keys=VK02, value=1)
    with pytest.raises(AmountError, match="above the maximum"):
        issue_credit(profile_a1, "1820162.5", WHEN, keys=VK02)
    with pytest.raises(AmountError, match="RND"):
        issue_credit(profile_a1, "1", WHEN, keys=VK02, rnd=16)
    with pytest.raises(UnsupportedTokenError):
        issue_credit(profile_a1, None, WHEN, keys=VK02, value=1, subclass=4)
    with pytest.raises(FunctionError):
        issue_tid_token(profile_a1, 2, 3, 0, 1, keys=VK02)
    with pytest.raises(AmountError, match="ClearCredit register 7"):
        clear_credit(profile_a1, WHEN, keys=VK02, register=7)
    assert clear_credit(profile_a1, WHEN, keys=VK02, register=0).value == 0


def test_tid_out_of_range(profile_a1: MeterKeyProfile) -> None:
    with pytest.raises(TidOutOfRangeError):
        issue_tid_token(profile_a1, 0, 0, 1, MAX_TID + 1, keys=VK02)
    with pytest.raises(TidOutOfRangeError):
        issue_tid_token(profile_a1, 0, 0, 1, -1, keys=VK02)
    with pytest.raises(TidOutOfRangeError):
        issue_credit(profile_a1, "1", datetime(1992, 12, 31, 23, 59), keys=VK02)


def test_class1_refusals() -> None:
    with pytest.raises(AmountError, match="MfrCode"):
        issue_test_token(0, 1, 256)
    with pytest.raises(AmountError, match="control"):
        issue_test_token(1, 2**28, 1)
    with pytest.raises(FunctionError):
        issue_test_token(2, 1, 1)


@pytest.mark.parametrize(
    "fields",
    [{"sgc": 1_000_000}, {"ti": 100}, {"krn": 10}, {"krn": 0}, {"kt": 4}, {"ken": 256},
     {"ea": 9}, {"dkga": 3}, {"ea": 11, "dkga": 2}, {"tables": "prod"}, {"base_date": 2000},
     {"sgc": True}, {"kt": True}, {"ti": 1.0}],
)
def test_profile_refusals(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"pan": "600727000000000009", "sgc": 1, "ti": 1, "krn": 1}
    with pytest.raises(ProfileError):
        MeterKeyProfile(**{**base, **fields})  # type: ignore[arg-type]


def test_profile_accepts_a_drn() -> None:
    assert MeterKeyProfile(pan="47500150231", sgc=1, ti=1, krn=1).pan == "600727475001502312"


def test_issuer_never_repeats_a_tid(profile_a1: MeterKeyProfile) -> None:
    now = datetime(2020, 1, 1, 8, 0, 30, tzinfo=UTC)
    issuer = TokenIssuer(allocator=TidAllocator(MonotonicUtcClock(lambda: now)))
    tokens = [issuer.credit(profile_a1, VK02, "1") for _ in range(3)]
    tokens.append(issuer.management(profile_a1, VK02, 5))
    assert [t.tid for t in tokens] == [14200320, 14200321, 14200322, 14200323]
    decoded = [decode_token(profile_a1, t.digits, keys=VK02) for t in tokens]
    assert [d.tid for d in decoded] == [14200320, 14200321, 14200322, 14200323]


def test_issuer_with_explicit_time_reproduces_vectors(profile_a1: MeterKeyProfile) -> None:
    issuer = TokenIssuer()
    assert issuer.credit(profile_a1, VK02, "0.1", issued_at=WHEN, rnd=5).digits == (
        "23716100501183194197"
    )


def test_decoder_key_cache_is_per_meter(profile_a1: MeterKeyProfile) -> None:
    cache = DecoderKeyCache(maxsize=2)
    for _ in range(3):
        issue_credit(profile_a1, "1", WHEN, keys=VK02, cache=cache)
    assert (cache.hits, cache.misses) == (2, 1)
    issue_credit(profile_a1.with_changes(ken=0x80), "1", WHEN, keys=VK02, cache=cache)
    assert (cache.hits, cache.misses) == (3, 1), "KEN is not a key derivation input"
    other = profile_a1.with_changes(pan="000001000000000082")
    mine = issue_credit(profile_a1, "1", WHEN, keys=VK02, cache=cache, rnd=1)
    theirs = issue_credit(other, "1", WHEN, keys=VK02, cache=cache, rnd=1)
    assert mine.digits != theirs.digits
    assert cache.misses == 2
    issue_credit(profile_a1.with_changes(tables="sample"), "1", WHEN, keys=VK02, cache=cache)
    assert cache.misses == 3
    assert len(cache) == 2, "least recently used entry evicted"
