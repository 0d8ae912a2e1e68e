"""Decoder errors in the meter's terms, and what a key change set carries."""

from __future__ import annotations

from datetime import datetime

import pytest

from central.sts.decoder import assemble_key_change, check_token, decode_token
from central.sts.errors import (
    CrcError,
    FunctionError,
    KeyExpiredError,
    MfrCodeError,
    OldTokenError,
    TokenFormatError,
    TokenRangeError,
    TokenRejectedError,
    UsedTokenError,
)
from central.sts.key_change import key_change_set
from central.sts.keys import derive_decoder_key
from central.sts.layout import MAX_TOKEN, transpose
from central.sts.profile import MeterKeyProfile
from central.sts.tokens import issue_credit, issue_test_token
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02 as VK02
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA04 as VK04

A1 = "23716100501183194197"
A1_TID = 5871715


@pytest.mark.parametrize(
    "token", ["2371610050118319419", "237161005011831941977", "2371610050118319419x", ""]
)
def test_format_errors(profile_a1: MeterKeyProfile, token: str) -> None:
    with pytest.raises(TokenFormatError, match="exactly 20 digits") as caught:
        decode_token(profile_a1, token, keys=VK02)
    assert caught.value.meter_code == 6


def test_value_above_2_pow_66(profile_a1: MeterKeyProfile) -> None:
    too_big = str(MAX_TOKEN + 1)
    assert len(too_big) == 20
    with pytest.raises(TokenRangeError, match="above 2\\^66-1") as caught:
        decode_token(profile_a1, too_big, keys=VK02)
    assert caught.value.meter_code == 7
    with pytest.raises(TokenRejectedError) as largest:
        decode_token(profile_a1, str(MAX_TOKEN), keys=VK02)
    assert not isinstance(largest.value, TokenRangeError)


def test_crc_error_for_a_typo_and_for_another_meters_key(profile_a1: MeterKeyProfile) -> None:
    with pytest.raises(CrcError) as caught:
        decode_token(profile_a1, A1[:-1] + "8", keys=VK02)
    assert caught.value.meter_code == 13
    other_meter = profile_a1.with_changes(pan="000001000000000082")
    with pytest.raises(CrcError):
        decode_token(other_meter, A1, keys=VK02)


def test_key_expired(profile_a1: MeterKeyProfile) -> None:
    assert A1_TID >> 16 == 0x59
    decode_token(profile_a1.with_changes(ken=0x59), A1, keys=VK02)
    with pytest.raises(KeyExpiredError) as caught:
        decode_token(profile_a1.with_changes(ken=0x58), A1, keys=VK02)
    assert caught.value.meter_code == 11


def test_issuer_refuses_a_token_past_key_expiry(profile_a1: MeterKeyProfile) -> None:
    with pytest.raises(KeyExpiredError):
        issue_credit(profile_a1.with_changes(ken=0x58), "1", datetime(2004, 3, 1, 13, 55),
                     keys=VK02)


def test_old_and_used(profile_a1: MeterKeyProfile) -> None:
    with pytest.raises(UsedTokenError) as used:
        decode_token(profile_a1, A1, keys=VK02, last_tids=[A1_TID - 5, A1_TID])
    assert used.value.meter_code == 10
    with pytest.raises(OldTokenError) as old:
        decode_token(profile_a1, A1, keys=VK02, last_tids=[A1_TID + 1, A1_TID + 9])
    assert old.value.meter_code == 9
    assert decode_token(profile_a1, A1, keys=VK02, last_tids=[A1_TID - 1]).tid == A1_TID


def test_reserved_class_3(profile_a1: MeterKeyProfile) -> None:
    number = transpose(0, 3)
    with pytest.raises(FunctionError):
        decode_token(profile_a1, f"{number:020d}", keys=VK02)


def test_class1_mfr_code(profile_a1: MeterKeyProfile) -> None:
    token = issue_test_token(0, 1, 7)
    with pytest.raises(MfrCodeError) as caught:
        decode_token(profile_a1, token.digits)
    assert caught.value.meter_code == 14
    ours = issue_test_token(0, 1, profile_a1.meter_pan.mfr_code)
    assert decode_token(profile_a1, ours.digits).control == 1


def test_decoded_fields_for_display(profile_a1: MeterKeyProfile) -> None:
    fields = dict(decode_token(profile_a1, A1, keys=VK02).fields())
    assert fields["tid"] == str(A1_TID)
    assert fields["tid_date"] == "2004-03-01T13:55Z"
    assert fields["amount"] == "0.1 kWh"
    assert fields["type"] == "TransferCredit/Electricity"
    assert fields["crc"] == "0x19E6 (ok)"


def test_key_change_set_carries_the_new_key(profile_a1: MeterKeyProfile) -> None:
    new = profile_a1.with_changes(ti=2, krn=3, kt=1, ken=0x42)
    tokens = key_change_set(profile_a1, VK02, new, VK02, rollover=True)
    decoded = [decode_token(profile_a1, t.digits, keys=VK02) for t in reversed(tokens)]
    change = assemble_key_change(decoded)
    assert change.decoder_key == derive_decoder_key(new, VK02)
    assert (change.ken, change.krn, change.kt, change.ti, change.rollover) == (0x42, 3, 1, 2, True)
    assert change.sgc is None
    fields = dict(decoded[-1].fields())
    assert fields["new_key_part"] == "<32 bits, masked>"
    assert "key_word" not in repr(decoded[-1])


def test_misty1_key_change_set_has_four_tokens(profile_c: MeterKeyProfile) -> None:
    new = profile_c.with_changes(krn=2, sgc=654321, ti=99)
    tokens = key_change_set(profile_c, VK04, new, VK04)
    assert [t.subclass for t in tokens] == [3, 4, 8, 9]
    change = assemble_key_change([decode_token(profile_c, t.digits, keys=VK04) for t in tokens])
    assert change.decoder_key == derive_decoder_key(new, VK04)
    assert change.sgc == 654321
    assert change.ti == 99


def test_key_change_tokens_fail_under_the_new_key(profile_a1: MeterKeyProfile) -> None:
    new = profile_a1.with_changes(ti=2)
    tokens = key_change_set(profile_a1, VK02, new, VK02)
    with pytest.raises(CrcError):
        decode_token(new, tokens[0].digits, keys=VK02)


def test_check_token_reports_instead_of_raising(profile_a1: MeterKeyProfile) -> None:
    good = check_token(profile_a1, A1, keys=VK02)
    assert good.valid and good.decoded is not None and good.decoded.tid == A1_TID
    bad = check_token(profile_a1, A1[:-1] + "8", keys=VK02)
    assert not bad.valid and isinstance(bad.error, CrcError) and bad.decoded is None


def test_incomplete_key_change_set(profile_a1: MeterKeyProfile) -> None:
    tokens = key_change_set(profile_a1, VK02, profile_a1.with_changes(ti=2), VK02)
    with pytest.raises(FunctionError):
        assemble_key_change([decode_token(profile_a1, tokens[0].digits, keys=VK02)])
