"""Rows of a desk's database as central sends them: a customer with a prepaid meter and its
sales over two channels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.models import (
    Account,
    Commune,
    Contract,
    Customer,
    Meter,
    Premise,
    ServiceConnection,
    Tariff,
    VendTransaction,
)
from app.models.enums import Energy, MeterPayment, SmsStatus, VendChannel
from kernel.context import ServiceContext, UnitOfWork

TOKEN, KEY1, KEY2 = "59507744713470687251", "11112222333344445555", "66667777888899990000"


def add_prepaid_sales(ctx: ServiceContext) -> Meter:
    """A customer with a prepaid meter and two sales from central (USSD, counter)."""
    agency = ctx.installation.agency_id
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:
        s = uow.session
        commune = s.scalars(select(Commune)).first()
        tariff = s.scalars(select(Tariff)).first()
        assert commune is not None and tariff is not None
        customer = Customer(agency_id=agency, last_name="Kouassi", first_name="Aya",
                            mobile="0705060708")
        premise = Premise(agency_id=agency, commune_id=commune.id)
        s.add_all([customer, premise])
        s.flush()
        account = Account(agency_id=agency, number="101260000099", customer_id=customer.id,
                          opened_on=date(2024, 1, 1))
        connection = ServiceConnection(agency_id=agency, reference="BR101-X", premise_id=premise.id,
                                       energy=Energy.ELECTRICITY)
        s.add_all([account, connection])
        s.flush()
        found = Meter(agency_id=agency, serial="SN-4710", sts_drn="47100000018",
                      energy=Energy.ELECTRICITY, payment=MeterPayment.PREPAID,
                      connection_id=connection.id)
        s.add_all([found, Contract(agency_id=agency, number="AB101-X", account_id=account.id,
                                   connection_id=connection.id, tariff_id=tariff.id,
                                   start_date=date(2024, 1, 1))])
        s.flush()
        for n, (channel, phone, token, keys, day) in enumerate((
                (VendChannel.USSD, "0701020304", TOKEN, "", 3),
                (VendChannel.COUNTER, "0705060708", "12345678901234567890", f"{KEY1} {KEY2}", 4),
        ), 1):
            s.add(VendTransaction(
                agency_id=agency, receipt_number=f"RP000-2026-00000{n}", meter_id=found.id,
                account_id=account.id, channel=channel, amount_minor=2353, energy_minor=1495,
                fixed_charge_minor=500, arrears_minor=0, vat_minor=358,
                energy=Decimal("25.0"), token=token, key_change_tokens=keys, phone=phone,
                sms_status=SmsStatus.SENT if n == 1 else SmsStatus.FAILED,
                sold_at=datetime(2026, 12, day, 10, tzinfo=UTC), sold_by="akouassi"))
        uow.commit()
    return found
