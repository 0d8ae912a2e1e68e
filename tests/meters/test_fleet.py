"""The virtual meters take the engine's tokens as a real STS meter would: each credit token
once, on its own meter, never a replay, an old TID or another meter's token; a key change
set moves the meter to its new key; a restart keeps the TID memory."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from central.meters import Fleet, MeterRecord, MeterStore, UnknownMeterError
from central.sts import MeterKeyProfile, issue_credit, key_change_set
from central.sts.vending_keys import (
    TEST_VENDING_KEY_DKGA02,
    TEST_VENDING_KEY_DKGA04,
    VendingKeyRing,
)

from .conftest import DRN_A, DRN_B, START, Clock, record

VK = TEST_VENDING_KEY_DKGA02


def profile(drn: str, **changes: object) -> MeterKeyProfile:
    return record(drn, **changes).profile()  # type: ignore[arg-type]


def credit(drn: str, kwh: str, minutes: int = 0, **changes: object) -> str:
    keys = TEST_VENDING_KEY_DKGA04 if changes.get("dkga") == 4 else VK
    return issue_credit(profile(drn, **changes), kwh, START + timedelta(minutes=minutes),
                        keys=keys).digits


def credit_of(fleet: Fleet, drn: str) -> Decimal:
    return Decimal(fleet.state(drn)["credit_kwh"])


def test_a_token_credits_its_own_meter_exactly_once(fleet: Fleet) -> None:
    token = credit(DRN_A, "25.5")
    answer = fleet.enter(DRN_A, token, source="hes")
    assert answer.accepted and answer.code == "credit" and answer.meter_code == 1
    assert answer.amount_kwh == Decimal("25.5") and answer.credit_kwh == Decimal("25.500")
    assert answer.message == "Crédit accepté : +25.5 kWh."
    replay = fleet.enter(DRN_A, token)
    assert not replay.accepted and replay.code == "used" and replay.meter_code == 10
    assert replay.message == "Jeton refusé : déjà utilisé sur ce compteur."
    assert credit_of(fleet, DRN_A) == Decimal("25.5")
    assert credit_of(fleet, DRN_B) == 0
    state = fleet.state(DRN_A)
    assert [e["code"] for e in state["last_tokens"]] == ["used", "credit"]
    assert [e["code"] for e in state["refusals"]] == ["used"]
    assert state["last_tokens"][1]["source"] == "hes"


def test_a_token_for_another_meter_is_refused_and_named(fleet: Fleet) -> None:
    answer = fleet.enter(DRN_A, credit(DRN_B, "10"))
    assert not answer.accepted and answer.code == "other_meter" and answer.meter_code == 13
    assert DRN_B in answer.message and "n'est pas destiné à ce compteur" in answer.message
    assert credit_of(fleet, DRN_A) == 0 and credit_of(fleet, DRN_B) == 0
    assert fleet.enter(DRN_B, credit(DRN_B, "10")).accepted


def test_a_mistyped_token_is_refused_as_a_crc_error(fleet: Fleet) -> None:
    token = credit(DRN_A, "10")
    broken = token[:19] + str((int(token[19]) + 1) % 10)      # last digit mistyped
    answer = fleet.enter(DRN_A, broken)
    assert not answer.accepted and (answer.code, answer.meter_code) == ("crc", 13)
    assert answer.message.startswith("Jeton refusé : erreur de contrôle (CRC)")
    short = fleet.enter(DRN_A, token[:19])
    assert (short.code, short.accepted) == ("format", False)
    assert "20 chiffres" in short.message
    assert credit_of(fleet, DRN_A) == 0
    assert fleet.enter(DRN_A, " ".join(token[i:i + 4] for i in range(0, 20, 4))).accepted


def test_old_tid_beyond_the_memory_is_refused_as_old(fleet: Fleet) -> None:
    """Memory of 3 TIDs: out of order is fine while it has room; once full, a TID older
    than all it remembers is OLD, one it remembers is USED."""
    tokens = [credit(DRN_A, "1", minutes=m) for m in (0, 10, 20, 30)]
    assert fleet.enter(DRN_A, tokens[1]).accepted
    assert fleet.enter(DRN_A, tokens[0]).accepted, "older, but the store is not full"
    assert fleet.enter(DRN_A, tokens[3]).accepted
    assert fleet.enter(DRN_A, tokens[2]).accepted                 # store: 10, 20, 30
    old = fleet.enter(DRN_A, tokens[0])
    assert (old.accepted, old.code, old.meter_code) == (False, "old", 9)
    assert old.message.startswith("Jeton refusé : trop ancien")
    newer = credit(DRN_A, "1", minutes=5)
    assert fleet.enter(DRN_A, newer).code == "old"
    assert fleet.enter(DRN_A, tokens[1]).code == "used"
    assert credit_of(fleet, DRN_A) == 4


@pytest.mark.parametrize(("ea", "dkga", "sections"), [(7, 2, 2), (11, 4, 4)])
def test_key_change_set_then_credit_token_is_accepted(
    tmp_path: Path, clock: Clock, ea: int, dkga: int, sections: int
) -> None:
    keys = VK if dkga == 2 else TEST_VENDING_KEY_DKGA04
    ring = VendingKeyRing(test_keys=True)
    fleet = Fleet(MeterStore(tmp_path / "m.sqlite3"), clock=clock, consumption_w=0)
    fleet.load_records([record(DRN_A, ea=ea, dkga=dkga)], ring)
    old, new = profile(DRN_A, ea=ea, dkga=dkga), profile(DRN_A, ea=ea, dkga=dkga, krn=2, ti=7)
    # The platform moves the meter's record to KRN 2 / TI 07 and sells under the new key.
    report = fleet.load_records([record(DRN_A, ea=ea, dkga=dkga, krn=2, ti=7)], ring)
    assert report.key_changed == [DRN_A] and fleet.state(DRN_A)["key"]["key_change_needed"]
    sale = issue_credit(new, "12", START, keys=keys).digits
    early = fleet.enter(DRN_A, sale)
    assert (early.accepted, early.code) == (False, "key_change_needed")
    assert early.message.startswith("Jeton refusé : changement de clé nécessaire")
    change = key_change_set(old, keys, new, keys)
    assert len(change) == sections
    answers = [fleet.enter(DRN_A, token.digits) for token in change]
    assert [a.code for a in answers] == ["key_change_partial"] * (sections - 1) + [
        "key_change_done"]
    assert answers[0].message == f"Changement de clé : jeton 1/{sections} accepté, entrer le suivant."
    assert fleet.state(DRN_A)["key"] | {"key_change_needed": None} == {
        "sgc": 123456, "ti": 7, "krn": 2, "kt": 2, "ken": 255, "ea": f"{ea:02d}",
        "dkga": f"{dkga:02d}", "base_date": 2014, "key_change_needed": None}
    assert not fleet.state(DRN_A)["key"]["key_change_needed"]
    accepted = fleet.enter(DRN_A, sale)
    assert accepted.accepted and accepted.amount_kwh == Decimal("12")
    stale = issue_credit(old, "5", START + timedelta(minutes=1), keys=keys).digits
    assert fleet.enter(DRN_A, stale).code == "crc", "the old key no longer opens tokens"


def test_rollover_key_change_clears_the_tid_memory(fleet: Fleet) -> None:
    first = credit(DRN_A, "3")
    assert fleet.enter(DRN_A, first).accepted
    old, new = profile(DRN_A), profile(DRN_A, krn=2)
    for token in key_change_set(old, VK, new, VK, rollover=True):
        fleet.enter(DRN_A, token.digits)
    state = fleet.state(DRN_A)
    assert state["tid_memory"]["used"] == 0 and state["key"]["krn"] == 2
    again = issue_credit(new, "3", START, keys=VK).digits       # same TID, new key
    assert fleet.enter(DRN_A, again).accepted
    assert credit_of(fleet, DRN_A) == 6


def test_a_restart_keeps_credit_and_tid_memory(fleet: Fleet, clock: Clock) -> None:
    token = credit(DRN_A, "7.5")
    assert fleet.enter(DRN_A, token).accepted
    restarted = Fleet(MeterStore(fleet.store.path), clock=clock)
    report = restarted.load_records([record(DRN_A), record(DRN_B)], VendingKeyRing(test_keys=True))
    assert report.added == [] and report.key_changed == []
    assert restarted.enter(DRN_A, token).code == "used"
    assert credit_of(restarted, DRN_A) == Decimal("7.5")


def test_credit_is_drawn_down_at_the_consumption_rate(fleet: Fleet, clock: Clock) -> None:
    assert fleet.enter(DRN_A, credit(DRN_A, "2")).accepted
    fleet.set_consumption(DRN_A, 500)
    clock.advance(hours=1)
    state = fleet.state(DRN_A)
    assert Decimal(state["credit_kwh"]) == Decimal("1.5") and state["connected"]
    clock.advance(hours=4)
    state = fleet.state(DRN_A)
    assert Decimal(state["credit_kwh"]) == 0 and not state["connected"]


def test_unknown_meter_and_missing_vending_key(fleet: Fleet) -> None:
    with pytest.raises(UnknownMeterError, match="Compteur inconnu"):
        fleet.enter("47100000034", "1" * 20)
    report = fleet.load_records([record("47100000034", krn=3)], VendingKeyRing())
    assert report.skipped == {"47100000034": "aucune clé de vente pour le SGC 123456, KRN 3, "
                                             "DKGA-02"}


def test_the_store_file_is_readable_by_its_owner_only(fleet: Fleet) -> None:
    assert fleet.store.path.stat().st_mode & 0o077 == 0
    assert "masked" in repr(fleet.store.get(DRN_A))
    assert fleet.store.get(DRN_A).decoder_key not in str(fleet.state(DRN_A))


def test_large_fleets_answer_a_plain_crc_error(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    from central.meters import fleet as fleet_module

    monkeypatch.setattr(fleet_module, "OTHER_METER_SEARCH_LIMIT", 1)
    assert fleet.enter(DRN_A, credit(DRN_B, "10")).code == "crc"


def test_a_token_past_the_meters_key_expiry_is_refused(tmp_path: Path, clock: Clock) -> None:
    """KEN is the meter's, not part of the key: a vending side that ignored it (KEN 255)
    issues a token the meter (KEN 100, i.e. TIDs up to 2026-08-02) refuses."""
    fleet = Fleet(MeterStore(tmp_path / "m.sqlite3"), clock=clock)
    expiring = MeterRecord(drn=DRN_A, iin="600727", sgc=123456, ti=1, krn=1, ken=100,
                           base_date=2014)
    fleet.load_records([expiring], VendingKeyRing(test_keys=True))
    answer = fleet.enter(DRN_A, credit(DRN_A, "5"))                 # issued 2026-12-05
    assert (answer.accepted, answer.code, answer.meter_code) == (False, "key_expired", 11)
    assert "la clé du compteur a expiré" in answer.message
    before = issue_credit(profile(DRN_A), "5", START.replace(month=3), keys=VK).digits
    assert fleet.enter(DRN_A, before).accepted
