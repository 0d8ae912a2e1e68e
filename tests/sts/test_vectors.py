"""Every test vector of FACTS.md §8 (and the DKGA-04 message of §6), reproduced exactly."""

from __future__ import annotations

from datetime import datetime

import pytest

from central.sts.decoder import decode_token
from central.sts.key_change import key_change_set
from central.sts.keys import derive_decoder_key, dkga04_message
from central.sts.layout import seal, tid_block, transpose
from central.sts.misty1 import Misty1Cipher
from central.sts.profile import MeterKeyProfile
from central.sts.sta import StaCipher, load_tables
from central.sts.tid import BaseDate, tid_from_datetime
from central.sts.tokens import (
    clear_credit,
    issue_credit,
    issue_management,
    set_maximum_power_limit,
)
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02 as VK02
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA04 as VK04
from central.sts.vending_keys import DecoderKey

PAN_1 = "600727000000000009"
PAN_2 = "000001000000000082"


def test_a_decoder_keys_dkga02() -> None:
    pan1 = MeterKeyProfile(pan=PAN_1, sgc=123456, ti=1, krn=1, kt=2)
    pan2 = MeterKeyProfile(pan=PAN_2, sgc=123456, ti=1, krn=1, kt=2)
    assert pan1.meter_pan.pan_block == "0072700000000000"
    assert pan2.meter_pan.pan_block == "0000100000000008"
    assert derive_decoder_key(pan1, VK02).secret().hex() == "e653341f9d5bf36f"
    assert derive_decoder_key(pan2, VK02).secret().hex() == "e94023262e9993c2"


def test_a1_credit(profile_a1: MeterKeyProfile) -> None:
    issued = datetime(2004, 3, 1, 13, 55)
    assert tid_from_datetime(issued, BaseDate.Y1993) == 5871715
    token = issue_credit(profile_a1, "0.1", issued, keys=VK02, rnd=5)
    assert token.digits == "23716100501183194197"
    assert seal(0, tid_block(0, 5, 5871715, 1)) == 0x05599863000119E6


def test_a2_credit_13_digit_drn() -> None:
    profile = MeterKeyProfile(pan=PAN_2, sgc=123456, ti=1, krn=1, kt=2)
    token = issue_credit(profile, "0.1", datetime(2004, 3, 1, 14, 0), keys=VK02, rnd=5)
    assert token.digits == "67206107716095682372"
    assert seal(0, tid_block(0, 5, token.tid or 0, 1)) == 0x0559986800016824


def test_a7_set_maximum_power_limit(profile_a1: MeterKeyProfile) -> None:
    token = set_maximum_power_limit(profile_a1, 1000, datetime(2004, 3, 28, 9, 1), keys=VK02,
                                    rnd=5)
    assert token.digits == "50901894209860263092"
    assert (token.token_class, token.subclass, token.value) == (2, 0, 1000)


def test_a8_clear_credit_all_registers(profile_a1: MeterKeyProfile) -> None:
    token = clear_credit(profile_a1, datetime(2004, 3, 28, 9, 15), keys=VK02, register=0xFFFF,
                         rnd=5)
    assert token.digits == "29511990995826640868"
    same = issue_management(profile_a1, 1, datetime(2004, 3, 28, 9, 15), keys=VK02,
                            value=0xFFFF, rnd=5)
    assert same.digits == token.digits


def test_key_change_set_and_new_decoder_key(profile_a1: MeterKeyProfile) -> None:
    new = profile_a1.with_changes(ti=2, ken=0xFF)
    assert derive_decoder_key(new, VK02).secret().hex() == "060b8643c59a27f1"
    tokens = key_change_set(profile_a1, VK02, new, VK02, rollover=False)
    assert [t.digits for t in tokens] == ["51638423060042734509", "15361891762113502242"]
    assert [t.subclass for t in tokens] == [3, 4]


