"""« Pourquoi le compteur refuse ce code ? » against the virtual meters: for each refusal kind,
the token is typed on a virtual meter built from central's record (which refuses it), then
explained by central with the meter's keys — the explanation names the meter's reason."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from app.models import Meter
from app.models.database import Database
from central.meters.fleet import Fleet
from central.meters.store import MeterStore
from central.models import VendingMeter
from central.sts import issue_test_token
from central.sts.layout import group_digits
from central.sts.meter_number import luhn_check_digit
from central.vending.diagnosis import TokenDoctor, meter_record
from central.vending.errors import VendingError
from central.vending.platform import DeskSeller, Platform

from .world import DRN_A, DRN_B, DRN_C, Clock, VendingWorld

MEMORY = 3


def _drn(n: int) -> str:
    payload = f"473000{n:04d}"
    return payload + str(luhn_check_digit(payload))


class Desk:
    def __init__(self, db: Database, world: VendingWorld, tmp_path: Path) -> None:
        self.db = db
        self.world = world
        self.clock = Clock()
        self.platform: Platform = world.platform(self.clock)
        assert self.platform.tokens is not None
        self.doctor = TokenDoctor(db, self.platform.tokens, ZoneInfo("Africa/Abidjan"),
                                  memory=MEMORY)
        self.fleet = Fleet(MeterStore(tmp_path / "meters.sqlite3"), tid_memory=MEMORY)
        self.seller = DeskSeller(world.agency_id, "101", "akouassi")
        self.n = 0

    def sell(self, drn: str, amount: int = 1500) -> tuple[str, list[str]]:
        self.n += 1
        sale, _ = self.platform.sell_at_desk(self.seller, reference=f"T-{self.n}", meter=drn,
                                             amount_minor=amount, phone="0701020304")
        return sale.token, list(sale.key_change_tokens)

    def meter(self, *drns: str) -> None:
        """Virtual meters built from central's records as they are now."""
        with self.db.reading() as session:
            rows = session.scalars(select(Meter).where(Meter.sts_drn.in_(drns))).all()
            records = [meter_record(m) for m in rows]
        self.fleet.load_records(records, self.platform.tokens.keys)  # type: ignore[union-attr]

    def enter(self, drn: str, token: str) -> str:
        return self.fleet.enter(drn, token).code

    def why(self, drn: str, token: str) -> tuple[str, str]:
        found = self.doctor.diagnose(self.world.agency_id, drn, token)
        return found.verdict, found.explanation


@pytest.fixture
def desk(central_sqlite_url: str, tmp_path: Path) -> Iterator[Desk]:
    db = Database(central_sqlite_url)
    yield Desk(db, VendingWorld(db), tmp_path)
    db.dispose()


def test_a_token_typed_twice_is_already_used(desk: Desk) -> None:
    token, _ = desk.sell(DRN_A)
    desk.meter(DRN_A)
    assert desk.enter(DRN_A, token) == "credit"
    assert desk.enter(DRN_A, token) == "used"
    verdict, text = desk.why(DRN_A, token)
    assert verdict == "used" and "déjà" in text


def test_typing_errors_show_the_right_code(desk: Desk) -> None:
    token, _ = desk.sell(DRN_A)
    desk.meter(DRN_A)
    # A slip in any place: the meter refuses it (a broken CRC, or class bits moved to a reserved
    # class, depending on the token) and the diagnosis finds the code that was sold.
    for place in range(20):
        wrong = token[:place] + str((int(token[place]) + 3) % 10) + token[place + 1:]
        assert desk.enter(DRN_A, wrong) not in ("credit", "management"), place
        found = desk.doctor.diagnose(desk.world.agency_id, DRN_A, wrong)
        assert found.verdict == "typing_error" and found.suggestion == group_digits(token), \
            (place, found.verdict)
    assert desk.enter(DRN_A, token[:-1]) == "format"
    short = desk.doctor.diagnose(desk.world.agency_id, DRN_A, group_digits(token[:-1]))
    assert short.verdict == "typing_error" and "19 chiffres" in short.explanation
    assert short.suggestion == group_digits(token)
    assert desk.why(DRN_A, "9" * 20)[0] == "typing_error", "above 2^66-1"


