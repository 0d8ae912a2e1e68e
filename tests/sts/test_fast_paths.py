"""The speed-ups of the engine against plain readings of the same rules: the MISTY1 FI
tables against RFC 2994's FI/FO/FL, the CRC by linearity against the byte-wise CRC, the
per-token key derivation (reused DES cipher / HMAC states) against a fresh HMAC and DES,
a token issued with its key derived per token against the same token from a cached key."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import FrozenInstanceError

import pytest
from Crypto.Cipher import DES
from hypothesis import given, settings
from hypothesis import strategies as st

from central.sts.crc import sts_crc, tid_crc_tables
from central.sts.decoder import decode_token
from central.sts.errors import VendingKeyError
from central.sts.keys import DecoderKeyCache, control_block, derive_decoder_key, pan_block
from central.sts.misty1 import S7, S9, Misty1Cipher
from central.sts.profile import MeterKeyProfile
from central.sts.token_types import Token
from central.sts.tokens import issue_tid_token
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02, TEST_VENDING_KEY_DKGA04, VendingKey

from .test_roundtrip import ALGORITHMS, kinds, profiles

u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


def _fi(value: int, subkey: int) -> int:
    left9, right7 = value >> 7, value & 0x7F
    left9 = S9[left9] ^ right7
    right7 = S7[right7] ^ (left9 & 0x7F)
    right7 ^= subkey >> 9
    left9 ^= subkey & 0x1FF
    left9 = S9[left9] ^ right7
    return (right7 << 9) | left9


def reference_misty1(key: bytes, block: int) -> int:
    """RFC 2994 section 2 read literally (key schedule, FO, FL, 8 rounds)."""
    k = [int.from_bytes(key[i:i + 2], "big") for i in range(0, 16, 2)]
    kp = [_fi(k[i], k[(i + 1) % 8]) for i in range(8)]

    def fo(value: int, i: int) -> int:
        left, right = value >> 16, value & 0xFFFF
        left = _fi(left ^ k[i], kp[(i + 5) % 8]) ^ right
        right = _fi(right ^ k[(i + 2) % 8], kp[(i + 1) % 8]) ^ left
        left = _fi(left ^ k[(i + 7) % 8], kp[(i + 3) % 8]) ^ right
        right ^= k[(i + 4) % 8]
        return (right << 16) | left

    def fl(value: int, i: int) -> int:
        left, right = value >> 16, value & 0xFFFF
        if i % 2 == 0:
            right ^= left & k[i // 2]
            left ^= right | kp[(i // 2 + 6) % 8]
        else:
            right ^= left & kp[((i - 1) // 2 + 2) % 8]
            left ^= right | k[((i - 1) // 2 + 4) % 8]
        return (left << 16) | right

    d0, d1 = block >> 32, block & 0xFFFFFFFF
    for i in range(0, 8, 2):
        d0 = fl(d0, i)
        d1 = fl(d1, i + 1)
        d1 ^= fo(d0, i)
        d0 ^= fo(d1, i + 1)
    d0, d1 = fl(d0, 8), fl(d1, 9)
    return (d1 << 32) | d0


def test_reference_misty1_gives_the_rfc_vector() -> None:
    key = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert reference_misty1(key, 0x0123456789ABCDEF) == 0x8B1DA5F56AB3D07C


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), block=u64)
def test_table_driven_misty1_matches_the_rfc_reading(key: bytes, block: int) -> None:
    cipher = Misty1Cipher(key)
    ciphertext = cipher.encrypt(block)
    assert ciphertext == reference_misty1(key, block)
    assert cipher.decrypt(ciphertext) == block


@settings(max_examples=300, deadline=None)
@given(token_class=st.integers(0, 3), subclass=st.integers(0, 15), rnd=st.integers(0, 15),
       tid=st.integers(0, 0xFFFFFF), value=st.integers(0, 0xFFFF))
def test_crc_by_linearity_matches_the_bytewise_crc(
    token_class: int, subclass: int, rnd: int, tid: int, value: int
) -> None:
    tables = tid_crc_tables()
    head = (token_class << 8) | (subclass << 4) | rnd
    fast = (tables.zero ^ tables.head[head] ^ tables.tid_high[tid >> 12]
            ^ tables.tid_low[tid & 0xFFF] ^ tables.value_high[value >> 8]
            ^ tables.value_low[value & 0xFF])
    assert fast == sts_crc((head << 40) | (tid << 16) | value)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_derivation_matches_a_fresh_des_and_hmac(data: st.DataObject) -> None:
    dkga, ea, tables = data.draw(st.sampled_from(ALGORITHMS))
    profile = data.draw(profiles(dkga, ea, tables))
    raw = data.draw(st.binary(min_size=8 if dkga == 2 else 20, max_size=8 if dkga == 2 else 20))
    key = VendingKey(raw)
    if dkga == 2:
        x = bytes.fromhex(pan_block(profile))
        x = bytes(a ^ b for a, b in zip(x, bytes.fromhex(control_block(profile)), strict=True))
        e = DES.new(raw, DES.MODE_ECB).encrypt(x)
        expected = bytes(a ^ b ^ c for a, b, c in zip(e, x, raw, strict=True))
    else:
        from central.sts.keys import dkga04_message

        digest = hmac.new(raw, dkga04_message(profile), hashlib.sha256).digest()
        expected = digest[: profile.key_bytes]
    assert derive_decoder_key(profile, key).secret() == expected


@pytest.mark.parametrize(("dkga", "ea", "tables"), ALGORITHMS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_token_with_key_derived_per_token_equals_cached_key_token(
    dkga: int, ea: int, tables: str, data: st.DataObject
) -> None:
    profile = data.draw(profiles(dkga, ea, tables))
    token_class, subclass = data.draw(kinds)
    tid, value, rnd = (data.draw(st.integers(0, 0xFFFFFF)), data.draw(st.integers(0, 0xFFFF)),
                       data.draw(st.integers(0, 15)))
    keys = TEST_VENDING_KEY_DKGA02 if dkga == 2 else TEST_VENDING_KEY_DKGA04
    no_cache, cache = DecoderKeyCache(maxsize=0), DecoderKeyCache(maxsize=4)
    derived = issue_tid_token(profile, token_class, subclass, value, tid, keys=keys, rnd=rnd,
                              cache=no_cache)
    cached = issue_tid_token(profile, token_class, subclass, value, tid, keys=keys, rnd=rnd,
                             cache=cache)
    assert derived == cached
    assert (no_cache.misses, len(no_cache), cache.misses) == (1, 0, 1)
    decoded = decode_token(profile, derived.digits, keys=keys, cache=no_cache)
    assert (decoded.tid, decoded.value, decoded.rnd) == (tid, value, rnd)


def test_a_wrong_length_vending_key_is_refused_on_the_fast_path(
    profile_a1: MeterKeyProfile, profile_b: MeterKeyProfile
) -> None:
    with pytest.raises(VendingKeyError, match="DKGA-02"):
        derive_decoder_key(profile_a1, TEST_VENDING_KEY_DKGA04)
    with pytest.raises(VendingKeyError, match="DKGA-04"):
        derive_decoder_key(profile_b, TEST_VENDING_KEY_DKGA02)


def test_token_stays_frozen_with_its_own_init() -> None:
    token = Token(12, 0, 0, tid=5, rnd=3, value=7)
    assert token == Token(12, 0, 0, 5, 3, 7) and hash(token) == hash(Token(12, 0, 0, 5, 3, 7))
    assert repr(token) == "Token(number=12, token_class=0, subclass=0, tid=5, rnd=3, value=7)"
    with pytest.raises(FrozenInstanceError):
        token.number = 13  # type: ignore[misc]


@settings(max_examples=30, deadline=None)
@given(key=u64, blocks=st.lists(u64, min_size=3, max_size=3))
def test_sta_cipher_gives_the_same_answers_once_it_keeps_its_own_schedule(
    key: int, blocks: list[int]
) -> None:
    """First use reads the shared chain table, later uses the cipher's own copy."""
    from central.sts.sta import StaCipher, load_tables

    cipher, fresh = StaCipher(key, load_tables("real")), StaCipher(key, load_tables("real"))
    for block in blocks:
        ciphertext = cipher.encrypt(block)
        assert ciphertext == StaCipher(key, load_tables("real")).encrypt(block)
        assert cipher.decrypt(ciphertext) == block == fresh.decrypt(ciphertext)
    assert cipher._encrypt_rounds is not None and cipher._decrypt_rounds is not None


