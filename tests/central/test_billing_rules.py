"""Billing rules on hand-computed cases, through the real engine on SQLite and PostgreSQL.

Water tariff in XOF: 0–10 m³ at 245, 10–30 at 445, above 30 at 690; fixed charge 1 500 a month;
VAT 18 % on every line, each line rounded half up to the franc.
"""

from __future__ import annotations

from datetime import date

import pytest

from app.models import Invoice, MeterReading
from app.models.database import Database
from app.models.enums import InvoiceKind, InvoiceLineKind, InvoiceStatus, ReadingKind
from tests.central.world import World

OCT_31 = date(2026, 10, 31)
NOV_30 = date(2026, 11, 30)


def amounts(invoice: Invoice) -> list[tuple[str, int, int]]:
    return [(line.kind.value, line.amount_excl_vat_minor, line.vat_minor) for line in invoice.lines]


def only_invoice(world: World, contract_id: object) -> Invoice:
    (invoice,) = world.invoices(contract_id)  # type: ignore[arg-type]
    return invoice


@pytest.mark.parametrize(
    ("units", "lines", "total"),
    [
        pytest.param(0, [("fixed_charge", 1500, 270)], 1770, id="nothing-used"),
        pytest.param(10, [("consumption", 2450, 441), ("fixed_charge", 1500, 270)], 4661,
                     id="top-of-first-band"),
        pytest.param(11, [("consumption", 2450, 441), ("consumption", 445, 80),
                          ("fixed_charge", 1500, 270)], 5186, id="first-unit-of-second-band"),
        pytest.param(30, [("consumption", 2450, 441), ("consumption", 8900, 1602),
                          ("fixed_charge", 1500, 270)], 15163, id="top-of-second-band"),
        pytest.param(31, [("consumption", 2450, 441), ("consumption", 8900, 1602),
                          ("consumption", 690, 124), ("fixed_charge", 1500, 270)], 15977,
                     id="first-unit-of-third-band"),
    ],
)
def test_each_band_boundary(cdb: Database, units: int, lines: list[tuple[str, int, int]],
                            total: int) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 1000)
    world.read(sub.meter_id, NOV_30, 1000 + units)
    report = world.bill("2026-11")
    invoice = only_invoice(world, sub.contract_id)
    assert report.invoices == 1 and report.estimated == 0
    assert amounts(invoice) == lines
    assert invoice.total_minor == total == sum(line.amount_minor for line in invoice.lines)
    assert invoice.vat_minor == sum(line.vat_minor for line in invoice.lines)
    assert (invoice.period, invoice.period_start, invoice.period_end) == ("2026-11", date(2026, 11, 1),
                                                                          NOV_30)
    assert not invoice.is_estimated and invoice.kind is InvoiceKind.CONSUMPTION
    assert world.balance(sub.account_id) == total


def test_register_rollover_at_the_meter_maximum(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe(digits=4)
    world.read(sub.meter_id, OCT_31, 9995)
    world.read(sub.meter_id, NOV_30, 12, ReadingKind.ROLLOVER)
    world.bill("2026-11")
    invoice = only_invoice(world, sub.contract_id)
    # 9995 → 9999 → 0000 → 0012: 17 m³ = 10 × 245 + 7 × 445 (VAT 560.7 → 561).
    assert amounts(invoice) == [("consumption", 2450, 441), ("consumption", 3115, 561),
                                ("fixed_charge", 1500, 270)]
    assert invoice.total_minor == 8337


def test_meter_replaced_during_the_period(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 500)
    new_meter = world.replace_meter(sub, date(2026, 11, 15), 508, initial_index=100)
    world.read(new_meter, NOV_30, 115)
    world.bill("2026-11")
    invoice = only_invoice(world, sub.contract_id)
    # Old meter 500 → 508 (8), new meter 100 → 115 (15): 23 m³.
    assert sum(line.quantity for line in invoice.lines
               if line.kind is InvoiceLineKind.CONSUMPTION) == 23
    assert invoice.total_minor == 2450 + 441 + 13 * 445 + 1041 + 1500 + 270 == 11487


def test_estimate_then_correction_by_credit_note_and_new_invoice(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 8, 2), 100)
    world.read(sub.meter_id, OCT_31, 190)  # 90 m³ in 90 days: 1 m³ a day
    world.bill("2026-11")
    (estimated,) = world.invoices(sub.contract_id)
    (estimate,) = world.estimates(sub.meter_id)
    assert estimated.is_estimated and estimated.total_minor == 15163  # 30 m³ estimated
    assert (estimate.reading_date, estimate.index_value, estimate.consumption) == (NOV_30, 220, 30)

    world.read(sub.meter_id, date(2026, 12, 31), 235)  # really 45 m³ over November–December
    report = world.bill("2026-12")
    assert (report.invoices, report.credit_notes) == (1, 1)
    old, credit, new = sorted(world.invoices(sub.contract_id), key=lambda i: i.created_at)
    assert old.status is InvoiceStatus.CREDITED and old.total_minor == 15163, "never edited"
    assert credit.kind is InvoiceKind.CREDIT_NOTE and credit.credited_invoice_id == old.id
    assert credit.total_minor == -15163
    assert [line.amount_minor for line in credit.lines] == [-line.amount_minor for line in old.lines]
    # Two months billed again on 45 real m³, monthly bands doubled: 20 × 245 + 25 × 445, and
    # two fixed charges (VAT 2 002.5 → 2 003, half up).
    assert not new.is_estimated and (new.period_start, new.period_end) == (date(2026, 11, 1),
                                                                            date(2026, 12, 31))
    assert amounts(new) == [("consumption", 4900, 882), ("consumption", 11125, 2003),
                            ("fixed_charge", 3000, 540)]
    assert new.total_minor == 22450
    assert world.balance(sub.account_id) == 15163 - 15163 + 22450


