"""The SMS texts (French, ≤ 160 GSM-7 characters, grouped token) and the outbox: a gateway
that fails is retried with back-off, then the message is marked failed, and the sale shows it;
the HES marks a delivery no meter acknowledged."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import select

from app.models import VendTransaction
from app.models.enums import SmsStatus
from central.meters import Fleet, MeterStore
from central.meters.records import prepaid_meter_records
from central.models import DeliveryStatus, HesDelivery, SmsMessage, SmsStatusCentral
from central.sms.gateway import SmsError
from central.sms.text import GSM7, LIMIT, sale_messages
from central.sts.vending_keys import VendingKeyRing
from central.vending.dispatch import Dispatcher
from kernel.money import Currency

from .world import DRN_A, DRN_C, Clock, VendingWorld

TOKEN = "12345678901234567890"


def _sale(changes: str = "") -> SimpleNamespace:
    return SimpleNamespace(token=TOKEN, key_change_tokens=changes, energy=Decimal("25.5"),
                           amount_minor=123_456, receipt_number="RP000-2026-000042")


def test_texts_are_gsm7_within_160_with_the_grouped_token() -> None:
    xof = Currency.of("XOF")
    [plain] = sale_messages(_sale(), DRN_A, xof)
    assert "Jeton 1234 5678 9012 3456 7890" in plain and "25.5 kWh" in plain
    assert "Recu RP000-2026-000042" in plain, "ç is not GSM-7: written c"
    assert len(plain) <= LIMIT and set(plain) <= GSM7
    two = sale_messages(_sale("11112222333344445555 66667777888899990000"), DRN_A, xof)
    four = sale_messages(_sale(" ".join([TOKEN] * 4)), DRN_A, xof)
    for messages in (two, four):
        assert all(len(m) <= LIMIT and set(m) <= GSM7 for m in messages)
    assert two[0].index("1111 2222") < two[-1].index("Jeton 1234"), "key change first"
    assert len(four) == 2 and "Jeton 1234" in four[1]


class _Gateway:
    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> str:
        if self.fail:
            self.fail -= 1
            raise SmsError("passerelle SMS injoignable : ConnectError")
        self.sent.append((phone, text))
        return str(len(self.sent))


def _down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def test_outbox_retries_with_back_off_then_marks_failed(world: VendingWorld) -> None:
    clock = Clock()
    moov, _ = world.operator()
    platform = world.platform(clock, sms_enabled=True, hes_enabled=True)
    sale, _ = platform.purchase(moov, reference="O1", meter=DRN_A, amount_minor=3000,
                                phone="0701020304")
    gateway = _Gateway(fail=10)
    meters = httpx.Client(transport=httpx.MockTransport(_down))
    dispatcher = Dispatcher(world.db, meters_url="http://meters", sms=gateway, http=meters,
                            hes_max_attempts=2, sms_max_attempts=3, retry_base_seconds=10,
                            clock=clock)
    assert dispatcher.run_once() == 2
    assert dispatcher.run_once() == 0, "nothing due before the back-off"
    clock.now += timedelta(seconds=10)
    assert dispatcher.run_once() == 2
    clock.now += timedelta(seconds=20)
    assert dispatcher.run_once() == 1, "the HES gave up after 2 tries"
    with world.db.reading() as session:
        message = session.scalars(select(SmsMessage)).one()
        delivery = session.scalars(select(HesDelivery)).one()
        found = session.get(VendTransaction, sale.id)
    assert (message.status, message.attempts) == (SmsStatusCentral.FAILED, 3)
    assert "injoignable" in message.last_error
    assert delivery.status is DeliveryStatus.UNACKNOWLEDGED and delivery.attempts == 2
    assert found is not None and found.sms_status is SmsStatus.FAILED


def test_a_gateway_back_sends_and_the_sale_shows_it(world: VendingWorld) -> None:
    clock = Clock()
    moov, _ = world.operator()
    platform = world.platform(clock, sms_enabled=True)
    sale, _ = platform.purchase(moov, reference="O2", meter=DRN_C, amount_minor=3000,
                                phone="0701020304")
    assert sale.key_change_tokens and sale.sms_status == "pending"
    gateway = _Gateway(fail=1)
    dispatcher = Dispatcher(world.db, sms=gateway, retry_base_seconds=1, clock=clock)
    dispatcher.run_once()
    clock.now += timedelta(seconds=1)
    dispatcher.run_once()
    assert gateway.sent and gateway.sent[0][0] == "0701020304"
    assert sale.key_change_tokens[0][:4] in gateway.sent[0][1]
    with world.db.reading() as session:
        found = session.get(VendTransaction, sale.id)
    assert found is not None and found.sms_status is SmsStatus.SENT


def test_the_hes_pushes_a_meters_sales_in_order_after_a_failure(
        world: VendingWorld, tmp_path: Path) -> None:
    clock = Clock()
    moov, _ = world.operator()
    platform = world.platform(clock, hes_enabled=True)
    first, _ = platform.purchase(moov, reference="H1", meter=DRN_C, amount_minor=3000,
                                 phone="0701020304")
    clock.now += timedelta(minutes=1)
    second, _ = platform.purchase(moov, reference="H2", meter=DRN_C, amount_minor=3000,
                                  phone="0701020304")
    assert first.key_change_tokens and not second.key_change_tokens
    fleet = Fleet(MeterStore(tmp_path / "meters.sqlite3"), clock=clock, consumption_w=0)
    fleet.load_records(prepaid_meter_records(world.db), VendingKeyRing(test_keys=True))
    calls = {"n": 0}

    def meter(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:  # the meter does not answer the second token of the first sale
            raise httpx.ReadTimeout("no answer", request=request)
        drn = request.url.path.split("/")[2]
        token = json.loads(request.content)["token"]
        return httpx.Response(200, json=fleet.enter(drn, token, source="hes").to_json())

    dispatcher = Dispatcher(world.db, meters_url="http://meters",
                            http=httpx.Client(transport=httpx.MockTransport(meter)),
                            retry_base_seconds=5, clock=clock)
    dispatcher.run_once()
    with world.db.reading() as session:
        states = [(d.vend_id, d.status, d.delivered) for d in session.scalars(
            select(HesDelivery).order_by(HesDelivery.id))]
    assert states == [(first.id, DeliveryStatus.QUEUED, 1), (second.id, DeliveryStatus.QUEUED, 0)]
    clock.now += timedelta(seconds=5)
    dispatcher.run_once()
    with world.db.reading() as session:
        assert {d.status for d in session.scalars(select(HesDelivery))} == {
            DeliveryStatus.ACKNOWLEDGED}
    codes = [t["code"] for t in fleet.state(DRN_C)["last_tokens"]]
    assert codes == ["credit", "credit", "key_change_done", "key_change_partial"]


def test_the_http_gateway_against_the_test_gateway(tmp_path: Path) -> None:
    from central.embedded import free_port
    from central.sms.gateway import HttpSmsGateway
    from central.sms.testgateway import Inbox

    from .stack import PY, Service, clean_env

    port = free_port()
    gateway = Service("sms", [PY, "-m", "central.sms", "--data-dir", str(tmp_path), "serve",
                              "--port", str(port), "--user", "odyssee", "--password", "s3cret"],
                      port, tmp_path, clean_env()).start()
    url = f"{gateway.url}/messages"
    good = HttpSmsGateway(url, user="odyssee", password="s3cret")
    bad = HttpSmsGateway(url, user="odyssee", password="x")
    try:
        assert good.send("0701020304", "Recharge: jeton 1234 5678 9012 3456 7890") == "1"
        with pytest.raises(SmsError, match="401"):
            bad.send("0701020304", "x")
        with pytest.raises(SmsError, match="422"):
            good.send("0701020304", "é" * 161)
        with pytest.raises(SmsError, match="422"):
            good.send("0701020304", "€ n'est pas GSM-7 de base")
    finally:
        good.close()
        bad.close()
        gateway.stop()
    assert [m["text"] for m in Inbox(tmp_path / "sms-inbox.sqlite3").to("0701020304")] == [
        "Recharge: jeton 1234 5678 9012 3456 7890"]


def test_a_meter_the_fleet_does_not_know_yet_is_reloaded(world: VendingWorld) -> None:
    clock = Clock()
    moov, _ = world.operator()
    world.platform(clock, hes_enabled=True).purchase(
        moov, reference="N1", meter=DRN_A, amount_minor=3000, phone="0701020304")
    seen: list[str] = []

    def fleet(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/fleet/reload":
            return httpx.Response(200, json={"added": [DRN_A]})
        if "/fleet/reload" not in seen:
            return httpx.Response(404, json={"error": "unknown_meter"})
        return httpx.Response(200, json={"accepted": True, "code": "credit"})

    Dispatcher(world.db, meters_url="http://meters", clock=clock,
               http=httpx.Client(transport=httpx.MockTransport(fleet))).run_once()
    assert seen == [f"/meters/{DRN_A}/tokens", "/fleet/reload", f"/meters/{DRN_A}/tokens"]
    with world.db.reading() as session:
        assert session.scalars(select(HesDelivery.status)).one() is DeliveryStatus.ACKNOWLEDGED
