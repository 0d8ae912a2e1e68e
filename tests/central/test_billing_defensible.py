"""The billing rules a utility can defend (issue 15), each on a hand-computed case through the
real engine, on SQLite and PostgreSQL.

Water tariff in XOF: 0–10 m³ at 245, 10–30 at 445, above 30 at 690; fixed charge 1 500 a month;
VAT 18 % on every line, each line rounded half up to the franc. Band widths and the fixed charge
are prorated by days (width × days / days in the month, bounds rounded half up to 0.001).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Contract, Invoice, Tariff, TariffBand
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import InvoiceKind, PremiseCategory, ReadingKind, ReadingSource
from central.billing.corrections import correct_invoice
from central.billing.engine import BillingEngine, recent_runs, resume_command
from central.billing.period import Period
from central.billing.unread import unread_meters
from central.cli import main
from central.models import BillingRun, RunStatus
from kernel.context import UnitOfWork
from kernel.errors import BusinessError
from tests.central.world import World

OCT_31 = date(2026, 10, 31)
NOV_30 = date(2026, 11, 30)


def amounts(invoice: Invoice) -> list[tuple[str, int, int]]:
    return [(line.kind.value, line.amount_excl_vat_minor, line.vat_minor) for line in invoice.lines]


# 1. A period is billed once it is over, whatever the issue date says.

def test_a_period_not_over_is_refused_even_with_a_later_issue_date(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe(billed_until=NOV_30)
    world.read(sub.meter_id, NOV_30, 10)
    engine = BillingEngine(cdb, world.currency)
    # On 5 December, December is not over: --issued-on 2027-01-05 does not make it so.
    with pytest.raises(BusinessError, match="pas terminée"):
        engine.run(Period.parse("2026-12"), date(2027, 1, 5), today=date(2026, 12, 5))
    with pytest.raises(BusinessError, match="dans le futur"):
        engine.run(Period.parse("2026-11"), date(2026, 12, 20), today=date(2026, 12, 5))
    assert world.invoices(sub.contract_id) == []
    assert world.count(BillingRun) == 0, "a refused run leaves no trace in the run ledger"


# 2. Band widths prorated by days.

def test_bands_of_a_31_day_first_window_are_prorated_not_doubled(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe(start=OCT_31, billed_until=None)
    world.set_move_in(sub.contract_id, world.read(sub.meter_id, OCT_31, 0, ReadingKind.MOVE_IN))
    world.read(sub.meter_id, NOV_30, 35)
    world.bill("2026-11")
    (invoice,) = world.invoices(sub.contract_id)
    # Window 31 Oct – 30 Nov: 1/31 + 30/30 = 32/31 month. Bands 0–10.323 (10 × 32/31) and
    # 10.323–30.968 (30 × 32/31). 35 m³:
    #   10.323 × 245 = 2 529.135 → 2 529 (VAT 455.22 → 455)
    #   20.645 × 445 = 9 187.025 → 9 187 (VAT 1 653.66 → 1 654)
    #    4.032 × 690 = 2 782.08 → 2 782 (VAT 500.76 → 501)
    #   fixed 1 500 × 32/31 = 1 548.39 → 1 548 (VAT 278.64 → 279)
    # (Bands doubled, as before, gave 15 486: 18 % less.)
    assert amounts(invoice) == [("consumption", 2529, 455), ("consumption", 9187, 1654),
                                ("consumption", 2782, 501), ("fixed_charge", 1548, 279)]
    assert [line.quantity for line in invoice.lines[:3]] == [Decimal("10.323"),
                                                             Decimal("20.645"), Decimal("4.032")]
    assert invoice.lines[1].label == "Consommation de 10,323 à 30,968 m³"
    assert invoice.total_minor == 18935


def test_bands_of_a_20_day_final_window_are_prorated(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 300)
    world.read(sub.meter_id, date(2026, 11, 20), 325, ReadingKind.MOVE_OUT)
    world.move_out(sub.contract_id, date(2026, 11, 20))
    world.bill("2026-11")
    (invoice,) = world.invoices(sub.contract_id)
    # 20 days of 30 = 2/3: bands 0–6.667 and 6.667–20. 25 m³:
    #   6.667 × 245 = 1 633.415 → 1 633 (VAT 293.94 → 294)
    #  13.333 × 445 = 5 933.185 → 5 933 (VAT 1 067.94 → 1 068)
    #   5 × 690 = 3 450 (VAT 621); fixed 1 000 (VAT 180).
    # (Full bands, as before: 11 948.)
    assert amounts(invoice) == [("consumption", 1633, 294), ("consumption", 5933, 1068),
                                ("consumption", 3450, 621), ("fixed_charge", 1000, 180)]
    assert invoice.total_minor == 14179


# 3. A tariff version starting inside the window prices its own days.

def _new_version(world: World, valid_from: date) -> None:
    """EAU-DOM from ``valid_from``: 270 / 490 / 760, fixed charge 1 650, VAT 18 %."""
    with UnitOfWork(world.db, SYSTEM) as uow:
        old = uow.session.get(Tariff, world.water)
        assert old is not None
        new = Tariff(code=old.code, name=old.name, energy=old.energy, payment=old.payment,
                     fixed_charge_minor=1650, vat_rate=Decimal("0.18"), valid_from=valid_from)
        new.bands = [TariffBand(lower_bound=0, upper_bound=10, unit_price=Decimal(270)),
                     TariffBand(lower_bound=10, upper_bound=30, unit_price=Decimal(490)),
                     TariffBand(lower_bound=30, upper_bound=None, unit_price=Decimal(760))]
        uow.session.add(new)
        uow.commit()


def test_a_tariff_change_inside_the_window_splits_consumption_by_days(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 1000)
    world.read(sub.meter_id, NOV_30, 1030)
    _new_version(world, date(2026, 11, 16))
    world.bill("2026-11")
    (invoice,) = world.invoices(sub.contract_id)
    # No reading on the change: 30 m³ × 15/30 days = 15 m³ under each version, each over 15
    # days (bands and fixed charge × 1/2: bands 0–5, 5–15).
    #   old: 5 × 245 = 1 225 (VAT 220.5 → 221), 10 × 445 = 4 450 (801), fixed 750 (135)
    #   new: 5 × 270 = 1 350 (243), 10 × 490 = 4 900 (882), fixed 825 (148.5 → 149)
    # (The new version over the whole month, as before: 16 697.)
    assert amounts(invoice) == [
        ("consumption", 1225, 221), ("consumption", 4450, 801), ("fixed_charge", 750, 135),
        ("consumption", 1350, 243), ("consumption", 4900, 882), ("fixed_charge", 825, 149),
    ]
    assert invoice.total_minor == 15931
    assert invoice.lines[0].label.endswith("du 01/11/2026 au 15/11/2026")
    assert invoice.lines[3].label.endswith("du 16/11/2026 au 30/11/2026")


def test_a_reading_at_the_tariff_change_splits_consumption_by_index(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 1000)
    world.read(sub.meter_id, date(2026, 11, 15), 1012)  # last day of the old version
    world.read(sub.meter_id, NOV_30, 1030)
    _new_version(world, date(2026, 11, 16))
    world.bill("2026-11")
    (invoice,) = world.invoices(sub.contract_id)
    # 12 m³ under the old version, 18 under the new (bands 0–5, 5–15, above 15 each):
    #   old: 5 × 245 = 1 225 (221), 7 × 445 = 3 115 (560.7 → 561), fixed 750 (135)
    #   new: 5 × 270 = 1 350 (243), 10 × 490 = 4 900 (882), 3 × 760 = 2 280 (410.4 → 410),
    #        fixed 825 (149)
    assert amounts(invoice) == [
        ("consumption", 1225, 221), ("consumption", 3115, 561), ("fixed_charge", 750, 135),
        ("consumption", 1350, 243), ("consumption", 4900, 882), ("consumption", 2280, 410),
        ("fixed_charge", 825, 149),
    ]
    assert invoice.total_minor == 17046


# 4. A move-out and a move-in the same day: the day is the newcomer's, one fixed charge.

def test_same_day_move_out_and_move_in_pay_one_fixed_charge(cdb: Database) -> None:
    world = World(cdb)
    leaving = world.subscribe()
    day = date(2026, 11, 15)
    world.read(leaving.meter_id, OCT_31, 100)
    move_in = world.read(leaving.meter_id, day, 112, ReadingKind.MOVE_IN)
    world.read(leaving.meter_id, day, 112, ReadingKind.MOVE_OUT)
    world.read(leaving.meter_id, NOV_30, 120)
    world.move_out(leaving.contract_id, day)
    with UnitOfWork(cdb, SYSTEM) as uow:
        old = uow.session.get(Contract, leaving.contract_id)
        assert old is not None
        arriving = Contract(agency_id=old.agency_id, number="AB-ARRIVEE", account_id=old.account_id,
                            connection_id=old.connection_id, tariff_id=old.tariff_id,
                            start_date=day, move_in_reading_id=move_in)
        uow.session.add(arriving)
        uow.session.flush()
        arriving_id = arriving.id
        uow.commit()
    world.bill("2026-11")
    (out,) = world.invoices(leaving.contract_id)
    (into,) = world.invoices(arriving_id)
    # Leaving: 1–14 November occupied (the 15th is the newcomer's): 14/30 = 7/15. Bands
    # 0–4.667 and 4.667–14; 12 m³: 4.667 × 245 = 1 143.415 → 1 143 (VAT 205.74 → 206),
    # 7.333 × 445 = 3 263.185 → 3 263 (VAT 587.34 → 587), fixed 700 (VAT 126).
    assert amounts(out) == [("consumption", 1143, 206), ("consumption", 3263, 587),
                            ("fixed_charge", 700, 126)]
    assert out.period_end == day and out.total_minor == 6025
    # Arriving: 15–30 November, 16/30 = 8/15. Bands 0–5.333 and 5.333–16; 8 m³:
    # 5.333 × 245 = 1 306.585 → 1 307 (VAT 235.26 → 235), 2.667 × 445 = 1 186.815 → 1 187
    # (VAT 213.66 → 214), fixed 800 (VAT 144).
    assert amounts(into) == [("consumption", 1307, 235), ("consumption", 1187, 214),
                             ("fixed_charge", 800, 144)]
    assert into.total_minor == 3887
    assert out.lines[-1].amount_excl_vat_minor + into.lines[-1].amount_excl_vat_minor == 1500


# 5. Within a series, numbers and issue dates increase together.

def test_a_run_dated_before_the_series_last_invoice_is_refused(cdb: Database) -> None:
    world = World(cdb)
    first = world.subscribe()
    world.read(first.meter_id, OCT_31, 0)
    world.read(first.meter_id, NOV_30, 10)
    world.bill("2026-11", issued_on=date(2026, 12, 10))
    (billed,) = world.invoices(first.contract_id)
    late = world.subscribe()  # brought in after the run (an agency adopted late)
    world.read(late.meter_id, OCT_31, 0)
    world.read(late.meter_id, NOV_30, 10)
    with pytest.raises(BusinessError, match=f"antérieure à celle de {billed.number}"):
        world.bill("2026-11", issued_on=date(2026, 12, 5), today=date(2026, 12, 12))
    assert world.invoices(late.contract_id) == []
    with pytest.raises(BusinessError, match="antérieure"):
        correct_invoice(cdb, world.currency, billed.number, issued_on=date(2026, 12, 9))
    world.bill("2026-11", issued_on=date(2026, 12, 10), today=date(2026, 12, 12))
    (later,) = world.invoices(late.contract_id)
    assert later.number > billed.number and later.issued_on >= billed.issued_on


# 6. A never-read meter: estimated from its premise category's average, marked, listed.

def test_a_never_read_meter_is_estimated_from_its_category_and_listed(
    cdb: Database, cli: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    world = World(cdb)
    domestic = [world.subscribe(), world.subscribe()]
    shop = world.subscribe(category=PremiseCategory.COMMERCIAL)
    for sub, used in zip((*domestic, shop), (20, 40, 90), strict=True):
        world.read(sub.meter_id, OCT_31, 0)
        world.read(sub.meter_id, NOV_30, used)
    world.bill("2026-11")
    for sub, used in zip((*domestic, shop), (20, 40, 90), strict=True):
        world.read(sub.meter_id, date(2026, 12, 31), 2 * used)
    never = world.subscribe(start=date(2026, 12, 1), billed_until=None)
    world.bill("2026-12")
    (invoice,) = world.invoices(never.contract_id)
    # Domestic premises used 20 + 40 m³ in 30 + 30 days billed on real readings: 1 m³ a day
    # (the shop's 3 m³ a day is another category). From the installation index (0 on
    # 1 December) to 31 December: 30 days, 30 m³ estimated = 10 × 245 = 2 450 (VAT 441)
    # + 20 × 445 = 8 900 (VAT 1 602), and the whole month's fixed charge 1 500 (VAT 270).
    # (Before: "estimated 0 m³", fixed charge only, 1 770.)
    assert invoice.is_estimated
    assert amounts(invoice) == [("consumption", 2450, 441), ("consumption", 8900, 1602),
                                ("fixed_charge", 1500, 270)]
    assert invoice.total_minor == 15163
    (estimate,) = world.estimates(never.meter_id)
    assert (estimate.index_value, estimate.consumption) == (30, 30)
    assert "catégorie" in estimate.note and "jamais relevé" in estimate.note

    unread = unread_meters(cdb, periods=1, today=date(2027, 1, 5))
    assert [(m.meter_id, m.last_real_reading, m.estimated_invoices) for m in unread] == [
        (never.meter_id, None, 1)]
    assert len(unread_meters(cdb, periods=3, today=date(2027, 4, 5))) == 4, (
        "no real reading in January–March for any of them")
    capsys.readouterr()
    assert main([*cli, "meters", "unread", "--periods", "1", "--date", "2027-01-05"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].endswith(": 1") and "jamais relevé" in shown[1] and "1 estimation(s)" in shown[1]


# 7. A run killed by the system is shown interrupted, with how to resume it.

@pytest.fixture
def cli(tmp_path: Path, cdb: Database) -> Iterator[list[str]]:
    """``python -m central`` in process on this database (its log file closed after)."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield ["--database-url", cdb.url, "--data-dir", str(tmp_path)]
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


