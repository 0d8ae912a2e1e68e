"""Meters built from central's meter records, and ``python -m central.meters serve`` as a
real process on 127.0.0.1: a token pushed over HTTP credits the meter once, the keypad
command works beside the running server, and the state answers both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx

from app.models import Agency, Meter
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import Energy, MeterPayment, MeterStatus
from central.embedded import free_port
from central.meters.records import prepaid_meter_records
from central.sts import MeterKeyProfile, issue_credit
from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02, TEST_VENDING_KEY_DKGA04
from kernel.context import UnitOfWork

from .conftest import DRN_A, DRN_B

ROOT = Path(__file__).resolve().parents[2]


def _meters(url: str) -> None:
    """A prepaid DKGA-02 meter, a prepaid DKGA-04 one, a postpaid one and a removed one."""
    db = Database(url)
    try:
        with UnitOfWork(db, SYSTEM) as uow:
            agency = Agency(code="101", name="Agence 101")
            uow.session.add(agency)
            uow.session.flush()
            sts = {"sts_iin": "600727", "sts_sgc": 123456, "sts_tariff_index": 1,
                   "sts_key_type": 2, "sts_key_expiry": 255, "sts_algorithm": "07"}
            uow.session.add_all([
                Meter(agency_id=agency.id, serial="P1", energy=Energy.ELECTRICITY,
                      payment=MeterPayment.PREPAID, sts_drn=DRN_A, sts_key_revision=1,
                      sts_dkga="02", sts_base_date=1993, **sts),
                Meter(agency_id=agency.id, serial="P2", energy=Energy.ELECTRICITY,
                      payment=MeterPayment.PREPAID, sts_drn=DRN_B, sts_key_revision=2,
                      sts_dkga="04", sts_base_date=2014, **sts),
                Meter(agency_id=agency.id, serial="W1", energy=Energy.WATER),
                Meter(agency_id=agency.id, serial="P3", energy=Energy.ELECTRICITY,
                      payment=MeterPayment.PREPAID, status=MeterStatus.REMOVED,
                      sts_drn="47100000034", sts_key_revision=2, sts_dkga="04",
                      sts_base_date=2014, **sts),
            ])
            uow.commit()
    finally:
        db.dispose()


def test_records_are_the_installed_prepaid_meters(central_sqlite_url: str) -> None:
    _meters(central_sqlite_url)
    db = Database(central_sqlite_url)
    try:
        records = prepaid_meter_records(db)
    finally:
        db.dispose()
    assert [(r.drn, r.krn, r.dkga, r.base_date) for r in records] == [
        (DRN_A, 1, 2, 1993), (DRN_B, 2, 4, 2014)]
    assert records[1].profile().pan == "600727" + DRN_B + records[1].profile().pan[-1]


def _wait(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # a loaded machine starts a server slowly
    while time.monotonic() < deadline:
        assert process.poll() is None, "the fleet stopped"
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the fleet did not answer")


def test_real_fleet_process(central_sqlite_url: str, tmp_path: Path) -> None:
    _meters(central_sqlite_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    command = [sys.executable, "-m", "central.meters", "--data-dir", str(tmp_path)]
    log = tmp_path / "fleet.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "serve", "--database-url", central_sqlite_url, "--test-keys",
             "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    # Meter A is still on base date 1993 (its TIDs ended in 2024): a token of mid-2024.
    pushed = issue_credit(MeterKeyProfile(pan=DRN_A, sgc=123456, ti=1, krn=1), "20",
                          datetime(2024, 6, 1, 9, 0, tzinfo=UTC),
                          keys=TEST_VENDING_KEY_DKGA02).digits
    typed = issue_credit(MeterKeyProfile(pan=DRN_B, sgc=123456, ti=1, krn=2, dkga=4,
                                         base_date=2014), "5.5", datetime.now(UTC),
                         keys=TEST_VENDING_KEY_DKGA04).digits
    try:
        _wait(base, process)
        with httpx.Client(base_url=base, timeout=10) as client:
            assert [m["drn"] for m in client.get("/meters").json()] == [DRN_A, DRN_B]
            answer = client.post(f"/meters/{DRN_A}/tokens", json={"token": pushed}).json()
            assert answer["accepted"] and answer["credit_kwh"] == "20.000"
            again = client.post(f"/meters/{DRN_A}/tokens", json={"token": pushed}).json()
            assert (again["accepted"], again["code"]) == (False, "used")
            wrong = client.post(f"/meters/{DRN_B}/tokens", json={"token": pushed}).json()
            assert wrong["code"] == "other_meter" and DRN_A in wrong["message"]
            keypad = subprocess.run([*command, "enter", DRN_B, typed], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=60)
            assert keypad.returncode == 0, keypad.stderr
            assert "Crédit accepté : +5.5 kWh." in keypad.stdout
            state_a = client.get(f"/meters/{DRN_A}").json()
            state_b = client.get(f"/meters/{DRN_B}").json()
            assert Decimal(state_a["credit_kwh"]) <= 20 and state_a["connected"]
            assert [e["code"] for e in state_a["last_tokens"]] == ["used", "credit"]
            assert [e["source"] for e in state_b["last_tokens"]] == ["keypad", "hes"]
            assert state_b["refusals"][0]["code"] == "other_meter"
            assert state_b["key"]["dkga"] == "04" and state_b["key"]["krn"] == 2
            missing = client.get("/meters/47100000034")
            assert missing.status_code == 404 and missing.json()["error"] == "unknown_meter"
            assert client.post("/fleet/reload").json()["added"] == []
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code in (0, -signal.SIGTERM), log.read_text()
    keypad_again = subprocess.run([*command, "enter", DRN_A, pushed], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
    assert keypad_again.returncode == 1
    assert "déjà utilisé" in keypad_again.stdout, "the TID memory survived the stop"

