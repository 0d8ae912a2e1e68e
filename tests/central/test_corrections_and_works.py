"""An issued invoice is never edited: corrections are a credit note and a new invoice; works
invoices from the agencies are integrated as issued, with their agency numbers."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Agency, Invoice, MeterReading
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import InvoiceKind, InvoiceStatus
from central.billing.corrections import correct_invoice
from central.billing.works import WorksInvoiceIn, integrate_works_invoice
from kernel.context import UnitOfWork
from kernel.errors import BusinessError, NotFoundError, ValidationError
from tests.central.world import World


def test_correction_credits_the_invoice_and_bills_the_same_days_again(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    world.read(sub.meter_id, date(2026, 10, 31), 100)
    wrong = world.read(sub.meter_id, date(2026, 11, 30), 140)  # misread: really 115
    world.bill("2026-11")
    (first,) = world.invoices(sub.contract_id)
    with UnitOfWork(cdb, SYSTEM) as uow:
        reading = uow.session.get(MeterReading, wrong)
        assert reading is not None
        reading.index_value = 115
        uow.commit()
    done = correct_invoice(cdb, world.currency, first.number, issued_on=date(2026, 12, 10),
                           reason="index mal lu")
    old, credit, new = sorted(world.invoices(sub.contract_id), key=lambda i: i.created_at)
    assert old.status is InvoiceStatus.CREDITED and old.total_minor == first.total_minor
    assert credit.kind is InvoiceKind.CREDIT_NOTE and credit.credited_invoice_id == old.id
    assert credit.number == done.credit_note_number and credit.number.startswith("AV2026-")
    assert new.number == done.new_number and new.period_start == old.period_start
    # 15 m³: 10 × 245 + 5 × 445 (VAT 400.5 → 401) + fixed charge.
    assert new.total_minor == 2450 + 441 + 2225 + 401 + 1500 + 270 == done.new_total_minor
    assert world.balance(sub.account_id) == new.total_minor
    with pytest.raises(BusinessError, match="déjà été annulée"):
        correct_invoice(cdb, world.currency, first.number, issued_on=date(2026, 12, 10))


def test_only_the_latest_invoice_of_a_contract_is_recomputed(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    for day, index in ((date(2026, 10, 31), 0), (date(2026, 11, 30), 5), (date(2026, 12, 31), 9)):
        world.read(sub.meter_id, day, index)
    world.bill("2026-11")
    world.bill("2026-12")
    november = world.invoices(sub.contract_id)[0]
    with pytest.raises(BusinessError, match="pas la dernière"):
        correct_invoice(cdb, world.currency, november.number, issued_on=date(2027, 1, 5))
    with pytest.raises(NotFoundError):
        correct_invoice(cdb, world.currency, "FC2026-99999999", issued_on=date(2027, 1, 5))


def works_invoice(account_id: uuid.UUID, number: str = "FT101-2026-000042",
                  quantity: str = "2") -> WorksInvoiceIn:
    return WorksInvoiceIn.model_validate({
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)),
        "number": number,
        "account_id": str(account_id),
        "issued_on": "2026-11-20",
        "total_excl_vat_minor": 37000, "vat_minor": 6660, "total_minor": 43660,
        "lines": [
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, number + "/1")), "position": 1,
             "label": "Déplacement de compteur", "quantity": "1", "unit_price": "35000",
             "amount_excl_vat_minor": 35000, "vat_rate": "0.18", "vat_minor": 6300,
             "amount_minor": 41300},
            {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, number + "/2")), "position": 2,
             "label": "Tube PEHD 25 mm", "quantity": quantity, "unit": "m",
             "unit_price": "1000", "amount_excl_vat_minor": 2000, "vat_rate": "0.18",
             "vat_minor": 360, "amount_minor": 2360},
        ],
    })


def test_works_invoices_are_integrated_as_issued_once(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    with UnitOfWork(cdb, SYSTEM) as uow:
        agency = uow.session.get(Agency, world.agency_id)
        assert agency is not None
        done = integrate_works_invoice(uow.session, agency, works_invoice(sub.account_id))
        uow.commit()
    assert done.created and done.number == "FT101-2026-000042"
    assert world.balance(sub.account_id) == 43660
    with UnitOfWork(cdb, SYSTEM) as uow:
        agency = uow.session.get(Agency, world.agency_id)
        assert agency is not None
        again = integrate_works_invoice(uow.session, agency, works_invoice(sub.account_id))
        uow.commit()
        assert not again.created, "integrating the same invoice twice is a no-op"
        with pytest.raises(BusinessError, match="ne se modifie pas"):
            integrate_works_invoice(uow.session, agency,
                                    works_invoice(sub.account_id, quantity="3"))
        with pytest.raises(ValidationError, match="série"):
            integrate_works_invoice(uow.session, agency,
                                    works_invoice(sub.account_id, "FT102-2026-000001"))
        with pytest.raises(NotFoundError):
            integrate_works_invoice(uow.session, agency,
                                    works_invoice(uuid.uuid4(), "FT101-2026-000043"))
    with cdb.reading() as session:
        stored = session.scalars(select(Invoice).where(Invoice.kind == InvoiceKind.WORKS)).one()
        assert stored.status is InvoiceStatus.ISSUED and stored.agency_id == world.agency_id
        assert sorted(line.quantity for line in stored.lines) == [Decimal(1), Decimal(2)]


def test_works_invoice_amounts_must_add_up(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    data = works_invoice(sub.account_id).model_copy(update={"total_minor": 43661})
    with UnitOfWork(cdb, SYSTEM) as uow:
        agency = uow.session.get(Agency, world.agency_id)
        assert agency is not None
        with pytest.raises(ValidationError, match="somme des lignes"):
            integrate_works_invoice(uow.session, agency, data)


def test_a_works_credit_note_cancels_an_invoice_of_the_same_account(cdb: Database) -> None:
    world = World(cdb)
    sub = world.subscribe()
    other = world.subscribe()
    invoice = works_invoice(sub.account_id)

    def credit_note(account_id: uuid.UUID, credited: uuid.UUID | None) -> WorksInvoiceIn:
        number = "FT101-2026-000043"
        return WorksInvoiceIn.model_validate({
            **invoice.model_dump(mode="json"), "id": str(uuid.uuid5(uuid.NAMESPACE_URL, number)),
            "number": number, "kind": "credit_note", "account_id": str(account_id),
            "credited_invoice_id": str(credited) if credited else None,
            "total_excl_vat_minor": -37000, "vat_minor": -6660, "total_minor": -43660,
            "lines": [{**line.model_dump(mode="json"),
                       "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{number}/{line.position}")),
                       "amount_excl_vat_minor": -line.amount_excl_vat_minor,
                       "vat_minor": -line.vat_minor, "amount_minor": -line.amount_minor}
                      for line in invoice.lines],
        })

    with UnitOfWork(cdb, SYSTEM) as uow:
        agency = uow.session.get(Agency, world.agency_id)
        assert agency is not None
        integrate_works_invoice(uow.session, agency, invoice)
        with pytest.raises(ValidationError, match="ni une facture"):
            integrate_works_invoice(uow.session, agency, credit_note(sub.account_id, None))
        with pytest.raises(NotFoundError, match="inconnue"):
            integrate_works_invoice(uow.session, agency, credit_note(other.account_id, invoice.id))
        integrate_works_invoice(uow.session, agency, credit_note(sub.account_id, invoice.id))
        uow.commit()
    assert world.balance(sub.account_id) == 0
    with cdb.reading() as session:
        credited = session.get(Invoice, invoice.id)
        assert credited is not None and credited.status is InvoiceStatus.CREDITED
