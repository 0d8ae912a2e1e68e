"""Tariff maintenance at central (issue 15): a declarative TOML file, validated, versions that
never overlap, audited through the write path and journaled for the desks, the history of
versions in force at any date; the new version prices the days it covers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import AuditEntry, SyncJournalEntry, Tariff
from app.models.database import Database
from app.models.enums import MeterPayment
from central.cli import main
from central.sync.changes import changes_after
from central.tariffs import (
    add_tariff,
    add_version,
    parse_tariff,
    read_tariff_file,
    tariff_history,
    tariffs_in_force,
)
from kernel.errors import BusinessError, ValidationError
from kernel.money import Currency
from tests.central.world import World

XOF = Currency.of("XOF")

WATER = """
code = "EAU-SOC"
name = "Eau — branchement social"
energy = "water"
payment = "postpaid"
valid_from = 2026-01-01
fixed_charge = "1000"
vat_rate = "0.18"
customer_categories = ["domestic"]

[[bands]]
from = 0
to = 10
price = "150"
social = true

[[bands]]
from = 10
to = 30
price = "445"

[[bands]]
from = 30
price = "690"
"""

PREPAID = """
code = "ELEC-PRE2"
name = "Électricité prépayée"
energy = "electricity"
payment = "prepaid"
valid_from = 2026-06-01
fixed_charge = "500"
vat_rate = "0.18"
arrears_recovery_share = "0.25"
sts_tariff_index = 2

[[bands]]
from = 0
to = 100
price = "79.5"

[[bands]]
from = 100
price = "98"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def version_of(text: str, **changes: str) -> str:
    for key, value in changes.items():
        lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
        text = "\n".join([f"{key} = {value}", *lines])
    return text


def test_a_tariff_file_is_validated_with_every_problem_named() -> None:
    bad = {
        "code": "X", "name": "x", "energy": "gas", "valid_from": "2026-13-01",
        "vat_rate": "1.5", "fixed_charge": "-3",
        "bands": [{"from": 0, "to": 10, "price": "100"}, {"from": 12, "to": 30, "price": "0"}],
        "colour": "red",
    }
    with pytest.raises(ValidationError) as error:
        parse_tariff(bad, XOF)
    fields = error.value.fields
    assert {"energy", "valid_from", "vat_rate", "fixed_charge", "colour", "bands[2].from"} <= set(
        fields)
    assert "contiguës" in fields["bands[2].from"]
    problems = [
        ({"bands": [{"from": 0, "to": 10, "price": "100"}]}, "bands[1].to"),  # last not open
        ({"bands": [{"from": 0, "to": 10, "price": "0"}, {"from": 10, "price": "1"}]},
         "bands[1].price"),
        ({"bands": [{"from": 0, "to": 10, "price": "1"}, {"from": 10, "price": "2",
                                                           "social": True}]}, "bands[2].social"),
        ({"arrears_recovery_share": "0.2"}, "arrears_recovery_share"),  # postpaid
        ({"fixed_charge": "10.5"}, "fixed_charge"),  # XOF has no decimals
    ]
    base = {"code": "T", "name": "t", "energy": "water", "valid_from": "2026-01-01",
            "vat_rate": "0.18", "bands": [{"from": 0, "price": "100"}]}
    for change, field in problems:
        with pytest.raises(ValidationError) as error:
            parse_tariff(base | change, XOF)
        assert field in error.value.fields, change
    assert parse_tariff(base, XOF).bands[0].upper is None


