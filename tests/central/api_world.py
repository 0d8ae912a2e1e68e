"""Two agencies with data (demo agency 101, a small agency 102), their credentials and an
administrator credential, on a central database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.models import Agency, Customer, Invoice, Meter, User, VendTransaction
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import MeterPayment, Role, VendChannel
from central.agencies import new_agency_credential
from central.credentials import issue_admin_credential
from kernel.context import UnitOfWork
from kernel.passwords import hash_password
from tests.central.world import World
from tests.conftest import make_demo


@dataclass(frozen=True)
class TwoAgencies:
    credential_101: str
    credential_102: str
    admin: str
    customer_102: uuid.UUID
    invoice_102: str
    vend_102: uuid.UUID
    vend_101: uuid.UUID
    account_101: uuid.UUID
    account_102: uuid.UUID


def _vend(db: Database, agency_id: uuid.UUID, meter_id: uuid.UUID, receipt: str) -> uuid.UUID:
    with UnitOfWork(db, SYSTEM) as uow:
        sale = VendTransaction(agency_id=agency_id, receipt_number=receipt, meter_id=meter_id,
                               channel=VendChannel.COUNTER, amount_minor=5000,
                               energy=Decimal("62.9"), token="12345678901234567890",
                               sold_at=datetime(2026, 11, 20, 10, tzinfo=UTC))
        uow.session.add(sale)
        uow.session.flush()
        uow.commit()
        return sale.id


def build_two_agencies(db: Database) -> TwoAgencies:
    make_demo(db, customers=15)
    other = World(db, agency_code="102")
    sub = other.subscribe()
    other.read(sub.meter_id, date(2026, 10, 31), 5)
    other.read(sub.meter_id, date(2026, 11, 30), 9)
    other.bill("2026-11")
    (invoice,) = other.invoices(sub.contract_id)
    with UnitOfWork(db, SYSTEM) as uow:
        uow.session.add(User(username="agent102", full_name="Agent 102", role=Role.AGENT,
                             password_hash=hash_password("mot-de-passe-102"),
                             agency_id=other.agency_id))
        uow.commit()
    with db.reading() as session:
        agency_101 = session.scalars(select(Agency).where(Agency.code == "101")).one()
        customer_102 = session.scalars(
            select(Customer.id).where(Customer.agency_id == other.agency_id)).one()
        prepaid_101 = session.scalars(select(Meter.id).where(
            Meter.agency_id == agency_101.id, Meter.payment == MeterPayment.PREPAID)).first()
        account_101 = session.scalars(select(Invoice.account_id).where(
            Invoice.agency_id == agency_101.id)).first()
    assert prepaid_101 is not None and account_101 is not None
    with db.session() as session, session.begin():
        admin = issue_admin_credential(session, "tests")
    return TwoAgencies(
        credential_101=new_agency_credential(db, "101"),
        credential_102=new_agency_credential(db, "102"),
        admin=admin,
        customer_102=customer_102,
        invoice_102=invoice.number,
        vend_102=_vend(db, other.agency_id, sub.meter_id, "RP102-2026-000001"),
        vend_101=_vend(db, agency_101.id, prepaid_101, "RP101-2026-000001"),
        account_101=account_101,
        account_102=sub.account_id,
    )
