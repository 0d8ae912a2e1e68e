"""A supervisor's reading correction at the desk is what central's ``invoice correct`` flow
recomputes on: the invoice billed on the wrong index is credited and billed again."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from app.models.database import Database
from app.models.enums import InvoiceKind, InvoiceStatus, Role
from app.services.readings import correct_reading
from central.billing.corrections import correct_invoice
from kernel.context import Installation, ServiceContext, SignedInUser
from tests.central.world import World


def test_a_corrected_reading_is_credited_and_billed_again_by_central(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 10, 31), 100)
    wrong = world.read(sub.meter_id, date(2026, 11, 30), 140)  # really 115
    world.bill("2026-11")
    (first,) = world.invoices(sub.contract_id)
    desk = ServiceContext(
        cdb,
        Installation(world.agency_id, "101", "Agence 101", world.currency, ZoneInfo("Africa/Abidjan")),
        SignedInUser(uuid.uuid4(), "superviseur", "Awa KONÉ", Role.SUPERVISOR),
    )
    done = correct_reading(desk, wrong, 115, "index mal lu sur le cadran")
    assert done.invoice_number == first.number
    correction = correct_invoice(cdb, world.currency, first.number, issued_on=date(2026, 12, 10),
                                 reason="relève corrigée")
    old, credit, new = sorted(world.invoices(sub.contract_id), key=lambda i: i.created_at)
    assert old.status is InvoiceStatus.CREDITED and credit.kind is InvoiceKind.CREDIT_NOTE
    # 15 m³ instead of 40: 10 × 245 + 5 × 445, VAT, fixed charge (as central's own test).
    assert new.total_minor == 2450 + 441 + 2225 + 401 + 1500 + 270 == correction.new_total_minor
    assert new.total_minor < first.total_minor