def test_b_dkga04_sta(profile_b: MeterKeyProfile) -> None:
    assert derive_decoder_key(profile_b, VK04).secret().hex() == "aa4baa8749c10d27"
    issued = datetime(2009, 1, 1, 8, 0)
    assert tid_from_datetime(issued, BaseDate.Y1993) == 8415840
    token = issue_credit(profile_b, "0.1", issued, keys=VK04, rnd=5)
    assert token.digits == "15697331168573253829"


def test_c_dkga04_misty1(profile_c: MeterKeyProfile) -> None:
    assert derive_decoder_key(profile_c, VK04).secret().hex() == (
        "f94b6ed353c3bfdb113e2d3a7ea3c41d"
    )
    token = issue_credit(profile_c, "0.1", datetime(2004, 3, 1, 13, 0), keys=VK04, rnd=5)
    assert token.digits == "59386323472137426967"


def test_dkga04_message_example(profile_b: MeterKeyProfile) -> None:
    assert dkga04_message(profile_b).hex() == (
        "04023034023933023037023031000406313233343537013201311236303037323730303030"
        "303030303030303900000040"
    )


def test_misty1_rfc2994_vectors() -> None:
    cipher = Misty1Cipher(bytes.fromhex("00112233445566778899aabbccddeeff"))
    assert cipher.encrypt(0x0123456789ABCDEF) == 0x8B1DA5F56AB3D07C
    assert cipher.encrypt(0xFEDCBA9876543210) == 0x04B68240B13BE95D
    assert cipher.decrypt(0x8B1DA5F56AB3D07C) == 0x0123456789ABCDEF
    assert cipher.decrypt(0x04B68240B13BE95D) == 0xFEDCBA9876543210


@pytest.mark.parametrize(
    ("tables", "ciphertext", "token"),
    [
        ("sample", 0xC45ED1619406DF95, "51043465443420856213"),
        ("real", 0x9335C6C96B7352DC, "29054347139309851356"),
    ],
)
def test_d_standard_worked_example(tables: str, ciphertext: int, token: str) -> None:
    block = seal(0, tid_block(0, 0xB, 0x19EB23, 0x0100))
    assert block == 0x0B19EB230100C207
    cipher = StaCipher(0x0ABC12DEF3456789, load_tables(tables))
    assert cipher.encrypt(block) == ciphertext
    assert cipher.decrypt(ciphertext) == block
    number = transpose(ciphertext, 0)
    assert f"{number:020d}" == token
    if tables == "sample":
        assert number == 0x2C45ED1618406DF95


@pytest.mark.parametrize("tables", ["sample", "real"])
def test_d_through_the_public_api(tables: str) -> None:
    profile = MeterKeyProfile(pan=PAN_1, sgc=123456, ti=1, krn=1, tables=tables)
    key = DecoderKey(bytes.fromhex("0ABC12DEF3456789"))
    token = issue_credit(profile, "25.6", datetime(1996, 3, 25, 13, 55, 22), keys=key, rnd=0xB)
    expected = {"sample": "51043465443420856213", "real": "29054347139309851356"}[tables]
    assert token.digits == expected
    decoded = decode_token(profile, expected, keys=key)
    assert (decoded.tid, decoded.rnd, decoded.value, decoded.crc) == (0x19EB23, 0xB, 0x100, 0xC207)
    assert str(decoded.amount) == "25.6"


def test_vectors_decode_back(profile_a1: MeterKeyProfile, profile_c: MeterKeyProfile) -> None:
    a1 = decode_token(profile_a1, "2371 6100 5011 8319 4197", keys=VK02)
    assert (a1.token_class, a1.subclass, a1.rnd, a1.tid, a1.value) == (0, 0, 5, 5871715, 1)
    assert a1.tid_datetime is not None
    assert a1.tid_datetime.isoformat() == "2004-03-01T13:55:00+00:00"
    c = decode_token(profile_c, "59386323472137426967", keys=VK04)
    assert (c.token_class, c.subclass, c.rnd, c.value) == (0, 0, 5, 1)