def test_versions_never_overlap_and_the_history_answers_any_date(
    cdb: Database, tmp_path: Path
) -> None:
    first = add_tariff(cdb, read_tariff_file(write(tmp_path, "t.toml", WATER), XOF))
    assert (first.valid_from, first.valid_to, first.bands[0].social) == (
        date(2026, 1, 1), None, True)
    with pytest.raises(BusinessError, match="existe déjà"):
        add_tariff(cdb, read_tariff_file(write(tmp_path, "t.toml", WATER), XOF))
    new = version_of(WATER, valid_from="2027-01-01", fixed_charge='"1100"')
    second = add_version(cdb, "EAU-SOC", read_tariff_file(write(tmp_path, "v.toml", new), XOF))
    assert second.fixed_charge_minor == 1100
    for day in ("2026-06-01", "2026-12-31", "2026-01-01"):
        with pytest.raises(BusinessError, match="chevauchent"):
            add_version(cdb, "EAU-SOC", read_tariff_file(
                write(tmp_path, "o.toml", version_of(WATER, valid_from=day)), XOF))
    history = tariff_history(cdb, "eau-soc")
    assert [(v.valid_from, v.valid_to) for v in history] == [
        (date(2026, 1, 1), date(2026, 12, 31)), (date(2027, 1, 1), None)]
    in_force = {v.code: v.fixed_charge_minor for v in tariffs_in_force(cdb, date(2026, 12, 31))}
    assert in_force["EAU-SOC"] == 1000
    in_force = {v.code: v.fixed_charge_minor for v in tariffs_in_force(cdb, date(2027, 1, 1))}
    assert in_force["EAU-SOC"] == 1100


def test_writes_are_audited_and_journaled_for_every_agency(cdb: Database, tmp_path: Path) -> None:
    world = World(cdb)
    prepaid = add_tariff(cdb, read_tariff_file(write(tmp_path, "p.toml", PREPAID), XOF))
    assert prepaid.payment is MeterPayment.PREPAID
    assert prepaid.arrears_recovery_share == Decimal("0.25")
    with cdb.reading() as session:
        audited = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name.in_(("tariff", "tariff_band")),
            AuditEntry.username == "central")).all()
        assert {a.table_name for a in audited} == {"tariff", "tariff_band"}
        assert sum(a.table_name == "tariff_band" for a in audited) == 2
        journal = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.row_id == prepaid.id)).one()
        assert journal.agency_id is None, "a shared row: every desk downloads it"
        changes = changes_after(session.connection(), world.agency_id, 0, 1000)
    tariffs = [e for c in changes["commits"] for e in c["entries"] if e["table"] == "tariff"]
    (sent,) = [e for e in tariffs if e["row"] == str(prepaid.id)]
    assert sent["changes"]["arrears_recovery_share"][1] == "0.25"
    assert sent["changes"]["code"][1] == "ELEC-PRE2"


def test_a_new_version_prices_its_days_in_the_next_billing(cdb: Database, tmp_path: Path) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 10, 31), 1000)
    world.read(sub.meter_id, date(2026, 11, 30), 1030)
    raised = """
code = "EAU-DOM"
name = "EAU-DOM"
energy = "water"
valid_from = 2026-11-16
fixed_charge = "1650"
vat_rate = "0.18"
[[bands]]
from = 0
to = 10
price = "270"
[[bands]]
from = 10
to = 30
price = "490"
[[bands]]
from = 30
price = "760"
"""
    add_version(cdb, "EAU-DOM", read_tariff_file(write(tmp_path, "r.toml", raised), XOF))
    with cdb.reading() as session:
        old = session.get(Tariff, world.water)
        assert old is not None and old.valid_to == date(2026, 11, 15)
    world.bill("2026-11")
    (invoice,) = world.invoices(sub.contract_id)
    # As in test_billing_defensible: 15 m³ and half a month under each version: 15 931.
    assert invoice.total_minor == 15931


def test_the_tariff_commands(central_sqlite_url: str, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    assert main([*base, "tariff", "add", str(write(tmp_path, "t.toml", WATER))]) == 0
    new = version_of(WATER, valid_from="2027-01-01")
    assert main([*base, "tariff", "version", "EAU-SOC", str(write(tmp_path, "v.toml", new))]) == 0
    capsys.readouterr()
    assert main([*base, "tariff", "show", "EAU-SOC", "--on", "2026-07-14"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("* EAU-SOC") and "2026-01-01 → 2026-12-31" in shown[0]
    assert "0–10 à 150 (sociale)" in shown[2]
    assert shown[3].startswith("  EAU-SOC") and "2027-01-01 → …" in shown[3]
    assert main([*base, "tariff", "list", "--on", "2027-02-01"]) == 0
    listed = capsys.readouterr().out
    assert "2027-01-01" in listed and "2026-01-01" not in listed
    bad = write(tmp_path, "b.toml", WATER.replace('from = 10\nto = 30', 'from = 11\nto = 30'))
    assert main([*base, "tariff", "add", str(bad)]) == 1
    assert "bands[2].from" in capsys.readouterr().err
