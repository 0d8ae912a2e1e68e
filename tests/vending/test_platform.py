"""The platform's rules for an operator: check, quote, purchase (idempotent, limits, key
change first, arrears, write path), look-ups limited to the operator's own sales; and the
tokens sold are taken by the meters they are for."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Meter, SyncJournalEntry, VendTransaction
from app.models.capture import SYSTEM
from central.meters import Fleet, MeterStore
from central.meters.records import prepaid_meter_records
from central.models import SmsMessage, VendingRequest
from central.sts.vending_keys import VendingKeyRing
from central.vending.errors import VendingError
from central.vending.platform import Platform
from kernel.context import UnitOfWork

from .world import DRN_A, DRN_B, DRN_C, DRN_OLD, DRN_STOCK, Clock, VendingWorld


def refusal(call: Any, *args: Any, **kwargs: Any) -> VendingError:
    with pytest.raises(VendingError) as caught:
        call(*args, **kwargs)
    return caught.value


def fleet_of(world: VendingWorld, tmp_path: Path, clock: Clock) -> Fleet:
    fleet = Fleet(MeterStore(tmp_path / "meters.sqlite3"), clock=clock, consumption_w=0)
    fleet.load_records(prepaid_meter_records(world.db), VendingKeyRing(test_keys=True))
    return fleet


def test_check_meter_answers_the_masked_owner_or_a_precise_refusal(world: VendingWorld) -> None:
    platform = world.platform()
    found = platform.check_meter(DRN_A)
    assert (found["owner"], found["tariff"], found["unit"]) == (
        "K*** A.", "Électricité prépayée domestique", "kWh")
    assert platform.check_meter("4710 0000 018")["meter"] == DRN_A, "spaces as typed"
    for number, code in (("47100000067", "meter_unknown"), ("W0001", "meter_postpaid"),
                         (DRN_OLD, "meter_retired"), (DRN_STOCK, "meter_not_installed"),
                         ("abc", "meter_unknown")):
        error = refusal(platform.check_meter, number)
        assert error.code == code and len(error.message) <= 160, error.message
    platform.block(DRN_A, "fraude constatée")
    blocked = refusal(platform.check_meter, DRN_A)
    assert blocked.code == "meter_blocked" and "agence" in blocked.message
    platform.block(DRN_A, "")
    assert platform.check_meter(DRN_A)["owner"] == "K*** A."


def test_quotes_both_ways_and_the_month_so_far(world: VendingWorld) -> None:
    platform = world.platform()
    moov, _ = world.operator()
    by_energy = platform.quote(DRN_A, energy=Decimal("58.15"))
    assert (by_energy.split.amount_minor, by_energy.split.energy) == (4991, Decimal("58.2"))
    assert by_energy.first_of_month
    by_amount = platform.quote(DRN_A, amount_minor=5000)
    assert by_amount.split.energy == Decimal("58.2")
    platform.purchase(moov, reference="MP1", meter=DRN_A, amount_minor=5000, phone="0701020304")
    after = platform.quote(DRN_A, amount_minor=5000)
    assert not after.first_of_month and after.split.fixed_charge_minor == 0
    assert after.month_energy == Decimal("58.2")
    assert after.split.bands[0].lower == 50, "the social band is used up by the first sale"
    assert refusal(platform.quote, DRN_C, amount_minor=500).code == "amount_too_small"


def test_a_purchase_is_one_write_with_its_journal_and_the_token_credits_its_meter(
        world: VendingWorld, tmp_path: Path) -> None:
    clock = Clock()
    platform = world.platform(clock)
    moov, _ = world.operator()
    sale, replayed = platform.purchase(moov, reference="MP-0001", meter=DRN_A,
                                       amount_minor=5000, phone="07 01 02 03 04")
    assert not replayed
    assert sale.receipt == "RP000-2026-000001"
    assert (sale.energy, sale.energy_minor, sale.fixed_charge_minor, sale.vat_minor) == (
        Decimal("58.2"), 3738, 500, 762)
    assert sale.phone == "0701020304" and sale.operator == "moov"
    assert sale.agency_id == world.agency_id, "synchronised to the meter's agency"
    with world.db.reading() as session:
        journal = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.row_id == sale.id)).one()
        assert journal.agency_id == world.agency_id and journal.table_name == "vend_transaction"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.row_id == sale.id)).one()
        assert audit.username == "opérateur moov"
    clock.now += timedelta(seconds=5)
    second, _ = platform.purchase(moov, reference="MP-0002", meter=DRN_A, amount_minor=1000,
                                  phone="0701020304")
    assert second.receipt == "RP000-2026-000002", "one gap-free series"
    assert second.token_tid is not None and sale.token_tid is not None
    assert second.token_tid > sale.token_tid, "TIDs strictly increase for a meter"
    fleet = fleet_of(world, tmp_path, clock)
    first = fleet.enter(DRN_A, sale.token, source="hes")
    assert first.accepted and first.amount_kwh == Decimal("58.2")
    assert fleet.enter(DRN_A, second.token).accepted
    assert fleet.enter(DRN_A, sale.token).code == "used", "a replayed token is refused"
    assert fleet.enter(DRN_B, sale.token).code == "other_meter"


def test_a_retried_purchase_answers_the_same_sale_and_a_reused_reference_is_refused(
        world: VendingWorld) -> None:
    platform = world.platform()
    moov, _ = world.operator()
    orange, _ = world.operator("orange")
    sale, _ = platform.purchase(moov, reference="R1", meter=DRN_A, amount_minor=2000,
                                phone="0701020304")
    again, replayed = platform.purchase(moov, reference="R1", meter=DRN_A, amount_minor=2000,
                                        phone="0701020304")
    assert replayed and (again.id, again.token) == (sale.id, sale.token)
    other = refusal(platform.purchase, moov, reference="R1", meter=DRN_A, amount_minor=3000,
                    phone="0701020304")
    assert other.code == "reference_reused"
    theirs, replayed = platform.purchase(orange, reference="R1", meter=DRN_A,
                                         amount_minor=2000, phone="0701020304")
    assert not replayed and theirs.id != sale.id, "references are per operator"
    assert [s.id for s in platform.find(moov, reference="R1")] == [sale.id]
    assert platform.find(orange, receipt=sale.receipt) == [], \
        "an operator never reads another's sales"
    assert [s.id for s in platform.find(moov, phone="0701020304")] == [sale.id]
    assert [s.id for s in platform.find(moov, meter=DRN_A)] == [sale.id]
    today = platform.today()
    assert [s.id for s in platform.find(moov, day_from=today, day_to=today)] == [sale.id]
    assert platform.find(moov, day_from=today + timedelta(days=1)) == []
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(VendTransaction)) == 2


def test_limits_per_sale_and_per_payer_and_day(world: VendingWorld) -> None:
    platform = world.platform()
    moov, _ = world.operator(min_amount_minor=1000, max_amount_minor=20_000,
                             max_payer_day_minor=25_000)
    low = refusal(platform.purchase, moov, reference="L1", meter=DRN_A, amount_minor=999,
                  phone="0701020304")
    assert low.code == "amount_below_minimum" and "1" in low.message
    high = refusal(platform.purchase, moov, reference="L2", meter=DRN_A, amount_minor=20_001,
                   phone="0701020304")
    assert high.code == "amount_above_maximum"
    platform.purchase(moov, reference="L3", meter=DRN_A, amount_minor=20_000,
                      phone="0701020304")
    day = refusal(platform.purchase, moov, reference="L4", meter=DRN_A, amount_minor=6000,
                  phone="0701020304")
    assert day.code == "daily_limit_exceeded" and "reste" in day.message
    platform.purchase(moov, reference="L5", meter=DRN_A, amount_minor=6000, phone="0708091011")
    bad_phone = refusal(platform.purchase, moov, reference="L6", meter=DRN_A,
                        amount_minor=6000, phone="07x")
    assert bad_phone.code == "phone_invalid"


def test_refused_purchases_write_nothing(world: VendingWorld) -> None:
    moov, _ = world.operator()
    no_keys = Platform(world.db, world.currency, world.platform().zone, None)
    error = refusal(no_keys.purchase, moov, reference="K1", meter=DRN_A, amount_minor=2000,
                    phone="0701020304")
    assert (error.status, error.code) == (503, "token_unavailable")
    for number in ("W0001", DRN_OLD, "47100000067"):
        refusal(world.platform().purchase, moov, reference="K2", meter=number,
                amount_minor=2000, phone="0701020304")
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(VendTransaction)) == 0
        assert session.scalar(select(func.count()).select_from(VendingRequest)) == 0


def test_key_change_tokens_come_first_and_the_meter_takes_them(
        world: VendingWorld, tmp_path: Path) -> None:
    clock = Clock()
    platform = world.platform(clock)
    moov, _ = world.operator()
    fleet = fleet_of(world, tmp_path, clock)
    # Meter C is still on base date 1993 (ran out in 2024): the roll-over set first.
    sale, _ = platform.purchase(moov, reference="C1", meter=DRN_C, amount_minor=3000,
                                phone="0701020304")
    changes = list(sale.key_change_tokens)
    assert len(changes) == 2
    answers = [fleet.enter(DRN_C, token, source="hes") for token in [*changes, sale.token]]
    assert [a.code for a in answers] == ["key_change_partial", "key_change_done", "credit"]
    clock.now += timedelta(minutes=1)
    later, _ = platform.purchase(moov, reference="C2", meter=DRN_C, amount_minor=3000,
                                 phone="0701020304")
    assert later.key_change_tokens == () and fleet.enter(DRN_C, later.token).accepted
    # The record moves meter A to a new key revision after a sale: the next sale carries
    # the key change (the platform keeps the key the meter holds from its first sale on).
    first, _ = platform.purchase(moov, reference="A0", meter=DRN_A, amount_minor=3000,
                                 phone="0701020304")
    assert fleet.enter(DRN_A, first.token).accepted
    clock.now += timedelta(minutes=1)
    with UnitOfWork(world.db, SYSTEM) as uow:
        meter = uow.session.scalars(select(Meter).where(Meter.sts_drn == DRN_A)).one()
        meter.sts_key_revision = 3
        uow.commit()
    moved, _ = platform.purchase(moov, reference="A1", meter=DRN_A, amount_minor=3000,
                                 phone="0701020304")
    steps = [fleet.enter(DRN_A, t).code for t in [*moved.key_change_tokens, moved.token]]
    assert steps == ["key_change_partial", "key_change_done", "credit"]


def test_the_arrears_share_pays_the_account(world: VendingWorld) -> None:
    platform = world.platform()
    moov, _ = world.operator()
    account = world.meters[DRN_B].account_id
    check = platform.quote(DRN_B, amount_minor=10_000)
    assert check.split.arrears_minor == 2000
    sale, _ = platform.purchase(moov, reference="B1", meter=DRN_B, amount_minor=10_000,
                                phone="0701020304")
    assert sale.arrears_minor == 2000
    with world.db.reading() as session:
        from app.models import Account

        found = session.get(Account, account)
        assert found is not None and found.balance_minor == 3000


@pytest.mark.postgres
def test_two_identical_requests_at_once_make_one_sale(central_pg_url: str) -> None:
    from app.models.database import Database

    db = Database(central_pg_url)
    try:
        world = VendingWorld(db)
        moov, _ = world.operator()
        platforms = [world.platform(), world.platform()]
        barrier = threading.Barrier(4)
        results: list[tuple[str, bool]] = []
        lock = threading.Lock()

        def buy(index: int) -> None:
            barrier.wait()
            sale, replayed = platforms[index % 2].purchase(
                moov, reference="SAME", meter=DRN_A, amount_minor=2500, phone="0701020304")
            with lock:
                results.append((sale.token, replayed))

        threads = [threading.Thread(target=buy, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 4 and len({token for token, _ in results}) == 1
        assert sorted(replayed for _, replayed in results) == [False, True, True, True]
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(VendTransaction)) == 1
    finally:
        db.dispose()


def test_the_sale_goes_to_the_meters_agency_change_feed(any_world: VendingWorld) -> None:
    from central.sync.changes import changes_after

    world = any_world
    moov, _ = world.operator()
    platform = world.platform(sms_enabled=True)
    sale, _ = platform.purchase(moov, reference="F1", meter=DRN_A, amount_minor=2000,
                                phone="0701020304")
    again, _ = platform.purchase(moov, reference="F2", meter=DRN_A, amount_minor=2000,
                                 phone="0701020304")
    assert (sale.receipt, again.receipt) == ("RP000-2026-000001", "RP000-2026-000002")
    with world.db.engine.connect() as connection:
        feed = changes_after(connection, world.agency_id, 0, 1000)
    entries = [e for c in feed["commits"] for e in c["entries"]
               if e["table"] == "vend_transaction"]
    assert [e["row"] for e in entries] == [str(sale.id), str(again.id)]
    sent = entries[0]["changes"]
    assert sent["receipt_number"][1] == sale.receipt and sent["operator_code"][1] == "moov"
    assert sent["arrears_minor"][1] == 0 and sent["vat_minor"][1] == sale.vat_minor
    assert len({c["no"] for c in feed["commits"]}) == len(feed["commits"])
    with world.db.reading() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.row_id == sale.id)).one()
        stored = session.get(VendTransaction, sale.id)
        texts = session.scalars(select(SmsMessage.text).where(
            SmsMessage.vend_id == sale.id)).all()
    assert audit.changes["receipt_number"][1] == sale.receipt
    assert stored is not None and stored.receipt_number == sale.receipt
    assert len(texts) == 1 and texts[0].endswith(f"Reçu {sale.receipt}".replace("ç", "c"))
    assert platform.find(moov, receipt=sale.receipt)[0].id == sale.id


def test_a_desk_sale_records_its_agency_and_agent(world: VendingWorld) -> None:
    from central.vending.platform import DeskSeller

    platform = world.platform()
    moov, _ = world.operator()
    platform.purchase(moov, reference="D0", meter=DRN_A, amount_minor=2000, phone="0701020304")
    desk = DeskSeller(world.agency_id, "101", "akouassi")
    sale, replayed = platform.sell_at_desk(desk, reference="D0", meter=DRN_A,
                                           amount_minor=2000, phone="0701020304")
    assert not replayed, "the agency's references are its own"
    assert (sale.channel, sale.sold_by, sale.operator, sale.agency_id) == (
        "counter", "akouassi", "", world.agency_id)
    assert sale.receipt == "RP000-2026-000002", "the platform's one series"
    with world.db.reading() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.row_id == sale.id)).one()
    assert audit.username == "akouassi"
    other = DeskSeller(uuid.uuid4(), "102", "agent2")
    assert refusal(platform.sell_at_desk, other, reference="D1", meter=DRN_A,
                   amount_minor=2000, phone="0701020304").code == "meter_other_agency"
    assert platform.find(moov, reference="D0")[0].channel == "ussd"