@settings(max_examples=200, deadline=None)
@given(value=st.integers(0, 0xFFFF), subkey=st.integers(0, 0xFFFF))
def test_fi_in_two_lookups_matches_the_rfc_fi(value: int, subkey: int) -> None:
    from central.sts.misty1 import _FI_IN, _FI_OUT, _rot7

    assert _FI_OUT[_FI_IN[value] ^ _rot7(subkey)] == _fi(value, subkey)


def test_fi_tables_match_the_rfc_fi_for_every_input() -> None:
    from central.sts.misty1 import _FI_IN, _FI_OUT, _rot7

    for subkey in (0, 0x1FF, 0xFE00, 0xFFFF, 0x1234):
        rotated = _rot7(subkey)
        assert all(_FI_OUT[_FI_IN[x] ^ rotated] == _fi(x, subkey) for x in range(1 << 16))


def _reach(tables: tuple[tuple[int, ...], ...]) -> int:
    """Every bit that any entry of these tables sets."""
    bits = 0
    for table in tables:
        for entry in table:
            bits |= entry
    return bits


@pytest.mark.parametrize("name", ["real", "sample"])
def test_sta_round_table_entries_of_different_bytes_have_disjoint_bits(name: str) -> None:
    """What lets a round add its 8 entries instead of OR-ing them."""
    from central.sts.sta import load_tables

    compiled = load_tables(name).compiled
    for per_byte in (compiled.encrypt, compiled.middle_decrypt, compiled.last_decrypt,
                     tuple((table,) for table in compiled.first_decrypt)):
        reach = [_reach(combos) for combos in per_byte]
        assert all(a & b == 0 for i, a in enumerate(reach) for b in reach[i + 1:])
        assert sum(reach) == (1 << 64) - 1