def test_two_estimates_in_a_row_are_both_credited(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 8, 2), 100)
    world.read(sub.meter_id, OCT_31, 190)
    world.bill("2026-11")
    world.bill("2026-12")
    estimates = world.estimates(sub.meter_id)
    assert sorted(e.index_value for e in estimates) == [220, 251], "the chain continues"
    world.read(sub.meter_id, date(2027, 1, 31), 260)  # 70 m³ in three months
    report = world.bill("2027-01")
    assert report.credit_notes == 2
    invoices = world.invoices(sub.contract_id)
    issued = [i for i in invoices if i.status is InvoiceStatus.ISSUED
              and i.kind is InvoiceKind.CONSUMPTION]
    (last,) = issued
    assert last.period_start == date(2026, 11, 1) and not last.is_estimated
    consumed = sum(line.quantity for line in last.lines if line.kind is InvoiceLineKind.CONSUMPTION)
    assert consumed == 70
    assert world.balance(sub.account_id) == last.total_minor


def test_fixed_charge_prorated_at_move_in(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe(start=date(2026, 11, 10), billed_until=None)
    world.set_move_in(sub.contract_id, world.read(sub.meter_id, date(2026, 11, 10), 50,
                                                  ReadingKind.MOVE_IN))
    world.read(sub.meter_id, NOV_30, 60)
    world.bill("2026-11")
    invoice = only_invoice(world, sub.contract_id)
    # 21 days of 30: fixed charge 1 500 × 21/30 = 1 050 (VAT 189), and the bands prorated the
    # same way (width × 21/30): 0–7 and 7–21 m³. 10 m³ = 7 × 245 = 1 715 (VAT 308.7 → 309)
    # + 3 × 445 = 1 335 (VAT 240.3 → 240).
    assert amounts(invoice) == [("consumption", 1715, 309), ("consumption", 1335, 240),
                                ("fixed_charge", 1050, 189)]
    assert invoice.lines[0].label == "Consommation de 0 à 7 m³"
    assert invoice.lines[-1].label == "Prime fixe (7/10 mois)"
    assert invoice.period_start == date(2026, 11, 10) and invoice.total_minor == 4838


def test_fixed_charge_prorated_at_move_out_and_nothing_after(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, OCT_31, 300)
    world.read(sub.meter_id, date(2026, 11, 12), 305, ReadingKind.MOVE_OUT)
    world.read(sub.meter_id, NOV_30, 340)  # the next occupant's consumption
    world.move_out(sub.contract_id, date(2026, 11, 12))
    world.bill("2026-11")
    invoice = only_invoice(world, sub.contract_id)
    # 12 days of 30: fixed charge 600 (VAT 108), bands × 12/30 = 0–4 and 4–12 m³.
    # 5 m³ = 4 × 245 = 980 (VAT 176.4 → 176) + 1 × 445 (VAT 80.1 → 80).
    assert amounts(invoice) == [("consumption", 980, 176), ("consumption", 445, 80),
                                ("fixed_charge", 600, 108)]
    assert invoice.period_end == date(2026, 11, 12) and invoice.total_minor == 2389
    assert world.bill("2026-12").invoices == 0


def test_eur_rounding_to_the_cent_line_by_line(central_sqlite_url: str) -> None:
    db = Database(central_sqlite_url)
    try:
        world = World(db, currency="EUR")
        sub = world.subscribe()
        world.read(sub.meter_id, OCT_31, 40)
        world.read(sub.meter_id, NOV_30, 57)
        world.bill("2026-11")
        invoice = only_invoice(world, sub.contract_id)
    finally:
        db.dispose()
    # 10 × 0.3735 = 3.735 → 3.74 (VAT 0.748 → 0.75); 7 × 0.6784 = 4.7488 → 4.75 (VAT 0.95);
    # fixed 2.29 (VAT 0.458 → 0.46). Total 12.94, the sum of the rounded lines.
    assert amounts(invoice) == [("consumption", 374, 75), ("consumption", 475, 95),
                                ("fixed_charge", 229, 46)]
    assert invoice.total_minor == 1294


def test_prepaid_contracts_are_not_billed_and_a_period_is_billed_once(cdb: Database) -> None:
    world = World(cdb)
    postpaid = world.subscribe()
    prepaid = world.subscribe(prepaid=True)
    world.read(postpaid.meter_id, OCT_31, 10)
    world.read(postpaid.meter_id, NOV_30, 20)
    first = world.bill("2026-11")
    again = world.bill("2026-11")
    assert (first.invoices, again.invoices) == (1, 0)
    assert world.invoices(prepaid.contract_id) == []
    assert len(world.invoices(postpaid.contract_id)) == 1
    assert world.count(MeterReading) == 2, "nothing estimated for the prepaid meter"


def test_a_period_not_over_is_refused(cdb: Database) -> None:
    from kernel.errors import BusinessError

    world = World(cdb)
    with pytest.raises(BusinessError, match="pas terminée"):
        world.bill("2026-11", issued_on=date(2026, 11, 30))
