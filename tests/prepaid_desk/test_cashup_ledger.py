"""The desk's own ledger of its counter sales in the cash-up (SQLite and PostgreSQL desk, a real
central process): a sale central answered is counted before the nightly sync, once after the
``vend_transaction`` row arrives; a sale without an answer is listed apart, not counted; a
refused one leaves nothing; the retry list holds only the sales still waiting."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import PendingVendSale, VendTransaction
from app.models.enums import VendChannel
from app.services.prepaid_cashup import SOLD, WAITING, day_summary
from app.services.prepaid_desk import CentralUnreachable, PendingStore, VendingDesk, VendRefused
from app.sync.endpoint import Endpoint
from central.embedded import free_port
from kernel.context import ServiceContext, UnitOfWork
from tests.prepaid_desk.desk_rows import add_prepaid_sales
from tests.vending.world import DRN_A, DRN_B

from .conftest import Central


@pytest.mark.parametrize("match", ["reference", "receipt"])
def test_desk_sales_counted_before_and_after_the_night(central: Central, ctx: ServiceContext,
                                                       match: str) -> None:
    meter = add_prepaid_sales(ctx)
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:
        for row in uow.session.scalars(select(VendTransaction)):  # not central's next receipts
            row.receipt_number = row.receipt_number.replace("RP000", "RP999")
        uow.commit()
    store = PendingStore(ctx.db)
    with VendingDesk(central.endpoint, store) as desk:
        sale = desk.sell(DRN_A, 1500, "0701020304", "agent")
        with pytest.raises(VendRefused):
            desk.sell("99999999999", 1000, "0701020304", "agent")
    with VendingDesk(Endpoint(f"http://127.0.0.1:{free_port()}", "x", "101"), store,
                     attempts=1) as down, pytest.raises(CentralUnreachable):
        down.sell(DRN_B, 2000, "0701020304", "agent")
    assert [(s.meter, s.amount) for s in store.all()] == [(DRN_B, 2000)], \
        "the retry list: only the sale still waiting (the sold one kept apart, the refused gone)"
    with ctx.reading() as session:
        kept = session.scalars(select(PendingVendSale).where(
            PendingVendSale.reference == sale.reference)).one()
        assert (kept.receipt, kept.sold_amount_minor) == (sale.receipt, sale.amount)
        assert kept.sold_at is not None
        assert session.scalar(select(PendingVendSale.reference).where(
            PendingVendSale.meter == "99999999999")) is None, "a refusal leaves nothing"
    sold_at = datetime.fromisoformat(sale.sold_at)
    day = ctx.installation.local(sold_at).date()

    before = day_summary(ctx, "agent", day)
    assert [(line.receipt, line.amount_minor) for line in before.lines if line.state == SOLD] \
        == [(sale.receipt, sale.amount)], "the desk's sale, before any sync"
    assert before.sales_count == 1 and before.expected_cash_minor == sale.amount
    assert [(line.meter, line.amount_minor) for line in before.lines
            if line.state == WAITING] == [(DRN_B, 2000)]
    assert (before.waiting_count, before.waiting_minor) == (1, 2000), "listed, not counted"
    assert day_summary(ctx, "autre", day).lines == (), "another agent's day stays empty"

    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:  # the night brings the row
        uow.session.add(VendTransaction(
            agency_id=ctx.installation.agency_id, receipt_number=sale.receipt,
            meter_id=meter.id, channel=VendChannel.COUNTER, amount_minor=sale.amount,
            energy=Decimal(sale.energy_kwh),
            operator_reference=sale.reference if match == "reference" else "",
            sold_at=sold_at, sold_by="agent"))
        uow.commit()
    after = day_summary(ctx, "agent", day)
    sold = [line for line in after.lines if line.state == SOLD]
    assert [(line.receipt, line.meter) for line in sold] == [(sale.receipt, meter.sts_drn)], \
        "counted once, from vend_transaction"
    assert after.sales_count == 1 and after.expected_cash_minor == sale.amount
    assert after.waiting_count == 1
