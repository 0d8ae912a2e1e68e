"""STA (EA07) and MISTY1 (EA11): the table-driven STA against a literal bit-by-bit
reading of the algorithm, the standard's table examples, and inverse properties."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.sts.errors import ProfileError
from central.sts.misty1 import S7, S9, Misty1Cipher
from central.sts.sta import StaCipher, StaTables, load_tables

MASK = (1 << 64) - 1
u64 = st.integers(min_value=0, max_value=MASK)


def reference_encrypt(dk: int, block: int, tables: StaTables) -> int:
    """FACTS §5 read literally, one bit at a time."""
    key = ((~dk & MASK) >> 12 | (~dk & MASK) << 52) & MASK
    data = block
    for _ in range(16):
        substituted = 0
        for n in range(16):
            table = tables.substitution_2 if key >> (4 * n + 3) & 1 else tables.substitution_1
            substituted |= table[(data >> 4 * n) & 0xF] << 4 * n
        permuted = 0
        for i in range(64):
            if substituted >> i & 1:
                permuted |= 1 << tables.permutation[i]
        data = permuted
        key = ((key << 1) | (key >> 63)) & MASK
    return data


@pytest.mark.parametrize("name", ["real", "sample"])
@settings(max_examples=60, deadline=None)
@given(key=u64, block=u64)
def test_fast_sta_matches_reference(name: str, key: int, block: int) -> None:
    tables = load_tables(name)
    cipher = StaCipher(key, tables)
    ciphertext = cipher.encrypt(block)
    assert ciphertext == reference_encrypt(key, block, tables)
    assert cipher.decrypt(ciphertext) == block


def test_table_sets_differ_and_are_valid() -> None:
    real, sample = load_tables("real"), load_tables("sample")
    assert real != sample
    assert StaCipher(1, real).encrypt(0) != StaCipher(1, sample).encrypt(0)


def test_sample_tables_match_the_standards_examples() -> None:
    sample = load_tables("sample")
    assert sample.substitution_1[8] == 14
    inverse_perm = json.loads(
        resources.files("central.sts").joinpath("data", "sta_sample.json").read_text("utf-8")
    )["inverse_permutation"]
    assert inverse_perm[7] == 52


def test_unknown_table_set_is_refused() -> None:
    with pytest.raises(ProfileError, match="unknown STA table set"):
        load_tables("production")


def test_corrupt_table_is_refused() -> None:
    with pytest.raises(ProfileError, match="not a permutation"):
        StaTables("bad", tuple(range(16)), tuple([0] * 16), tuple(range(64)))


def test_misty1_sboxes_are_permutations() -> None:
    assert sorted(S7) == list(range(128))
    assert sorted(S9) == list(range(512))


@settings(max_examples=50, deadline=None)
@given(key=st.binary(min_size=16, max_size=16), block=u64)
def test_misty1_decrypt_inverts_encrypt(key: bytes, block: int) -> None:
    cipher = Misty1Cipher(key)
    assert cipher.decrypt(cipher.encrypt(block)) == block


def test_key_lengths_are_checked() -> None:
    with pytest.raises(ProfileError):
        Misty1Cipher(b"\x00" * 8)
    with pytest.raises(ProfileError):
        StaCipher(b"\x00" * 16, load_tables("real"))


def test_cipher_repr_does_not_show_the_key() -> None:
    assert "masked" in repr(StaCipher(0x0ABC12DEF3456789, load_tables("real")))
    assert "0abc" not in repr(StaCipher(0x0ABC12DEF3456789, load_tables("real"))).lower()
    assert "masked" in repr(Misty1Cipher(bytes(16)))