def test_a_dead_run_is_shown_interrupted_with_how_to_resume(
    cdb: Database, cli: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    with cdb.session() as session, session.begin():
        session.add(BillingRun(period="2026-11", agency_code="101", issued_on=date(2026, 12, 5),
                               status=RunStatus.RUNNING, host=socket.gethostname(),
                               pid=dead_pid))
        # What a live run in another process looks like on SQLite (this process is alive).
        if cdb.dialect == "sqlite":
            session.add(BillingRun(period="2026-10", issued_on=date(2026, 11, 5),
                                   status=RunStatus.RUNNING, host=socket.gethostname(),
                                   pid=os.getppid()))
    runs = {run.period: run for run in recent_runs(cdb)}
    dead = runs["2026-11"]
    assert dead.status is RunStatus.INTERRUPTED and dead.finished_at is not None
    assert resume_command(dead) == (
        "python -m central bill --period 2026-11 --agency 101 --issued-on 2026-12-05")
    if cdb.dialect == "sqlite":
        assert runs["2026-10"].status is RunStatus.RUNNING, "a live process's run is left alone"
    capsys.readouterr()
    assert main([*cli, "runs"]) == 0
    shown = capsys.readouterr().out
    assert "2026-11 101 interrompue" in shown
    assert ("pour reprendre : python -m central bill --period 2026-11 --agency 101 "
            "--issued-on 2026-12-05") in shown


def test_resuming_after_a_dead_run_names_it(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 0)
    world.read(sub.meter_id, NOV_30, 10)
    with cdb.session() as session, session.begin():
        dead = BillingRun(period="2026-11", issued_on=date(2026, 12, 5),
                          status=RunStatus.RUNNING, host="une-autre-machine", pid=1)
        session.add(dead)
        session.flush()
        dead_id = dead.id
    report = world.bill("2026-11")
    assert report.resumed_from == dead_id and report.invoices == 1
    with cdb.reading() as session:
        statuses = dict(session.execute(select(BillingRun.id, BillingRun.status)).all())
    if cdb.dialect == "postgresql":
        # Under the run lock nothing else can be running: the dead run is settled.
        assert statuses[dead_id] is RunStatus.INTERRUPTED
    else:
        # Another machine's process cannot be looked up from here: left as it was.
        assert statuses[dead_id] is RunStatus.RUNNING


def test_estimate_basis_note_names_the_meter_history(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 8, 2), 100)
    world.read(sub.meter_id, OCT_31, 190)
    world.bill("2026-11")
    (estimate,) = world.estimates(sub.meter_id)
    assert estimate.source is ReadingSource.ESTIMATE
    assert "catégorie" not in estimate.note and "1.000 par jour" in estimate.note
    (invoice,) = world.invoices(sub.contract_id)
    assert invoice.is_estimated and invoice.kind is InvoiceKind.CONSUMPTION