def test_another_meters_code_names_that_meter(desk: Desk) -> None:
    other, _ = desk.sell(DRN_B, 3000)
    desk.meter(DRN_A, DRN_B)
    assert desk.enter(DRN_A, other) == "other_meter"
    verdict, text = desk.why(DRN_A, other)
    assert verdict == "other_meter" and DRN_B in text


def test_a_code_older_than_the_meters_memory_is_too_old(desk: Desk) -> None:
    drn = _drn(1)
    desk.world.add_meter(drn, "Koffi", "Marc")
    tokens = [desk.sell(drn)[0] for _ in range(MEMORY + 1)]
    desk.meter(drn)
    for token in tokens[1:]:
        assert desk.enter(drn, token) == "credit"
    assert desk.enter(drn, tokens[0]) == "old"
    verdict, text = desk.why(drn, tokens[0])
    assert verdict == "old" and f"{MEMORY} derniers" in text
    assert desk.why(drn, tokens[-1])[0] == "used", "the newest is within the memory"


def test_a_credit_code_before_its_key_change_codes(desk: Desk) -> None:
    desk.meter(DRN_C)                      # the meter still on its 1993 key
    token, changes = desk.sell(DRN_C)
    assert len(changes) == 2
    assert desk.enter(DRN_C, token) in ("crc", "key_change_needed")
    found = desk.doctor.diagnose(desk.world.agency_id, DRN_C, token)
    assert found.verdict == "key_change_needed"
    assert [a["code"] for a in found.to_json()["actions"]][0] == "resend_key_change"
    for code in (*changes, token):
        assert desk.enter(DRN_C, code) in ("key_change_partial", "key_change_done", "credit")
    assert desk.why(DRN_C, changes[0])[0] == "key_change_token"


def test_a_code_made_before_the_key_change_is_refused_for_good(desk: Desk) -> None:
    drn = _drn(2)
    desk.world.add_meter(drn, "Bamba", "Issa", krn=1, base_date=1993)
    desk.meter(drn)
    desk.clock.now = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    before, none = desk.sell(drn)
    assert none == []
    desk.clock.now = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    after, changes = desk.sell(drn)
    for code in (*changes, after):
        assert desk.fleet.enter(drn, code).accepted
    assert not desk.fleet.enter(drn, before).accepted
    found = desk.doctor.diagnose(desk.world.agency_id, drn, before)
    assert found.verdict == "old_key", found
    assert "révision 1" in found.explanation and "ne l'accepte plus" in found.explanation


def test_a_code_past_the_key_expiry_number(desk: Desk) -> None:
    drn = _drn(3)
    prepaid = desk.world.add_meter(drn, "Yao", "Ama")
    token, _ = desk.sell(drn)
    with desk.db.session() as session, session.begin():
        tid = session.scalars(select(VendingMeter.last_tid)
                              .where(VendingMeter.meter_id == prepaid.meter_id)).one()
        ken = (tid >> 16) - 1
        session.execute(update(Meter).where(Meter.id == prepaid.meter_id)
                        .values(sts_key_expiry=ken))
        session.execute(update(VendingMeter).where(VendingMeter.meter_id == prepaid.meter_id)
                        .values(ken=ken))
    desk.meter(drn)
    assert desk.enter(drn, token) == "key_expired"
    assert desk.why(drn, token)[0] == "key_expired"


def test_a_test_token_carries_no_credit(desk: Desk) -> None:
    test = issue_test_token(0, 1, 47).digits
    verdict, text = desk.why(DRN_A, test)
    assert verdict == "test_token" and "aucun crédit" in text


def test_unknown_and_other_agencys_meters_are_refused(desk: Desk) -> None:
    with pytest.raises(VendingError) as unknown:
        desk.why("47999999990", "1" * 20)
    assert unknown.value.status == 404
    with pytest.raises(VendingError) as other:
        desk.doctor.diagnose(uuid.uuid4(), DRN_A, "1" * 20)
    assert other.value.status == 403
