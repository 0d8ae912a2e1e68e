"""The 2024 TID roll-over: key change set with RO, new KRN and base date 2014."""

from __future__ import annotations

from datetime import datetime

import pytest

from central.sts.decoder import assemble_key_change, decode_token
from central.sts.errors import (
    BaseDateExpiredError,
    CrcError,
    RolloverNotNeededError,
    VendingKeyError,
)
from central.sts.keys import derive_decoder_key
from central.sts.profile import MeterKeyProfile
from central.sts.rollover import needs_rollover, plan_rollover
from central.sts.tid import BaseDate, tid_from_datetime
from central.sts.tokens import issue_credit
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02 as VK02
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA04 as VK04

AFTER_2024 = datetime(2025, 6, 1, 10, 30)


def test_meter_on_1993_moves_to_2014_and_krn_2(profile_a1: MeterKeyProfile) -> None:
    assert needs_rollover(profile_a1)
    with pytest.raises(BaseDateExpiredError):
        issue_credit(profile_a1, "10", AFTER_2024, keys=VK02)
    plan = plan_rollover(profile_a1, VK02)
    assert plan.new_profile.base == BaseDate.Y2014
    assert plan.new_profile.krn == 2
    assert len(plan.tokens) == 2
    decoded = [decode_token(profile_a1, t.digits, keys=VK02) for t in plan.tokens]
    change = assemble_key_change(decoded)
    assert change.rollover is True
    assert change.krn == 2
    assert change.decoder_key == derive_decoder_key(plan.new_profile, VK02)
    assert change.decoder_key != derive_decoder_key(profile_a1, VK02)

    token = issue_credit(plan.new_profile, "10", AFTER_2024, keys=VK02, rnd=3)
    decoded_new = decode_token(plan.new_profile, token.digits, keys=VK02)
    assert decoded_new.tid == tid_from_datetime(AFTER_2024, BaseDate.Y2014)
    assert str(decoded_new.amount) == "10"
    with pytest.raises(CrcError):
        decode_token(profile_a1, token.digits, keys=VK02)


def test_dkga04_key_depends_on_the_new_base_date(profile_b: MeterKeyProfile) -> None:
    plan = plan_rollover(profile_b, VK04)
    same_krn_old_base = plan.new_profile.with_changes(base_date=1993)
    assert derive_decoder_key(plan.new_profile, VK04) != derive_decoder_key(same_krn_old_base, VK04)


def test_misty1_rollover_set_has_four_tokens(profile_c: MeterKeyProfile) -> None:
    plan = plan_rollover(profile_c, VK04, new_krn=5)
    assert [t.subclass for t in plan.tokens] == [3, 4, 8, 9]
    decoded = [decode_token(profile_c, t.digits, keys=VK04) for t in plan.tokens]
    change = assemble_key_change(decoded)
    assert change.rollover and change.krn == 5
    assert change.decoder_key == derive_decoder_key(plan.new_profile, VK04)


def test_old_krn_on_2014_also_needs_it(profile_a1: MeterKeyProfile) -> None:
    on_2014_krn_1 = profile_a1.with_changes(base_date=2014)
    assert needs_rollover(on_2014_krn_1)
    assert plan_rollover(on_2014_krn_1, VK02).new_profile.krn == 2


def test_meter_already_rolled_over_is_refused(profile_a1: MeterKeyProfile) -> None:
    done = profile_a1.with_changes(base_date=2014, krn=2)
    assert not needs_rollover(done)
    with pytest.raises(RolloverNotNeededError):
        plan_rollover(done, VK02)
    assert plan_rollover(done, VK02, force=True).new_profile.krn == 3


def test_decoder_key_alone_cannot_define_the_new_key(profile_a1: MeterKeyProfile) -> None:
    with pytest.raises(VendingKeyError):
        plan_rollover(profile_a1, derive_decoder_key(profile_a1, VK02))
    plan = plan_rollover(profile_a1, derive_decoder_key(profile_a1, VK02), new_keys=VK02)
    assert plan.tokens == plan_rollover(profile_a1, VK02).tokens
