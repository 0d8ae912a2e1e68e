"""The counter's sale through a real central process: check, quote with the split, sell; a lost
answer is asked again with the same key (one sale, one token); central down sells nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, VendTransaction
from app.models.database import Database
from app.services.prepaid_desk import (
    CentralUnreachable,
    PendingStore,
    VendingDesk,
    VendRefused,
    grouped,
    order_sentence,
)
from app.sync.endpoint import Endpoint
from central.embedded import free_port
from tests.vending.world import DRN_A, DRN_B, DRN_C, DRN_OLD

from .conftest import Central, pending_store

_OPEN: list[VendingDesk] = []


@pytest.fixture(autouse=True)
def _close_desks() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def _desk(central: Central, tmp_path: Path, endpoint: Endpoint | None = None,
          **kwargs: object) -> VendingDesk:
    desk = VendingDesk(endpoint or central.endpoint, pending_store(tmp_path),
                       **kwargs)  # type: ignore[arg-type]
    _OPEN.append(desk)
    return desk


def _sales(central: Central, meter_serial: str) -> int:
    db = Database(central.database_url)
    try:
        with db.session() as session:
            from app.models import Meter
            return int(session.scalar(
                select(func.count()).select_from(VendTransaction)
                .join(Meter, Meter.id == VendTransaction.meter_id)
                .where(Meter.serial == meter_serial)) or 0)
    finally:
        db.dispose()


def test_check_quote_and_sell(central: Central, tmp_path: Path) -> None:
    desk = _desk(central, tmp_path)
    db = Database(central.database_url)
    with db.session() as session:
        checked = desk.check(DRN_B, session)
    db.dispose()
    assert checked.owner == "T*** M." and "prépayée" in checked.tariff
    quote = desk.quote(DRN_B, energy_kwh="10")
    assert quote.split.arrears > 0, "a share of the 5 000 F owed"
    assert quote.split.fixed_charge == 500 and quote.split.vat > 0
    assert quote.amount == sum(quote.split.__dict__.values())
    sale = desk.sell(DRN_B, quote.amount, "0701020304", "akouassi")
    assert sale.receipt.startswith("RP") and len(sale.token) == 20
    assert grouped(sale.token).count(" ") == 4
    assert not desk.pending.all(), "an answered sale leaves no pending key"
    assert "Tapez ce code" in order_sentence(sale)


def test_key_change_tokens_come_first_with_a_sentence(central: Central, tmp_path: Path) -> None:
    sale = _desk(central, tmp_path).sell(DRN_C, 2000, "0701020304", "akouassi")
    assert len(sale.key_change_tokens) == 2
    assert sale.tokens_in_order[-1] == sale.token
    assert "d'abord les 2 premiers codes" in order_sentence(sale)


def test_refusals_come_back_in_french(central: Central, tmp_path: Path) -> None:
    desk = _desk(central, tmp_path)
    with pytest.raises(VendRefused) as refused:
        desk.check(DRN_OLD)
    assert "n'est plus en service" in str(refused.value)
    with pytest.raises(VendRefused) as unknown:
        desk.check("99999999999")
    assert unknown.value.code == "meter_unknown"


class _LoseFirstAnswer(httpx.HTTPTransport):
    """Sends the request to central, then drops the answer once (a cut connection)."""

    lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/vend-sales") and not self.lost:
            self.lost += 1
            response.close()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_lost_answer_is_asked_again_with_the_same_key(central: Central,
                                                        tmp_path: Path) -> None:
    before = _sales(central, DRN_A)
    transport = _LoseFirstAnswer()
    sale = _desk(central, tmp_path, transport=transport).sell(DRN_A, 1500, "0701020304",
                                                               "akouassi")
    assert transport.lost == 1
    assert sale.replayed, "central answered the sale it had already made"
    assert _sales(central, DRN_A) == before + 1, "one sale, one token"


def test_central_down_sells_nothing_and_keeps_the_key(central: Central, tmp_path: Path) -> None:
    down = Endpoint(f"http://127.0.0.1:{free_port()}", central.endpoint.credential, "101")
    desk = _desk(central, tmp_path, down, attempts=2)
    pending = desk.pending
    with pytest.raises(CentralUnreachable) as problem:
        desk.check(DRN_A)
    assert "aucune vente" in str(problem.value)
    before = _sales(central, DRN_A)
    with pytest.raises(CentralUnreachable) as lost:
        desk.sell(DRN_A, 1500, "0701020304", "akouassi")
    assert "même référence" in str(lost.value)
    assert _sales(central, DRN_A) == before
    [kept] = pending.all()
    sale = _desk(central, tmp_path).resume(kept)
    assert sale.reference == kept.reference and not pending.all()
    again = _desk(central, tmp_path).resume(kept)
    assert (again.token, again.receipt) == (sale.token, sale.receipt) and again.replayed
    assert _sales(central, DRN_A) == before + 1


def test_the_sms_is_sent_again_to_another_number_audited(central: Central,
                                                         tmp_path: Path) -> None:
    desk = _desk(central, tmp_path)
    sale = desk.sell(DRN_A, 1200, "0701020304", "akouassi")
    with pytest.raises(VendRefused):
        desk.resend_sms(sale.receipt, "0709090909", "akouassi", " ")
    assert desk.resend_sms(sale.receipt, "07 09 09 09 09", "akouassi",
                           "le client a changé de numéro") == "pending"
    deadline = time.monotonic() + 30
    inbox: list[dict[str, str]] = []
    while time.monotonic() < deadline and not inbox:
        inbox = httpx.get(f"{central.sms.url}/messages", params={"to": "0709090909"}).json()
        time.sleep(0.2)
    assert inbox and grouped(sale.token) in inbox[0]["text"]
    db = Database(central.database_url)
    try:
        with db.session() as session:
            reasons = session.scalars(select(AuditEntry.reason).where(
                AuditEntry.username == "akouassi")).all()
    finally:
        db.dispose()
    assert any("le client a changé de numéro" in r for r in reasons)
    with pytest.raises(VendRefused) as other:
        desk.resend_sms("RP999-2026-000001", "0709090909", "akouassi", "essai")
    assert other.value.code == "not_found"


def test_a_refused_code_is_explained_by_central(central: Central, tmp_path: Path) -> None:
    desk = _desk(central, tmp_path)
    sale = desk.sell(DRN_A, 1300, "0701020304", "akouassi")
    typo = sale.token[:-1] + str((int(sale.token[-1]) + 5) % 10)
    found = desk.diagnose(DRN_A, grouped(typo))
    assert found.verdict == "typing_error" and found.suggestion == grouped(sale.token)
    assert found.actions[0][0] == "retype"
    used = desk.diagnose(DRN_A, sale.token)
    assert used.verdict == "used" and ("Reçu", f"{sale.receipt}") in [
        (k, v.split(" du ")[0]) for k, v in used.fields]
    with pytest.raises(VendRefused) as unknown:
        desk.diagnose("99999999999", sale.token)
    assert unknown.value.code == "meter_unknown"


def test_pending_sales_are_rows_that_survive_a_restart(central: Central, tmp_path: Path,
                                                       sqlite_url: str) -> None:
    """The key is committed before the request: a desk killed while waiting finds it on
    restart (another process, another store object) and central answers the same sale; the
    JSON file of earlier versions is taken in once."""
    import json

    from app.services.prepaid_desk import PendingSale

    legacy = tmp_path / "ventes-prepayees-en-attente.json"
    legacy.write_text(json.dumps([{"reference": "GUICHET-legacy-1", "meter": DRN_A,
                                   "amount": 1000, "phone": "0701020304",
                                   "agent": "akouassi"}]), encoding="utf-8")
    db = Database(sqlite_url)
    try:
        store = PendingStore(db, legacy)
        assert [s.reference for s in store.all()] == ["GUICHET-legacy-1"]
        assert not legacy.exists() and legacy.with_suffix(".json.repris").exists()
        assert PendingStore(db, legacy).all() == store.all(), "taken in once"
        with pytest.raises(CentralUnreachable):
            VendingDesk(Endpoint(f"http://127.0.0.1:{free_port()}", "x", "101"), store,
                        attempts=1).sell(DRN_A, 1400, "0701020304", "akouassi")
        restarted = PendingStore(Database(sqlite_url))
        kept = {s.reference: s for s in restarted.all()}
        assert len(kept) == 2 and isinstance(next(iter(kept.values())), PendingSale)
        restarted.db.dispose()
        before = _sales(central, DRN_A)
        desk = VendingDesk(central.endpoint, store)
        _OPEN.append(desk)
        for sale in kept.values():
            assert desk.resume(sale).token
        assert _sales(central, DRN_A) == before + 2
        again = {r: desk.resume(s) for r, s in kept.items()}
        assert all(s.replayed for s in again.values()), "no second sale"
        assert _sales(central, DRN_A) == before + 2
        assert not store.all()
    finally:
        db.dispose()