@pytest.mark.parametrize(("dkga", "ea", "tables"), ALGORITHMS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_issued_token_equals_the_readable_layout(
    dkga: int, ea: int, tables: str, data: st.DataObject
) -> None:
    """The written-out CRC, block and transposition against layout.seal/transpose."""
    from central.sts.keys import build_cipher
    from central.sts.layout import seal, tid_block, transpose

    profile = data.draw(profiles(dkga, ea, tables))
    token_class, subclass = data.draw(kinds)
    tid, value, rnd = (data.draw(st.integers(0, 0xFFFFFF)), data.draw(st.integers(0, 0xFFFF)),
                       data.draw(st.integers(0, 15)))
    keys = TEST_VENDING_KEY_DKGA02 if dkga == 2 else TEST_VENDING_KEY_DKGA04
    token = issue_tid_token(profile, token_class, subclass, value, tid, keys=keys, rnd=rnd,
                            cache=DecoderKeyCache(maxsize=0))
    block = seal(token_class, tid_block(subclass, rnd, tid, value))
    expected = transpose(build_cipher(profile, keys).encrypt(block), token_class)
    built = Token(expected, token_class, subclass, tid=tid, rnd=rnd, value=value)
    # The Token filled inline by the hot path is the one the constructor makes.
    assert type(token) is Token and token == built and hash(token) == hash(built)
    assert repr(token) == repr(built) and vars(token) == vars(built)
    with pytest.raises(FrozenInstanceError):
        token.tid = 8  # type: ignore[misc]


amounts = st.one_of(
    st.decimals(min_value=0, max_value=1_820_162, places=2, allow_nan=False),
    st.integers(0, 1_820_162),
    st.floats(min_value=0, max_value=1_820_162, allow_nan=False),
    st.decimals(min_value=0, max_value=999, places=1).map(str),
)


@settings(max_examples=200, deadline=None)
@given(amount=amounts, subclass=st.sampled_from([(0, 0), (0, 3), (2, 0), (2, 6)]))
def test_remembered_amount_fields_equal_a_fresh_encoding(
    amount: object, subclass: tuple[int, int]
) -> None:
    from central.sts.amount import encode_steps, steps_from_units
    from central.sts.token_types import AMOUNT_UNITS
    from central.sts.tokens import encode_value

    token_class, sub = subclass
    unit, steps_per_unit = AMOUNT_UNITS[(token_class, sub)]
    fresh = encode_steps(steps_from_units(amount, steps_per_unit, unit))  # type: ignore[arg-type]
    assert encode_value(token_class, sub, amount) == fresh  # type: ignore[arg-type]
    assert encode_value(token_class, sub, amount) == fresh  # type: ignore[arg-type]


def test_remembered_amount_fields_keep_types_and_refusals_apart() -> None:
    from decimal import Decimal

    from central.sts.errors import AmountError
    from central.sts.tokens import encode_value

    assert encode_value(0, 0, 1) == 10
    with pytest.raises(AmountError):
        encode_value(0, 0, True)                       # equal to 1 and hashed alike
    assert encode_value(0, 0, 0.1) == encode_value(0, 0, Decimal("0.1")) == 1
    assert encode_value(2, 0, 1) == 1                  # watts: one step per unit
    assert encode_value(0, 0, Decimal("12.5")) == encode_value(0, 0, Decimal("12.50")) == 125
    with pytest.raises(AmountError):
        encode_value(0, 0, Decimal("sNaN"))            # unhashable
    with pytest.raises(AmountError):
        encode_value(2, 1, 1)                          # ClearCredit carries no amount
    assert encode_value(2, 1, value=0xFFFF) == 0xFFFF


def test_profile_attributes_of_the_hot_path_follow_changes(profile_a1: MeterKeyProfile) -> None:
    from central.sts.tid import BaseDate

    assert profile_a1.base is BaseDate.Y1993 and profile_a1.base_date is BaseDate.Y1993
    moved = profile_a1.with_changes(base_date=2014, ti=2)
    assert moved.base is BaseDate.Y2014
    assert moved.cache_id != profile_a1.cache_id
    assert profile_a1.cache_id == "600727000000000009|123456|1|1|2|7|2|0|real"
    assert profile_a1.with_changes(ken=3).cache_id == profile_a1.cache_id
    assert "cache_id" not in repr(profile_a1)
    assert profile_a1 == MeterKeyProfile(pan="600727000000000009", sgc=123456, ti=1, krn=1)


def test_key_fingerprint_is_made_with_the_key() -> None:
    raw = bytes.fromhex("abababababababab")
    key = VendingKey(raw)
    assert key.fingerprint == hashlib.sha256(b"guichet-sts-vending key:" + raw).digest()


@settings(max_examples=100, deadline=None)
@given(amount=amounts, subclass=st.integers(0, 3), rnd=st.integers(0, 15),
       minute=st.integers(0, 5_000_000))
def test_credit_entry_points_equal_the_plain_encoding(
    amount: object, subclass: int, rnd: int, minute: int
) -> None:
    """issue_credit and TokenIssuer.credit look the amount field up themselves (first call
    fills it, second finds it): both against the field encoded from scratch."""
    from datetime import datetime, timedelta

    from central.sts.amount import encode_steps, steps_from_units
    from central.sts.tokens import TokenIssuer, issue_credit

    profile = MeterKeyProfile(pan="600727000000000009", sgc=123456, ti=1, krn=1)
    field = encode_steps(steps_from_units(amount, 10))  # type: ignore[arg-type]
    when = datetime(1993, 1, 1) + timedelta(minutes=minute)
    expected = issue_tid_token(profile, 0, subclass, field, minute, keys=TEST_VENDING_KEY_DKGA02,
                               rnd=rnd, cache=DecoderKeyCache(maxsize=0))
    for _ in range(2):
        issued = issue_credit(profile, amount, when, keys=TEST_VENDING_KEY_DKGA02,  # type: ignore[arg-type]
                              subclass=subclass, rnd=rnd)
        sold = TokenIssuer().credit(profile, TEST_VENDING_KEY_DKGA02, amount,  # type: ignore[arg-type]
                                    subclass=subclass, issued_at=when, rnd=rnd)
        assert issued == sold == expected


def test_credit_entry_points_refuse_what_encode_value_refuses(
    profile_a1: MeterKeyProfile,
) -> None:
    from datetime import datetime
    from decimal import Decimal

    from central.sts.errors import AmountError, FunctionError
    from central.sts.tokens import TokenIssuer, issue_credit

    when = datetime(2020, 1, 1)
    issuer = TokenIssuer()
    issue_credit(profile_a1, 1, when, keys=TEST_VENDING_KEY_DKGA02)   # remembers the int 1
    for amount in (True, Decimal("sNaN"), None, "-1"):
        with pytest.raises(AmountError):
            issue_credit(profile_a1, amount, when, keys=TEST_VENDING_KEY_DKGA02)  # type: ignore[arg-type]
        with pytest.raises(AmountError):
            issuer.credit(profile_a1, TEST_VENDING_KEY_DKGA02, amount)  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        issuer.credit(profile_a1, TEST_VENDING_KEY_DKGA02, "1", value=10)
    with pytest.raises(FunctionError):
        issuer.credit(profile_a1, TEST_VENDING_KEY_DKGA02, value=10, subclass=9)
    assert issuer.allocator.last(profile_a1.pan, profile_a1.base) is None, "no TID spent"


def test_cached_cipher_is_only_found_with_the_key_it_was_made_with(
    profile_a1: MeterKeyProfile,
) -> None:
    """The cache is keyed by the profile; the entry's key fingerprint must match too."""
    other_key = VendingKey(bytes.fromhex("0123456789abcdef"))
    cache = DecoderKeyCache(maxsize=4)
    for keys, misses in ((TEST_VENDING_KEY_DKGA02, 1), (other_key, 2), (other_key, 2),
                         (TEST_VENDING_KEY_DKGA02, 3), (derive_decoder_key(profile_a1, other_key), 4)):
        token = issue_tid_token(profile_a1, 0, 0, 25, 1000, keys=keys, rnd=3, cache=cache)
        plain = issue_tid_token(profile_a1, 0, 0, 25, 1000, keys=keys, rnd=3,
                                cache=DecoderKeyCache(maxsize=0))
        assert token == plain and cache.misses == misses
    assert len(cache) == 1


@settings(max_examples=200, deadline=None)
@given(ns=st.one_of(st.integers(0, 4_000_000_000 * 10**9),
                   st.builds(lambda minute, off: max(0, minute * 60 * 10**9 + off),
                             st.integers(12_000_000, 51_000_000), st.integers(-2000, 2000))),
       base=st.sampled_from([1993, 2014, 2035]))
def test_system_clock_minutes_equal_the_datetime_reading(ns: int, base: int) -> None:
    """The TID from the system clock in integer nanoseconds against tid_from_datetime."""
    from datetime import UTC, datetime, timedelta
    from unittest import mock

    from central.sts import tid as tid_module
    from central.sts.errors import StsError
    from central.sts.tid import MonotonicUtcClock, base_date, tid_from_datetime

    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
    with mock.patch.object(tid_module.time, "time_ns", return_value=ns):
        clock = MonotonicUtcClock()
        assert clock.now() == when
        try:
            expected: int | type[StsError] = tid_from_datetime(when, base_date(base))
        except StsError as error:
            expected = type(error)
        if isinstance(expected, int):
            assert clock.minutes_since(base_date(base)) == expected
        else:
            with pytest.raises(expected):
                clock.minutes_since(base_date(base))


def test_system_clock_never_goes_backwards() -> None:
    from unittest import mock

    from central.sts import tid as tid_module
    from central.sts.tid import BaseDate, MonotonicUtcClock

    later, earlier = 1_750_000_000 * 10**9, 1_749_990_000 * 10**9
    clock = MonotonicUtcClock()
    with mock.patch.object(tid_module.time, "time_ns", side_effect=[later, earlier, earlier]):
        first = clock.minutes_since(BaseDate.Y2014)
        assert clock.minutes_since(BaseDate.Y2014) == first
        assert clock.now().timestamp() == later / 10**9


def test_rnd_nibbles_are_the_low_half_of_fresh_random_bytes() -> None:
    from unittest import mock

    from central.sts import tokens

    with mock.patch.object(tokens.secrets, "token_bytes", return_value=bytes(range(256)) * 16):
        assert tokens._fresh_nibbles() == 0
        drawn = [next(tokens._rnd_nibbles) for _ in range(4095)]
    assert drawn == [b & 0x0F for b in range(1, 256)] + [b & 0x0F for b in range(256)] * 15
    tokens._fresh_nibbles()                          # real random bytes again
    assert {tokens._fresh_nibbles() for _ in range(400)} == set(range(16))
